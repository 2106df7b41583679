/* defaults: {run: {shell: ...}}, GitHub Actions' spelling, in the file's
 * defaults: and in a workflow's: what runs a step's script when the step
 * says nothing. The core does not know shells: the value fills the option
 * named `shell` of every step whose plugin has an ORCH_OPTF_SCRIPT option
 * and a `shell` option (sdk/include/orch/option.h), and that plugin checks
 * it like a value written in the step. The workflow's wins over the
 * file's, the step's own over both. */
#include <stdlib.h>
#include <string.h>

#include "../options.h"
#include "../template.h"
#include "internal.h"

const struct oc_node *oc_run_defaults_read(struct oc_cfg_reader *b, const struct oc_node *defaults,
                                           const char *what)
{
    static const char *const keys[] = {"shell", NULL};
    char *at = oc_xasprintf("%s.run", what);
    const struct oc_node *run = oc_get_map(b, defaults, "run", at);
    oc_cfg_check_keys(run, keys, at, b->diag);
    const struct oc_node *shell = oc_node_get(run, "shell");
    free(at);
    if (!shell)
        return NULL;
    if (shell->kind != OC_NODE_SCALAR || !shell->str || !*shell->str ||
        oc_template_has(shell->str)) {
        oc_diag_add(b->diag, &shell->pos,
                    "%s.run.shell must be a non-empty string without ${{ }} (sh, bash, "
                    "python3 or a command line with {0})",
                    what);
        return NULL;
    }
    return shell;
}

/* The step's script, when its plugin has a SCRIPT option and a STRING
 * option `shell` and the step gives the script: only then does a shell
 * run (a step of argv: gets none). */
static int oc_step_runs_script(const struct oc_step *st)
{
    const struct orch_plugin_desc *d = st->plugin->desc;
    const struct orch_option *shell = oc_option_find(d, "shell");
    if (!shell || shell->type != ORCH_OPT_STRING)
        return 0;
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        if (o && (o->flags & ORCH_OPTF_SCRIPT) && o->name && oc_node_key(st->with, o->name))
            return 1;
    }
    return 0;
}

void oc_run_defaults_apply(const struct oc_config *cfg, const struct oc_workflow *w,
                           struct oc_step *st)
{
    const struct oc_node *shell = w->run_shell ? w->run_shell : cfg->run_shell;
    if (!shell || !st->plugin || !st->with || st->with->kind != OC_NODE_MAP ||
        oc_node_key(st->with, "shell") || !oc_step_runs_script(st))
        return;
    /* The value keeps the position of the defaults' line: a bad one is
     * reported there. */
    oc_node_map_put(st->with, oc_node_scalar("shell", &shell->pos), oc_node_clone(shell));
}
