/* env: mappings (workflow and step level) and the top-level
 * env_passthrough list: variable names checked where they are written. */
#include <stdlib.h>
#include <string.h>

#include "../proc_env.h"
#include "internal.h"

const struct oc_node *oc_env_map_read(struct oc_cfg_reader *b, const struct oc_node *map,
                                      const char *what)
{
    char *w = oc_xasprintf("%s: env", what);
    const struct oc_node *env = oc_get_map(b, map, "env", w);
    for (size_t i = 0; env && i < env->len; i++) {
        const struct oc_node *k = env->keys[i], *v = env->items[i];
        if (!oc_env_name_ok(k->str))
            oc_diag_add(b->diag, &k->pos, "%s: '%s' is not a variable name (letters, digits "
                                          "and '_', not starting with a digit)",
                        w, k->str);
        if (v->kind != OC_NODE_SCALAR && v->kind != OC_NODE_NULL)
            oc_diag_add(b->diag, &v->pos, "%s: %s must be a string, not a %s", w, k->str,
                        oc_node_kind_name(v->kind));
    }
    free(w);
    return env;
}

void oc_env_passthrough_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    const struct oc_node *n = oc_node_get(root, "env_passthrough");
    size_t count = 0;
    char **names = oc_get_names(b, n, &count, "env_passthrough");
    for (size_t i = 0; i < count; i++) {
        const struct oc_pos *pos = n->kind == OC_NODE_SEQ ? &n->items[i]->pos : &n->pos;
        if (!oc_env_name_ok(names[i]))
            oc_diag_add(b->diag, pos, "env_passthrough: '%s' is not a variable name", names[i]);
        else if (oc_env_is_secret_source(names[i]))
            oc_diag_add(b->diag, pos, "env_passthrough: %s is a secret source and is never "
                                      "passed through; give a step the secret with "
                                      "env: {NAME: \"${{ secrets.NAME }}\"}",
                        names[i]);
    }
    b->cfg->env_passthrough = names;
    b->cfg->n_env_passthrough = count;
}
