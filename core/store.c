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

/* The store plugin `uses` names, which must keep runs, or blobs for an
 * artifacts: store. */
static const struct oc_plugin *oc_store_plugin(struct oc_registry *reg, const char *uses,
                                               uint64_t need, struct orch_error *err)
{
    const struct oc_plugin *p = oc_registry_get(reg, ORCH_KIND_STORE, uses, err);
    if (!p)
        return NULL;
    if (need == ORCH_STORE_CAP_BLOBS && !(p->desc->caps & need)) {
        oc_error_set(err, ORCH_E_CONFIG, "store '%s' cannot hold blobs (artifacts:)", uses);
        return NULL;
    }
    if (need == ORCH_STORE_CAP_RUNS && !(p->desc->caps & ORCH_STORE_CAP_RUNS)) {
        oc_error_set(err, ORCH_E_CONFIG,
                     "store '%s' lacks capability runs: it can only serve artifacts:",
                     uses);
        return NULL;
    }
    return p;
}

/* The store's options from its with: (secrets resolved), as the plugin's
 * config struct; NULL with err set. */
static void *oc_store_options(const struct oc_plugin *p, const char *uses,
                              const struct oc_node *with, struct orch_error *err)
{
    struct oc_diag diag = {0};
    void *cfg = NULL;
    char *msg = NULL;
    struct oc_node *resolved = oc_with_resolve(with, &msg);
    if (!resolved) {
        oc_error_set(err, ORCH_E_CONFIG, "store %s: %s", uses, msg);
        free(msg);
        return NULL;
    }
    int bad = oc_options_apply(p->desc, "store", resolved, 0, &cfg, &diag) != 0;
    oc_node_free(resolved);
    if (!bad)
        return cfg;
    struct oc_buf b = {0};
    for (size_t i = 0; i < diag.n; i++)
        oc_buf_addf(&b, "%s%s", i ? "; " : "", diag.msgs[i]);
    oc_error_set(err, ORCH_E_CONFIG, "%s", b.data ? b.data : "invalid store options");
    oc_buf_free(&b);
    oc_diag_free(&diag);
    return NULL;
}

/* The open store: its spec for executors (with: unresolved, so no secret
 * value travels), and the ctx its calls get, with the state dir. */
static struct oc_store *oc_store_new(const struct oc_plugin *p, const struct oc_node *with,
                                     void *cfg, const char *state_dir)
{
    json_t *spec = oc_req_plugin(NULL, p, oc_node_to_json(with));
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
    return s;
}

/* The schema this orch needs: refused when newer, migrated when older and
 * the store migrates on start (embedded stores by default), refused when
 * older and migrations are manual. */
static orch_status oc_store_check_schema(struct oc_store *s, const struct oc_plugin_ref *ref,
                                         const char *uses, struct orch_error *err)
{
    int32_t cur = 0, sup = 0;
    if (s->vt->schema_version(s->h, &cur, &sup, err) != ORCH_OK)
        return err->code;
    if (cur > sup)
        return oc_error_set(err, ORCH_E_CONFIG,
                            "store %s: schema version %d is newer than this orch supports (%d): upgrade orch",
                            uses, cur, sup);
    int mode = ref ? ref->migrate : OC_MIGRATE_DEFAULT;
    if (mode == OC_MIGRATE_DEFAULT)
        mode = (s->plugin->desc->caps & ORCH_STORE_CAP_EMBEDDED) ? OC_MIGRATE_ON_START
                                                                 : OC_MIGRATE_MANUAL;
    if (cur < sup && mode == OC_MIGRATE_MANUAL)
        return oc_error_set(err, ORCH_E_CONFIG,
                            "store %s: schema version %d is older than this orch needs (%d): run "
                            "'orch -c FILE migrate' (or set migrate: on_start under store:)",
                            uses, cur, sup);
    if (cur < sup) {
        char *plan = NULL;
        if (s->vt->migrate(s->h, 0, &plan, err) != ORCH_OK)
            return err->code;
        oc_host()->free(plan);
    }
    return ORCH_OK;
}

static struct oc_store *oc_store_open_as(struct oc_registry *reg,
                                         const struct oc_plugin_ref *ref,
                                         const char *state_dir, int schema_check,
                                         uint64_t need, struct orch_error *err)
{
    const char *uses = ref && ref->uses ? ref->uses : "sqlite";
    const struct oc_plugin *p = oc_store_plugin(reg, uses, need, err);
    if (!p)
        return NULL;
    /* A store that keeps a file finds the state dir through
     * ctx_get("state_dir") (store-sqlite puts orch.db there by default). */
    struct oc_node *with = ref && ref->with ? oc_node_clone(ref->with)
                                            : oc_node_new(OC_NODE_MAP, NULL);
    void *cfg = oc_store_options(p, uses, with, err);
    if (!cfg) {
        oc_node_free(with);
        return NULL;
    }
    struct oc_store *s = oc_store_new(p, with, cfg, state_dir);
    oc_node_free(with);
    if (s->vt->open(&s->ctx, cfg, &s->h, err) != ORCH_OK) {
        oc_error_wrap(err, "store %s", uses);
        oc_options_free(p->desc, cfg);
        free(s->spec_json);
        free(s->state_dir);
        free(s);
        return NULL;
    }
    if (schema_check && oc_store_check_schema(s, ref, uses, err) != ORCH_OK) {
        oc_store_close(s);
        return NULL;
    }
    return s;
}

