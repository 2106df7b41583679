/* retention: how long ended runs are kept, by how they ended, and how
 * long their artifacts' blobs are. Each key is a duration greater than
 * zero (30d, 12h); an absent key keeps forever, as a file without the
 * section does. cancelled: falls back to failed: (a cancelled run is one
 * that did not succeed) unless given. */
#include "internal.h"

static int64_t oc_retention_key(struct oc_cfg_reader *b, const struct oc_node *m,
                                const char *key)
{
    const struct oc_node *n = oc_node_get(m, key);
    if (!n)
        return 0;
    size_t before = b->diag->n;
    int64_t ms = oc_get_duration(b, m, key, 0, "retention");
    if (b->diag->n == before && ms <= 0) {
        oc_diag_add(b->diag, &n->pos, "retention: %s: a duration greater than 0 (e.g. 30d, "
                    "12h); leave the key out to keep forever", key);
        return 0;
    }
    return ms;
}

void oc_retention_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    struct oc_retention *r = &b->cfg->retention;
    const struct oc_node *m = oc_get_map(b, root, "retention", "retention");
    if (!m)
        return;
    static const char *const keys[] = {"succeeded", "failed", "cancelled", "artifacts", NULL};
    oc_cfg_check_keys(m, keys, "retention", b->diag);
    r->set = 1;
    r->pos = m->pos;
    r->succeeded_ms = oc_retention_key(b, m, "succeeded");
    r->failed_ms = oc_retention_key(b, m, "failed");
    r->cancelled_ms = oc_node_get(m, "cancelled") ? oc_retention_key(b, m, "cancelled")
                                                  : r->failed_ms;
    r->artifacts_ms = oc_retention_key(b, m, "artifacts");
}
