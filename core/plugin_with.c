/* A plugin's `with:` under store:, artifacts: and backends: may name
 * secrets and environment variables (${{ secrets.PG_PASSWORD }},
 * ${{ env.HOME }}): nothing else exists before a run. They are resolved
 * where the plugin is opened (the engine, each executor), so the config
 * and everything made from it (executor requests, API output) carry only
 * the reference. */
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "plugin_with.h"
#include "proc_env.h"
#include "template.h"
#include "util.h"

static int oc_with_lookup(void *ud, const char *ns, const char *const *parts, size_t n,
                          struct oc_val *out, int *is_secret)
{
    (void)ud;
    if (n != 1)
        return -1;
    if (!strcmp(ns, "secrets")) {
        char *v = oc_secret_lookup(parts[0]);
        if (!v) {
            /* Name where it would come from: the operator's next step. */
            out->s = oc_xasprintf("secret %s is not set (give it as $ORCH_SECRET_%s or the "
                                  "file $ORCH_SECRETS_DIR/%s)", parts[0], parts[0], parts[0]);
            return OC_LOOKUP_REFUSED;
        }
        char *why = oc_secret_refusal(parts[0], v);
        if (why) {
            free(v);
            out->s = why;
            return OC_LOOKUP_REFUSED;
        }
        out->kind = OC_VAL_STR;
        out->s = v;
        *is_secret = 1;
        return 0;
    }
    if (!strcmp(ns, "env")) {
        char *why = oc_env_refusal(parts[0]);
        if (why) {
            out->s = why;
            return OC_LOOKUP_REFUSED;
        }
        /* The engine's own environment as it started: an executor has
         * confined its environ (proc_env.h). */
        const char *v = oc_env_get(parts[0]);
        out->kind = v ? OC_VAL_STR : OC_VAL_NULL;
        out->s = v ? oc_xstrdup(v) : NULL;
        return 0;
    }
    return -1;
}

static int oc_with_status(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return 0;
}

static int oc_with_walk(struct oc_node *n, const struct oc_scope *sc, const char *hint,
                        char **errmsg)
{
    if (n->kind == OC_NODE_SCALAR && n->str && oc_template_has(n->str)) {
        char *out = NULL, *msg = NULL;
        if (oc_template_render(n->str, sc, &out, NULL, &msg) != 0) {
            /* In an executor the options come as JSON, without positions:
             * no "config:0:0", the message names the secret instead. */
            if (n->pos.line)
                *errmsg = oc_xasprintf("%s:%u:%u: %s (%s can use secrets.NAME and env.NAME)",
                                       n->pos.file ? n->pos.file : "config", n->pos.line,
                                       n->pos.col, msg ? msg : "cannot resolve", hint);
            else
                *errmsg = oc_xasprintf("%s (%s can use secrets.NAME and env.NAME)",
                                       msg ? msg : "cannot resolve", hint);
            free(msg);
            return -1;
        }
        free(n->str);
        n->str = out;
        n->quoted = 1;
        return 0;
    }
    for (size_t i = 0; (n->kind == OC_NODE_SEQ || n->kind == OC_NODE_MAP) && i < n->len; i++)
        if (oc_with_walk(n->items[i], sc, hint, errmsg) != 0)
            return -1;
    return 0;
}

struct oc_node *oc_refs_resolve(const struct oc_node *n, const char *hint, char **errmsg)
{
    struct oc_node *copy = oc_node_clone(n);
    struct oc_scope sc = {.ud = NULL, .lookup = oc_with_lookup, .status_fn = oc_with_status};
    *errmsg = NULL;
    if (copy && oc_with_walk(copy, &sc, hint, errmsg) != 0) {
        oc_node_free(copy);
        return NULL;
    }
    return copy;
}

struct oc_node *oc_with_resolve(const struct oc_node *with, char **errmsg)
{
    return oc_refs_resolve(with, "a plugin's options", errmsg);
}
