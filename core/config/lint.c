/* Checks on what a step's options do with untrusted text, by the flags of
 * its plugin's options (never by the plugin's name):
 *  - SCRIPT (a shell script, step-exec's run): a warning for every
 *    inputs.X or steps.ID.outputs.X pasted into it. Inputs come from
 *    whoever may start a run (an API token, a webhook); a step's outputs
 *    from what it read. Pasted into a script they are code: a value
 *    "$(id)" runs. Passed through an environment variable they stay data
 *    (actionlint's expression-injection rule).
 *  - PATH_KIND (step-file's path, from, to): a literal "host:" path needs
 *    defaults.host_paths, and a fully literal one must lie inside it; an
 *    "artifact:ns/NS/..." path whose NS is literal needs NS declared under
 *    artifacts.namespaces, and a fully literal one must parse (a templated
 *    one is checked by the executor when the step runs). */
#include <stdlib.h>
#include <string.h>

#include "../artifact_ns.h"
#include "../options.h"
#include "../path_kind.h"
#include "../template.h"
#include "internal.h"

struct oc_lint {
    struct oc_diag *diag;
    const struct oc_step *st;
    const struct orch_option *opt;
    const struct oc_node *node;
    struct oc_buf seen;          /* "ns.part.part\n" already reported for node */
};

static int oc_lint_ref(void *ud, const char *ns, const char *const *parts, size_t n)
{
    struct oc_lint *l = ud;
    int untrusted = (!strcmp(ns, "inputs") && n == 1) ||
                    (!strcmp(ns, "steps") && n == 3 && !strcmp(parts[1], "outputs"));
    if (!untrusted)
        return 0;
    struct oc_buf ref = {0};
    oc_buf_adds(&ref, ns);
    for (size_t i = 0; i < n; i++)
        oc_buf_addf(&ref, ".%s", parts[i]);
    oc_buf_adds(&ref, "\n");
    if (l->seen.data && strstr(l->seen.data, ref.data)) {
        oc_buf_free(&ref);
        return 0;
    }
    oc_buf_adds(&l->seen, ref.data);
    ref.data[ref.len - 1] = 0;
    char var[64];
    size_t k = 0;
    for (const char *p = parts[n - 1]; *p && k + 1 < sizeof var; p++)
        var[k++] = (*p >= 'a' && *p <= 'z') ? (char)(*p - 32)
                   : ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')) ? *p
                                                                            : '_';
    var[k] = 0;
    oc_diag_warn(l->diag, &l->node->pos,
                 "step %s: %s is pasted into the shell script of '%s', where a value such as "
                 "$(id) runs as a command; pass it through env: (with: env: {%s: \"${{ %s }}\"}) "
                 "and write \"$%s\" in the script",
                 l->st->id ? l->st->id : "?", ref.data, l->opt->name, var, ref.data, var);
    oc_buf_free(&ref);
    return 0;
}

static void oc_lint_host(const struct oc_config *cfg, const struct oc_step *st,
                         const struct orch_option *o, const struct oc_node *n,
                         struct oc_diag *diag)
{
    char kind[32];
    size_t len = oc_path_kind(n->str, kind, sizeof kind);
    if (!len || strcmp(kind, "host"))
        return;
    const char *id = st->id ? st->id : "?";
    if (!cfg->n_host_paths) {
        oc_diag_add(diag, &n->pos,
                    "step %s: option '%s' names a host: path, but host: paths are off: list "
                    "the directories steps may use under defaults.host_paths",
                    id, o->name);
        return;
    }
    const char *path = n->str + len;
    if (oc_template_has(n->str) || path[0] != '/')
        return; /* checked where it is opened, in the executor */
    for (size_t i = 0; i < cfg->n_host_paths; i++) {
        const char *d = cfg->host_paths[i];
        size_t dl = strlen(d);
        if (!strncmp(path, d, dl) && (path[dl] == '/' || (dl == 1 && path[1])))
            return;
    }
    oc_diag_add(diag, &n->pos,
                "step %s: option '%s': %s is outside every directory of defaults.host_paths",
                id, o->name, path);
}

static void oc_lint_artifact_ns(const struct oc_config *cfg, const struct oc_step *st,
                                const struct orch_option *o, const struct oc_node *n,
                                struct oc_diag *diag)
{
    char kind[32];
    size_t len = oc_path_kind(n->str, kind, sizeof kind);
    const char *rest = n->str + len;
    if (!len || strcmp(kind, "artifact") || strncmp(rest, "ns/", 3))
        return;
    const char *id = st->id ? st->id : "?";
    rest += 3;
    size_t nl = strcspn(rest, "/");
    char *ns = oc_xstrndup(rest, nl);
    if (!oc_template_has(ns)) {
        if (!oc_artns_ns_ok(ns))
            oc_diag_add(diag, &n->pos,
                        "step %s: option '%s': '%.64s' is not a namespace name (1-%d of a-z, "
                        "0-9, '_', '-')", id, o->name, ns, OC_ARTNS_NS_MAX);
        else if (!oc_config_artifact_ns(cfg, ns))
            oc_diag_add(diag, &n->pos,
                        "step %s: option '%s': artifact namespace '%s' is not declared; "
                        "declare it under artifacts: namespaces: {%s: {}}",
                        id, o->name, ns, ns);
        else if (!oc_template_has(rest)) {
            struct oc_artns_ref ref;
            char *why = NULL;
            if (oc_artns_ref_parse(rest, &ref, &why) != 0)
                oc_diag_add(diag, &n->pos, "step %s: option '%s': %s", id, o->name, why);
            oc_artns_ref_free(&ref);
            free(why);
        }
    }
    free(ns);
}

void oc_lint_step(const struct oc_config *cfg, const struct oc_step *st, struct oc_diag *diag)
{
    const struct orch_plugin_desc *d = st->plugin ? st->plugin->desc : NULL;
    if (!d || !st->with || st->with->kind != OC_NODE_MAP)
        return;
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        const struct oc_node *n = o && o->name ? oc_node_get(st->with, o->name) : NULL;
        if (!n || n->kind != OC_NODE_SCALAR || !n->str)
            continue;
        if (o->flags & ORCH_OPTF_PATH_KIND) {
            oc_lint_host(cfg, st, o, n, diag);
            oc_lint_artifact_ns(cfg, st, o, n, diag);
        }
        if ((o->flags & ORCH_OPTF_SCRIPT) && oc_template_has(n->str)) {
            struct oc_lint l = {diag, st, o, n, {0}};
            char *err = NULL;
            oc_template_refs(n->str, 0, oc_lint_ref, &l, &err); /* syntax: reported elsewhere */
            free(err);
            oc_buf_free(&l.seen);
        }
    }
}