struct oc_store *oc_store_open(struct oc_registry *reg, const struct oc_plugin_ref *ref,
                               const char *state_dir, struct orch_error *err)
{
    return oc_store_open_as(reg, ref, state_dir, 1, ORCH_STORE_CAP_RUNS, err);
}

struct oc_store *oc_store_open_unchecked(struct oc_registry *reg,
                                         const struct oc_plugin_ref *ref,
                                         const char *state_dir, struct orch_error *err)
{
    return oc_store_open_as(reg, ref, state_dir, 0, ORCH_STORE_CAP_RUNS, err);
}

struct oc_store *oc_blob_store_open(struct oc_registry *reg, const struct oc_plugin_ref *ref,
                                    const char *state_dir, struct orch_error *err)
{
    return oc_store_open_as(reg, ref, state_dir, 0, ORCH_STORE_CAP_BLOBS, err);
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

int oc_store_has_ticks(const struct oc_store *st)
{
    return (st->plugin->desc->caps & ORCH_STORE_CAP_TICKS) &&
           ORCH_HAS(struct orch_store_vtable, st->vt, tick_prune) && st->vt->tick_append &&
           st->vt->tick_list;
}

static orch_status oc_no_ticks(const struct oc_store *st, struct orch_error *err)
{
    return oc_error_set(err, ORCH_E_UNSUPPORTED, "store %s keeps no tick ledger (ABI 1.2 "
                        "capability ticks)", st->plugin->desc->name);
}

orch_status oc_store_tick_append(struct oc_store *st, const struct orch_tick_rec *t,
                                 struct orch_error *err)
{
    return oc_store_has_ticks(st) ? st->vt->tick_append(st->h, t, err) : oc_no_ticks(st, err);
}

orch_status oc_store_tick_list(struct oc_store *st, int64_t since_ns, uint32_t limit,
                               orch_tick_fn fn, void *ud, struct orch_error *err)
{
    return oc_store_has_ticks(st) ? st->vt->tick_list(st->h, since_ns, limit, fn, ud, err)
                                  : oc_no_ticks(st, err);
}

orch_status oc_store_tick_prune(struct oc_store *st, int64_t before_ns, uint64_t keep,
                                struct orch_error *err)
{
    return oc_store_has_ticks(st) ? st->vt->tick_prune(st->h, before_ns, keep, err)
                                  : oc_no_ticks(st, err);
}

int oc_store_has_retention(const struct oc_store *st)
{
    return (st->plugin->desc->caps & ORCH_STORE_CAP_RETENTION) &&
           ORCH_HAS(struct orch_store_vtable, st->vt, run_delete) && st->vt->run_list_ended &&
           st->vt->run_delete;
}

static orch_status oc_no_retention(const struct oc_store *st, struct orch_error *err)
{
    return oc_error_set(err, ORCH_E_UNSUPPORTED, "store %s cannot delete runs (ABI 1.3 "
                        "capability retention): nothing is removed", st->plugin->desc->name);
}

orch_status oc_store_run_list_ended(struct oc_store *st, uint32_t state, int64_t after_ns,
                                    const char *after_id, int64_t before_ns, uint32_t limit,
                                    orch_run_fn fn, void *ud, struct orch_error *err)
{
    return oc_store_has_retention(st)
               ? st->vt->run_list_ended(st->h, state, after_ns, after_id, before_ns, limit, fn,
                                        ud, err)
               : oc_no_retention(st, err);
}

orch_status oc_store_run_delete(struct oc_store *st, const char *id, int64_t before_ns,
                                struct orch_run_purge *out, struct orch_error *err)
{
    return oc_store_has_retention(st) ? st->vt->run_delete(st->h, id, before_ns, out, err)
                                      : oc_no_retention(st, err);
}

orch_status oc_store_reclaim(struct oc_store *st, uint64_t *bytes, struct orch_error *err)
{
    *bytes = 0;
    if (!oc_store_has_retention(st) || !ORCH_HAS(struct orch_store_vtable, st->vt, reclaim) ||
        !st->vt->reclaim)
        return ORCH_OK;
    return st->vt->reclaim(st->h, bytes, err);
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
