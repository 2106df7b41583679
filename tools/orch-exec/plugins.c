/* The plugins a request names: loaded (from a path, or a builtin by id)
 * once per executor and kept, and their options applied. ops.c and
 * artifacts.c both open plugins through here; this file calls neither. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "exec.h"
#include "host.h"
#include "node.h"
#include "options.h"
#include "plugin_with.h"
#include "registry.h"
#include "util.h"

/* Plugins are loaded once per executor and kept: executors are reused. */
static struct oc_registry *xe_reg;
struct xe_loaded {
    char *key;
    const struct orch_plugin_desc *desc;
};
static struct xe_loaded *xe_cache;
static size_t xe_n_cache;

const struct orch_plugin_desc *xe_plugin(const struct oc_req_plugin_spec *spec, uint32_t kind,
                                         struct orch_error *err)
{
    const char *id = spec->id;
    const char *path = spec->path;
    const char *key = path ? path : id;
    if (!key) {
        oc_error_set(err, ORCH_E_PROTOCOL, "request names no plugin");
        return NULL;
    }
    for (size_t i = 0; i < xe_n_cache; i++)
        if (!strcmp(xe_cache[i].key, key))
            return xe_cache[i].desc;
    const struct orch_plugin_desc *d = NULL;
    if (path) {
        if (!xe_reg)
            xe_reg = oc_registry_new(NULL, 0);
        const struct oc_plugin *p = oc_registry_load_file(xe_reg, path, err);
        d = p ? p->desc : NULL;
    } else {
        for (const struct oc_builtin *b = oc_builtins; b->id && !d; b++)
            if (!strcmp(b->id, id) && b->entry(oc_host(), &d, err) != ORCH_OK)
                return NULL;
        if (!d)
            oc_error_set(err, ORCH_E_NOT_FOUND, "no builtin plugin %s", id);
    }
    if (!d)
        return NULL;
    if (d->kind != kind) {
        oc_error_set(err, ORCH_E_PROTOCOL, "plugin %s is a %s, not a %s", key,
                     oc_kind_name(d->kind), oc_kind_name(kind));
        return NULL;
    }
    xe_cache = oc_xrealloc(xe_cache, (xe_n_cache + 1) * sizeof *xe_cache);
    xe_cache[xe_n_cache++] = (struct xe_loaded){oc_xstrdup(key), d};
    return d;
}

void *xe_options(const struct orch_plugin_desc *d, json_t *with, const char *what,
                 int resolve, struct orch_error *err)
{
    struct oc_node *n = with ? oc_node_from_json(with, NULL) : NULL;
    /* Backend and store options arrive with their secret references; a
     * step's arrive rendered, and must not be rendered twice (an output
     * that contains ${{ would be evaluated). */
    if (resolve && n) {
        char *msg = NULL;
        struct oc_node *r = oc_with_resolve(n, &msg);
        oc_node_free(n);
        if (!r) {
            oc_error_set(err, ORCH_E_CONFIG, "%s: %s", what, msg);
            free(msg);
            return NULL;
        }
        n = r;
    }
    struct oc_diag diag = {0};
    void *cfg = NULL;
    if (oc_options_apply(d, what, n, 0, &cfg, &diag) != 0) {
        struct oc_buf b = {0};
        for (size_t i = 0; i < diag.n; i++)
            oc_buf_addf(&b, "%s%s", i ? "; " : "", diag.msgs[i]);
        oc_error_set(err, ORCH_E_CONFIG, "%s", b.data ? b.data : "invalid options");
        oc_buf_free(&b);
        cfg = NULL;
    }
    oc_diag_free(&diag);
    oc_node_free(n);
    return cfg;
}
