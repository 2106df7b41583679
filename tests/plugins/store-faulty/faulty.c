/* store-faulty: a real store (the .so named by `inner`, opened with the
 * same `path`) behind a wrapper that fails one call on purpose: the
 * `fail_at`-th call (1 = the first) of the slot named by `fail`, after
 * handing `fail_rows` rows of a read to the caller (a read that breaks
 * part-way). With `hang: true` that call never returns instead (for the
 * conformance runner's "store.<slot> hung" message). Every other call goes
 * through unchanged. For tests only. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <orch/orch.h>

static const struct orch_host *fy_host;

struct fy_cfg {
    const char *inner;
    const char *path;
    const char *fail;
    int64_t fail_at;
    int64_t fail_rows;
    int32_t hang;
};

static const struct orch_option fy_options[] = {
    ORCH_OPTION(struct fy_cfg, inner, "inner", ORCH_OPT_PATH, ORCH_OPTF_REQUIRED, NULL,
                "the real store's .so (e.g. store-sqlite.so)"),
    ORCH_OPTION(struct fy_cfg, path, "path", ORCH_OPT_PATH, 0, NULL,
                "the real store's `path` option"),
    ORCH_OPTION(struct fy_cfg, fail, "fail", ORCH_OPT_STRING, 0, NULL,
                "the slot to fail (event_list, attempt_list, ...); unset = none"),
    ORCH_OPTION(struct fy_cfg, fail_at, "fail_at", ORCH_OPT_INT, 0, "1",
                "which call of that slot fails (1 = the first)"),
    ORCH_OPTION(struct fy_cfg, fail_rows, "fail_rows", ORCH_OPT_INT, 0, "0",
                "rows a failing read hands over before it fails"),
    ORCH_OPTION(struct fy_cfg, hang, "hang", ORCH_OPT_BOOL, 0, "false",
                "the failing call hangs (ignoring cancel) instead of failing"),
};

struct orch_store {
    void *dl;
    const struct orch_plugin_desc *desc;
    const struct orch_store_vtable *vt;
    struct orch_store *in;
    void *incfg;
    char *strs[16];
    size_t n_strs;
    char *fail;
    int64_t fail_at, fail_rows, calls;
    int hang;
};

/* Is this call the one to fail? Counts the calls of the named slot. */
static int fy_fault(struct orch_store *st, const char *slot)
{
    if (!st->fail || strcmp(st->fail, slot))
        return 0;
    if (++st->calls != st->fail_at)
        return 0;
    while (st->hang)
        pause();
    return 1;
}

static orch_status fy_failed(const char *slot, struct orch_error *err)
{
    return fy_host->error_set(err, ORCH_E_IO, "store-faulty: injected failure of %s", slot);
}

/* "30s", "250ms", "5m", "12": milliseconds; good enough for defaults. */
static int64_t fy_duration_ms(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (!strcmp(end, "ms") || !*end)
        return (int64_t)v;
    if (!strcmp(end, "s"))
        return (int64_t)(v * 1000);
    if (!strcmp(end, "m"))
        return (int64_t)(v * 60000);
    if (!strcmp(end, "h"))
        return (int64_t)(v * 3600000);
    return 0;
}

/* The inner store's config from its option table: our path, else each
 * option's default. */
static orch_status fy_inner_cfg(struct orch_store *st, const char *path, struct orch_error *err)
{
    const struct orch_plugin_desc *d = st->desc;
    st->incfg = calloc(1, d->config_size ? d->config_size : 1);
    if (!st->incfg)
        return fy_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    for (uint32_t i = 0; i < d->option_count; i++) {
        const struct orch_option *o =
            (const struct orch_option *)((const char *)d->options + (size_t)i * d->option_size);
        const char *v = !strcmp(o->name, "path") ? path : o->default_value;
        if (!v)
            continue;
        char *at = (char *)st->incfg + o->offset;
        switch (o->type) {
        case ORCH_OPT_STRING: case ORCH_OPT_PATH: case ORCH_OPT_URL: case ORCH_OPT_ENUM:
            if (st->n_strs == sizeof st->strs / sizeof st->strs[0])
                return fy_host->error_set(err, ORCH_E_CONFIG, "store-faulty: too many options");
            st->strs[st->n_strs] = strdup(v);
            memcpy(at, &st->strs[st->n_strs], sizeof(char *));
            st->n_strs++;
            break;
        case ORCH_OPT_INT: case ORCH_OPT_SIZE: {
            int64_t n = strtoll(v, NULL, 10);
            memcpy(at, &n, sizeof n);
            break;
        }
        case ORCH_OPT_DURATION: {
            int64_t n = fy_duration_ms(v);
            memcpy(at, &n, sizeof n);
            break;
        }
        case ORCH_OPT_BOOL: {
            int32_t b = !strcmp(v, "true");
            memcpy(at, &b, sizeof b);
            break;
        }
        default:
            return fy_host->error_set(err, ORCH_E_CONFIG,
                                      "store-faulty: inner option %s has a type it cannot fill",
                                      o->name);
        }
    }
    return ORCH_OK;
}

