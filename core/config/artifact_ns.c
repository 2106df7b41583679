/* artifacts: namespaces: the shared namespaces a file's steps may write
 * as artifact:ns/NS/NAME (core/artifact_ns.h). They sit under artifacts:
 * because their bytes live in that store: a namespace is named by the
 * file and shared by every run whose file names it. Each is
 * {keep: N, on_conflict: warn | fail}, both optional (keep 0: every
 * version is kept). */
#include <stdlib.h>
#include <string.h>

#include "../artifact_ns.h"
#include "internal.h"

#define OC_ARTNS_KEEP_MAX 100000

static void oc_artns_decl_read(struct oc_cfg_reader *b, struct oc_artifact_ns_decl *d,
                               const struct oc_node *key, const struct oc_node *n)
{
    d->name = oc_xstrdup(key->str);
    d->pos = key->pos;
    char *what = oc_xasprintf("artifacts.namespaces.%s", key->str);
    if (!oc_artns_ns_ok(key->str))
        oc_diag_add(b->diag, &key->pos,
                    "artifacts.namespaces: '%s' is not a namespace name (1-%d of a-z, 0-9, "
                    "'_', '-', starting with a letter or digit)",
                    key->str, OC_ARTNS_NS_MAX);
    if (n->kind == OC_NODE_NULL) {
        free(what);
        return;
    }
    if (n->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &n->pos, "%s must be a mapping ({keep: N, on_conflict: warn|fail}) "
                    "or empty", what);
        free(what);
        return;
    }
    static const char *const keys[] = {"keep", "on_conflict", NULL};
    oc_cfg_check_keys(n, keys, what, b->diag);
    d->keep = (uint64_t)oc_get_uint(b, n, "keep", 0, 1, OC_ARTNS_KEEP_MAX, what);
    const struct oc_node *c = oc_node_get(n, "on_conflict");
    if (c) {
        const char *s = oc_scalar(b, c, what);
        if (s && !strcmp(s, "fail"))
            d->fail_on_conflict = 1;
        else if (s && strcmp(s, "warn"))
            oc_diag_add(b->diag, &c->pos, "%s: on_conflict must be warn or fail, not '%s'",
                        what, s);
    }
    free(what);
}

void oc_artifact_ns_read(struct oc_cfg_reader *b, const struct oc_node *artifacts)
{
    const struct oc_node *m = oc_get_map(b, artifacts, "namespaces", "artifacts.namespaces");
    if (!m)
        return;
    struct oc_config *cfg = b->cfg;
    cfg->artifact_ns = oc_xcalloc(m->len ? m->len : 1, sizeof *cfg->artifact_ns);
    for (size_t i = 0; i < m->len; i++)
        oc_artns_decl_read(b, &cfg->artifact_ns[cfg->n_artifact_ns++], m->keys[i], m->items[i]);
}

const struct oc_artifact_ns_decl *oc_config_artifact_ns(const struct oc_config *cfg,
                                                        const char *ns)
{
    for (size_t i = 0; cfg && ns && i < cfg->n_artifact_ns; i++)
        if (!strcmp(cfg->artifact_ns[i].name, ns))
            return &cfg->artifact_ns[i];
    return NULL;
}

void oc_artifact_ns_free(struct oc_config *cfg)
{
    for (size_t i = 0; i < cfg->n_artifact_ns; i++)
        free(cfg->artifact_ns[i].name);
    free(cfg->artifact_ns);
    cfg->artifact_ns = NULL;
    cfg->n_artifact_ns = 0;
}
