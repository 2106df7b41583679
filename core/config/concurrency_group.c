/* A workflow's concurrency_group: (docs/config.md, "Concurrency groups"):
 * its keys and shapes. What the key may reference is validate.c's; the
 * admission is core/concurrency.c's. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Slots are counted by listing the group's flags at each admission: a
 * bound keeps that listing small. */
#define OC_CGROUP_LIMIT_MAX 1000

void oc_cgroup_read(struct oc_cfg_reader *b, struct oc_workflow *w, const struct oc_node *wf,
                    const char *what)
{
    static const char *const keys[] = {"key", "limit", "on_conflict", NULL};
    memset(&w->cgroup, 0, sizeof w->cgroup);
    w->cgroup.limit = 1;
    const struct oc_node *n = oc_node_get(wf, "concurrency_group");
    if (!n || n->kind == OC_NODE_NULL)
        return;
    char *cwhat = oc_xasprintf("%s: concurrency_group", what);
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a mapping (key, limit, on_conflict)", cwhat);
        free(cwhat);
        return;
    }
    oc_cfg_check_keys(n, keys, cwhat, b->diag);
    const struct oc_node *k = oc_node_get(n, "key");
    if (!k) {
        oc_diag_add(b->diag, &n->pos, "%s: 'key' is required (e.g. \"deploy-${{ inputs.env }}\")",
                    cwhat);
    } else if (k->kind != OC_NODE_SCALAR || !*k->str) {
        oc_diag_add(b->diag, &k->pos, "%s: key must be a non-empty string (literals and "
                                      "${{ inputs.NAME }})", cwhat);
    } else {
        w->cgroup.key = oc_xstrdup(k->str);
        w->cgroup.pos = k->pos;
    }
    char *lwhat = oc_xasprintf("%s.limit", cwhat);
    w->cgroup.limit = (uint32_t)oc_get_uint(b, n, "limit", 1, 1, OC_CGROUP_LIMIT_MAX, lwhat);
    free(lwhat);
    const struct oc_node *oc = oc_node_get(n, "on_conflict");
    const char *ocs = oc_scalar(b, oc, cwhat);
    if (!ocs || !strcmp(ocs, "queue"))
        w->cgroup.on_conflict = OC_CG_QUEUE;
    else if (!strcmp(ocs, "cancel_running"))
        w->cgroup.on_conflict = OC_CG_CANCEL_RUNNING;
    else if (!strcmp(ocs, "skip"))
        w->cgroup.on_conflict = OC_CG_SKIP;
    else
        oc_diag_add(b->diag, &oc->pos, "%s: on_conflict must be queue, cancel_running or skip "
                                       "(not '%s')", cwhat, ocs);
    free(cwhat);
}
