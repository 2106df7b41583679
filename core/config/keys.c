/* Unknown-key reports with "did you mean" for every mapping in the file. */
#include "internal.h"

#include <string.h>

void oc_cfg_check_keys(const struct oc_node *map, const char *const *allowed,
                       const char *what, struct oc_diag *diag)
{
    if (!map || map->kind != OC_NODE_MAP)
        return;
    size_t n = 0;
    while (allowed[n])
        n++;
    for (size_t i = 0; i < map->len; i++) {
        const char *k = map->keys[i]->str;
        int ok = 0;
        for (size_t j = 0; j < n && !ok; j++)
            ok = !strcmp(k, allowed[j]);
        if (ok)
            continue;
        const char *near = oc_closest(k, allowed, n);
        struct oc_buf list = {0};
        for (size_t j = 0; j < n; j++)
            oc_buf_addf(&list, "%s%s", j ? ", " : "", allowed[j]);
        if (near)
            oc_diag_add(diag, &map->keys[i]->pos, "%s: unknown key '%s'; did you mean '%s'?",
                        what, k, near);
        else
            oc_diag_add(diag, &map->keys[i]->pos, "%s: unknown key '%s' (expected one of: %s)",
                        what, k, list.data);
        oc_buf_free(&list);
    }
}
