#define _GNU_SOURCE
#include "store.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "exec/request.h"
#include "host.h"
#include "node.h"
#include "options.h"
#include "plugin_with.h"
#include "proc_env.h"
#include "util.h"

char *oc_state_dir(const char *dir)
{
    const char *d = dir && *dir ? dir : oc_env_get("ORCH_STATE_DIR");
    if (!d || !*d)
        d = ".orch";
    if (d[0] == '/')
        return oc_xstrdup(d);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd))
        return oc_xstrdup(d);
    return oc_xasprintf("%s/%s", cwd, d);
}

static struct oc_store *oc_store_open_as(struct oc_registry *reg,
                                         const struct oc_plugin_ref *ref,
                                         const char *state_dir, int schema_check,
                                         struct orch_error *err)
{
    const char *uses = ref && ref->uses ? ref->uses : "sqlite";
    const struct oc_plugin *p = oc_registry_get(reg, ORCH_KIND_STORE, uses, err);
    if (!p)
        return NULL;
    if (!(p->desc->caps & ORCH_STORE_CAP_RUNS)) {
        oc_error_set(err, ORCH_E_CONFIG,
                     "store '%s' lacks capability runs: it can only serve artifacts:",
                     uses);
        return NULL;
    }
    /* A store that keeps a file finds the state dir through
     * ctx_get("state_dir") (store-sqlite puts orch.db there by default). */
    struct oc_node *with = ref && ref->with ? oc_node_clone(ref->with)
                                            : oc_node_new(OC_NODE_MAP, NULL);
    struct oc_diag diag = {0};
    void *cfg = NULL;
    char *msg = NULL;
    struct oc_node *resolved = oc_with_resolve(with, &msg);
    if (!resolved) {
        oc_error_set(err, ORCH_E_CONFIG, "store %s: %s", uses, msg);
        free(msg);
        oc_node_free(with);
        return NULL;
    }
    int bad = oc_options_apply(p->desc, "store", resolved, 0, &cfg, &diag) != 0;
    oc_node_free(resolved);
    if (bad) {
        struct oc_buf b = {0};
        for (size_t i = 0; i < diag.n; i++)
            oc_buf_addf(&b, "%s%s", i ? "; " : "", diag.msgs[i]);
        oc_error_set(err, ORCH_E_CONFIG, "%s", b.data ? b.data : "invalid store options");
        oc_buf_free(&b);
        oc_diag_free(&diag);
        oc_node_free(with);
        return NULL;
    }
    json_t *spec = oc_req_plugin(NULL, p, oc_node_to_json(with));
    oc_node_free(with);
    struct oc_store *s = oc_xcalloc(1, sizeof *s);
    s->spec_json = json_dumps(spec, JSON_COMPACT);
    json_decref(spec);
    s->plugin = p;
    s->vt = p->desc->vtable;
    s->cfg = cfg;
    oc_ctx_init(&s->ctx, p->id);
    s->ctx.plugin = p->id;
    s->state_dir = oc_state_dir(state_dir);
    s->ctx.state_dir = s->state_dir;
    if (s->vt->open(&s->ctx, cfg, &s->h, err) != ORCH_OK) {
        oc_error_wrap(err, "store %s", uses);
        oc_options_free(p->desc, cfg);
        free(s->spec_json);
        free(s->state_dir);
        free(s);
        return NULL;
    }
    if (!schema_check)
        return s;
    int32_t cur = 0, sup = 0;
    if (s->vt->schema_version(s->h, &cur, &sup, err) != ORCH_OK)
        goto fail;
    if (cur > sup) {
        oc_error_set(err, ORCH_E_CONFIG,
                     "store %s: schema version %d is newer than this orch supports (%d): upgrade orch",
                     uses, cur, sup);
        goto fail;
    }
    int mode = ref ? ref->migrate : OC_MIGRATE_DEFAULT;
    if (mode == OC_MIGRATE_DEFAULT)
        mode = (p->desc->caps & ORCH_STORE_CAP_EMBEDDED) ? OC_MIGRATE_ON_START
                                                         : OC_MIGRATE_MANUAL;
    if (cur < sup && mode == OC_MIGRATE_MANUAL) {
        oc_error_set(err, ORCH_E_CONFIG,
                     "store %s: schema version %d is older than this orch needs (%d): run "
                     "'orch -c FILE migrate' (or set migrate: on_start under store:)",
                     uses, cur, sup);
        goto fail;
    }
    if (cur < sup) {
        char *plan = NULL;
        if (s->vt->migrate(s->h, 0, &plan, err) != ORCH_OK)
            goto fail;
        oc_host()->free(plan);
    }
    return s;
fail:
    oc_store_close(s);
    return NULL;
}

struct oc_store *oc_store_open(struct oc_registry *reg, const struct oc_plugin_ref *ref,
                               const char *state_dir, struct orch_error *err)
{
    return oc_store_open_as(reg, ref, state_dir, 1, err);
}

struct oc_store *oc_store_open_unchecked(struct oc_registry *reg,
                                         const struct oc_plugin_ref *ref,
                                         const char *state_dir, struct orch_error *err)
{
    return oc_store_open_as(reg, ref, state_dir, 0, err);
}

void oc_store_close(struct oc_store *s)
{
    if (!s)
        return;
    if (s->h)
        s->vt->close(s->h);
    oc_options_free(s->plugin->desc, s->cfg);
    free(s->spec_json);
    free(s->state_dir);
    free(s);
}

static int32_t oc_stats_walk(void *ud, const struct orch_run_rec *r)
{
    struct orch_run_stats *s = ud;
    if (r->state < 8)
        s->by_state[r->state]++;
    if (r->state == ORCH_RUN_QUEUED && (!s->oldest_queued_ns || r->created_ns < s->oldest_queued_ns))
        s->oldest_queued_ns = r->created_ns;
    return 0;
}

orch_status oc_store_run_stats(struct oc_store *st, struct orch_run_stats *out,
                               struct orch_error *err)
{
    memset(out, 0, sizeof *out);
    out->struct_size = sizeof *out;
    if ((st->plugin->desc->caps & ORCH_STORE_CAP_STATS) &&
        ORCH_HAS(struct orch_store_vtable, st->vt, run_stats))
        return st->vt->run_stats(st->h, out, err);
    struct orch_run_filter all = {.struct_size = sizeof all};
    return st->vt->run_list(st->h, &all, oc_stats_walk, out, err);
}

orch_status oc_txn_begin(struct oc_store *st, struct orch_error *err)
{
    return st->vt->txn_begin ? st->vt->txn_begin(st->h, err) : ORCH_OK;
}

orch_status oc_txn_end(struct oc_store *st, orch_status rc, struct orch_error *err)
{
    if (!st->vt->txn_begin)
        return rc;
    if (rc == ORCH_OK)
        return st->vt->txn_commit(st->h, err);
    struct orch_error e2;
    oc_error_init(&e2);
    st->vt->txn_rollback(st->h, &e2);
    oc_error_clear(&e2);
    return rc;
}
