/* After a step's `with:` is rendered: every option its plugin flags
 * ORCH_OPTF_PATH_KIND keeps the kind its literal text wrote, and what a
 * template put in it is normalised and confined (core/path_kind.h). Only
 * templated values are checked here; literal ones are the author's own
 * words, and the plugin checks them as it always does. */
#include <stdlib.h>
#include <string.h>

#include "../options.h"
#include "../path_kind.h"
#include "internal.h"

int oc_scope_confine_paths(const struct oc_step *def, const struct oc_node *with,
                           json_t *rendered, char **errmsg)
{
    const struct orch_plugin_desc *d = def->plugin ? def->plugin->desc : NULL;
    if (!d || !with || with->kind != OC_NODE_MAP)
        return 0;
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o = oc_option_at(d, i);
        if (!o || !(o->flags & ORCH_OPTF_PATH_KIND) || !o->name)
            continue;
        const struct oc_node *lit = oc_node_get(with, o->name);
        json_t *v = json_object_get(rendered, o->name);
        if (!lit || lit->kind != OC_NODE_SCALAR || !lit->str || !oc_template_has(lit->str) ||
            !json_is_string(v))
            continue;
        char *why = NULL;
        char *clean = oc_path_kind_confine(lit->str, json_string_value(v), &why);
        if (!clean) {
            *errmsg = oc_xasprintf("%s:%u:%u: step %s: option '%s' (\"%s\") refused: %s",
                                   lit->pos.file ? lit->pos.file : "config", lit->pos.line,
                                   lit->pos.col, def->id, o->name, lit->str, why);
            free(why);
            return -1;
        }
        json_object_set_new(rendered, o->name, json_string(clean));
        free(clean);
    }
    return 0;
}