static void fy_close(struct orch_store *st)
{
    if (!st)
        return;
    if (st->in)
        st->vt->close(st->in);
    if (st->desc && st->desc->fini)
        st->desc->fini();
    for (size_t i = 0; i < st->n_strs; i++)
        free(st->strs[i]);
    free(st->incfg);
    free(st->fail);
    if (st->dl)
        dlclose(st->dl);
    free(st);
}

static orch_status fy_open(struct orch_ctx *ctx, const void *cfgp, struct orch_store **out,
                           struct orch_error *err)
{
    const struct fy_cfg *cfg = cfgp;
    struct orch_store *st = calloc(1, sizeof *st);
    if (!st)
        return fy_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    st->fail = cfg->fail ? strdup(cfg->fail) : NULL;
    st->fail_at = cfg->fail_at;
    st->fail_rows = cfg->fail_rows;
    st->hang = cfg->hang;
    orch_status rc;
    st->dl = dlopen(cfg->inner, RTLD_NOW | RTLD_LOCAL);
    orch_plugin_entry_fn entry =
        st->dl ? (orch_plugin_entry_fn)(uintptr_t)dlsym(st->dl, ORCH_PLUGIN_ENTRY_SYMBOL) : NULL;
    if (!entry) {
        rc = fy_host->error_set(err, ORCH_E_CONFIG, "store-faulty: cannot load %s: %s",
                                cfg->inner, dlerror());
        goto fail;
    }
    if ((rc = entry(fy_host, &st->desc, err)) != ORCH_OK)
        goto fail;
    if (st->desc->kind != ORCH_KIND_STORE) {
        rc = fy_host->error_set(err, ORCH_E_CONFIG, "store-faulty: %s is not a store",
                                cfg->inner);
        goto fail;
    }
    st->vt = st->desc->vtable;
    if (st->desc->init && (rc = st->desc->init(fy_host, err)) != ORCH_OK)
        goto fail;
    if ((rc = fy_inner_cfg(st, cfg->path, err)) != ORCH_OK)
        goto fail;
    if ((rc = st->vt->open(ctx, st->incfg, &st->in, err)) != ORCH_OK)
        goto fail;
    *out = st;
    return ORCH_OK;
fail:
    fy_close(st);
    return rc;
}

/* Reads that can break part-way: hand over fail_rows rows, then fail. */
struct fy_rows {
    struct orch_store *st;
    int64_t n;
    void *fn, *ud;
};

#define FY_ROW_CB(name, rec_t, fn_t)                                          \
    static int32_t name(void *ud, const rec_t *r)                             \
    {                                                                         \
        struct fy_rows *w = ud;                                               \
        if (w->n >= w->st->fail_rows)                                         \
            return 1;                                                         \
        w->n++;                                                               \
        return ((fn_t)w->fn)(w->ud, r);                                       \
    }
FY_ROW_CB(fy_run_rows, struct orch_run_rec, orch_run_fn)
FY_ROW_CB(fy_attempt_rows, struct orch_attempt_rec, orch_attempt_fn)
FY_ROW_CB(fy_event_rows, struct orch_event_rec, orch_event_fn)
FY_ROW_CB(fy_instance_rows, struct orch_instance_rec, orch_instance_fn)

#define FY_READ(slot, rowcb, ...)                                             \
    do {                                                                      \
        if (fy_fault(st, #slot)) {                                            \
            struct fy_rows w = {st, 0, (void *)(uintptr_t)fn, ud};            \
            if (st->fail_rows > 0) /* error_set below replaces its error */   \
                st->vt->slot(st->in, __VA_ARGS__, rowcb, &w, err);            \
            return fy_failed(#slot, err);                                     \
        }                                                                     \
        return st->vt->slot(st->in, __VA_ARGS__, fn, ud, err);                \
    } while (0)

#define FY_CALL(slot, ...)                                                    \
    do {                                                                      \
        if (fy_fault(st, #slot))                                              \
            return fy_failed(#slot, err);                                     \
        return st->vt->slot(st->in, __VA_ARGS__);                             \
    } while (0)

static orch_status fy_schema_version(struct orch_store *st, int32_t *cur, int32_t *sup,
                                     struct orch_error *err)
{
    FY_CALL(schema_version, cur, sup, err);
}
static orch_status fy_migrate(struct orch_store *st, int32_t dry, char **plan,
                              struct orch_error *err)
{
    FY_CALL(migrate, dry, plan, err);
}
static orch_status fy_txn_begin(struct orch_store *st, struct orch_error *err)
{
    FY_CALL(txn_begin, err);
}
static orch_status fy_txn_commit(struct orch_store *st, struct orch_error *err)
{
    FY_CALL(txn_commit, err);
}
static orch_status fy_txn_rollback(struct orch_store *st, struct orch_error *err)
{
    FY_CALL(txn_rollback, err);
}
static orch_status fy_run_create(struct orch_store *st, const struct orch_run_rec *r,
                                 orch_run_fn fn, void *ud, struct orch_error *err)
{
    FY_CALL(run_create, r, fn, ud, err);
}
static orch_status fy_run_get(struct orch_store *st, const char *id, orch_run_fn fn, void *ud,
                              struct orch_error *err)
{
    FY_READ(run_get, fy_run_rows, id);
}
static orch_status fy_run_list(struct orch_store *st, const struct orch_run_filter *f,
                               orch_run_fn fn, void *ud, struct orch_error *err)
{
    FY_READ(run_list, fy_run_rows, f);
}
static orch_status fy_run_cas(struct orch_store *st, const char *id, uint32_t es,
                              const char *eo, uint32_t ns, const char *e, int64_t now,
                              struct orch_error *err)
{
    FY_CALL(run_cas, id, es, eo, ns, e, now, err);
}
static orch_status fy_attempt_cas(struct orch_store *st, const struct orch_attempt_rec *a,
                                  uint32_t es, struct orch_error *err)
{
    FY_CALL(attempt_cas, a, es, err);
}
static orch_status fy_attempt_list(struct orch_store *st, const char *run, orch_attempt_fn fn,
                                   void *ud, struct orch_error *err)
{
    FY_READ(attempt_list, fy_attempt_rows, run);
}
static orch_status fy_event_append(struct orch_store *st, const char *run, const char *type,
                                   const char *data, int64_t ts, int64_t *seq,
                                   struct orch_error *err)
{
    FY_CALL(event_append, run, type, data, ts, seq, err);
}
static orch_status fy_event_list(struct orch_store *st, const char *run, int64_t after,
                                 uint32_t limit, orch_event_fn fn, void *ud,
                                 struct orch_error *err)
{
    FY_READ(event_list, fy_event_rows, run, after, limit);
}
static orch_status fy_log_append(struct orch_store *st, const char *run, const char *step,
                                 uint32_t att, uint32_t stream, const char *data, uint64_t len,
                                 int64_t ts, struct orch_error *err)
{
    FY_CALL(log_append, run, step, att, stream, data, len, ts, err);
}
static orch_status fy_log_read(struct orch_store *st, const char *run, const char *step,
                               uint32_t att, int64_t after, orch_log_fn fn, void *ud,
                               struct orch_error *err)
{
    FY_CALL(log_read, run, step, att, after, fn, ud, err);
}
static orch_status fy_instance_put(struct orch_store *st, const struct orch_instance_rec *i,
                                   struct orch_error *err)
{
    FY_CALL(instance_put, i, err);
}
static orch_status fy_instance_list(struct orch_store *st, const char *run,
                                    orch_instance_fn fn, void *ud, struct orch_error *err)
{
    FY_READ(instance_list, fy_instance_rows, run);
}
static orch_status fy_instance_delete(struct orch_store *st, const char *id,
                                      struct orch_error *err)
{
    FY_CALL(instance_delete, id, err);
}
static orch_status fy_flag_set(struct orch_store *st, const char *name, const char *value,
                               struct orch_error *err)
{
    FY_CALL(flag_set, name, value, err);
}
static orch_status fy_flag_list(struct orch_store *st, orch_flag_fn fn, void *ud,
                                struct orch_error *err)
{
    FY_CALL(flag_list, fn, ud, err);
}
static orch_status fy_lease_acquire(struct orch_store *st, const char *name, const char *owner,
                                    int64_t ttl, int64_t now, int64_t *exp,
                                    struct orch_error *err)
{
    FY_CALL(lease_acquire, name, owner, ttl, now, exp, err);
}
static orch_status fy_lease_release(struct orch_store *st, const char *name, const char *owner,
                                    struct orch_error *err)
{
    FY_CALL(lease_release, name, owner, err);
}
static orch_status fy_lease_list(struct orch_store *st, orch_lease_fn fn, void *ud,
                                 struct orch_error *err)
{
    FY_CALL(lease_list, fn, ud, err);
}
static orch_status fy_run_claim(struct orch_store *st, const char *owner, int64_t ttl,
                                int64_t now, orch_run_fn fn, void *ud, struct orch_error *err)
{
    FY_CALL(run_claim, owner, ttl, now, fn, ud, err);
}
static orch_status fy_run_heartbeat(struct orch_store *st, const char *id, const char *owner,
                                    int64_t ttl, int64_t now, struct orch_error *err)
{
    FY_CALL(run_heartbeat, id, owner, ttl, now, err);
}
static orch_status fy_blob_put(struct orch_store *st, const char *key, orch_read_fn rd,
                               void *ud, struct orch_error *err)
{
    FY_CALL(blob_put, key, rd, ud, err);
}
static orch_status fy_blob_get(struct orch_store *st, const char *key, orch_write_fn wr,
                               void *ud, struct orch_error *err)
{
    FY_CALL(blob_get, key, wr, ud, err);
}
static orch_status fy_blob_delete(struct orch_store *st, const char *key,
                                  struct orch_error *err)
{
    FY_CALL(blob_delete, key, err);
}
static orch_status fy_blob_list(struct orch_store *st, const char *prefix, orch_blob_fn fn,
                                void *ud, struct orch_error *err)
{
    FY_CALL(blob_list, prefix, fn, ud, err);
}

static const struct orch_store_vtable fy_vtable = {
    .struct_size = sizeof(struct orch_store_vtable),
    .open = fy_open,
    .close = fy_close,
    .schema_version = fy_schema_version,
    .migrate = fy_migrate,
    .txn_begin = fy_txn_begin,
    .txn_commit = fy_txn_commit,
    .txn_rollback = fy_txn_rollback,
    .run_create = fy_run_create,
    .run_get = fy_run_get,
    .run_list = fy_run_list,
    .run_cas = fy_run_cas,
    .attempt_cas = fy_attempt_cas,
    .attempt_list = fy_attempt_list,
    .event_append = fy_event_append,
    .event_list = fy_event_list,
    .log_append = fy_log_append,
    .log_read = fy_log_read,
    .instance_put = fy_instance_put,
    .instance_list = fy_instance_list,
    .instance_delete = fy_instance_delete,
    .flag_set = fy_flag_set,
    .flag_list = fy_flag_list,
    .lease_acquire = fy_lease_acquire,
    .lease_release = fy_lease_release,
    .lease_list = fy_lease_list,
    .run_claim = fy_run_claim,
    .run_heartbeat = fy_run_heartbeat,
    .blob_put = fy_blob_put,
    .blob_get = fy_blob_get,
    .blob_delete = fy_blob_delete,
    .blob_list = fy_blob_list,
};

static const struct orch_plugin_desc fy_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STORE,
    .name = "faulty",
    .version = "1.0.0",
    .description = "a real store behind a wrapper that fails one call on purpose (tests)",
    .license = "MIT",
    .caps = ORCH_STORE_CAP_RUNS | ORCH_STORE_CAP_TXN | ORCH_STORE_CAP_LEASES |
            ORCH_STORE_CAP_BLOBS | ORCH_STORE_CAP_CAS,
    .options = fy_options,
    .option_count = sizeof fy_options / sizeof fy_options[0],
    .config_size = sizeof(struct fy_cfg),
    .vtable_size = sizeof(struct orch_store_vtable),
    .vtable = &fy_vtable,
};

ORCH_PLUGIN_DEFINE(store, faulty, fy_desc, fy_host)
