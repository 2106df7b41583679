/* Reaping instances no run drives: the ownership ledger names an instance
 * whose run ended (or was never recorded as ended) and the backend may
 * still hold it. The daemon's reconciler calls this at start and on a
 * timer. */
#include <stdlib.h>
#include <string.h>

#include "exec/result.h"
#include "../host.h"
#include "internal.h"

struct oc_reap_job {
    struct oc_engine *e;
    struct orch_instance_rec rec;
    char *id, *backend, *run_id, *backend_id, *handle, *labels;
};

static void oc_reap_free(struct oc_reap_job *j)
{
    free(j->id);
    free(j->backend);
    free(j->run_id);
    free(j->backend_id);
    free(j->handle);
    free(j->labels);
    free(j);
}

static void oc_reap_forget(struct oc_engine *e, const char *id)
{
    for (size_t i = 0; i < e->n_reaping; i++)
        if (!strcmp(e->reaping[i], id)) {
            free(e->reaping[i]);
            e->reaping[i] = e->reaping[--e->n_reaping];
            return;
        }
}

static void oc_reap_log(void *ud, uint32_t level, const char *line)
{
    struct oc_reap_job *j = ud;
    struct oc_log_fields f = {.run_id = j->run_id, .component = j->backend};
    oc_log_at(level, &f, "%s", line);
}

static void oc_reap_done(void *ud, orch_status st, const char *msg, json_t *result)
{
    struct oc_reap_job *j = ud;
    struct oc_log_fields f = {.run_id = j->run_id, .component = "reaper"};
    (void)result;
    if (st == ORCH_OK || st == ORCH_E_NOT_FOUND) {
        oc_ledger_reaped(j->e->store, &j->rec);
        oc_log_at(ORCH_LOG_INFO, &f, "reaped instance %s on backend %s", j->id, j->backend);
        j->e->n_reaped++;
    } else {
        j->e->n_reap_failed++;
        oc_log_at(ORCH_LOG_WARN, &f, "reap instance %s on backend %s: %s (kept in the "
                  "ledger; tried again later)", j->id, j->backend, msg ? msg : "failed");
    }
    oc_reap_forget(j->e, j->id);
    oc_reap_free(j);
}

static const struct oc_job_cbs oc_reap_cbs = {
    .on_log = oc_reap_log,
    .on_done = oc_reap_done,
};

static int oc_engine_reap_how(struct oc_engine *e, const struct oc_config *cfg,
                              const struct orch_instance_rec *rec, int by_label)
{
    for (size_t i = 0; i < e->n_reaping; i++)
        if (!strcmp(e->reaping[i], rec->id))
            return 0; /* already on its way */
    const struct oc_plugin_ref *b = oc_config_backend(cfg, rec->backend);
    if (!b || !b->plugin)
        return -1;
    if (oc_pool_busy(e->pool) >= oc_pool_capacity(e->pool))
        return -1;
    struct oc_reap_job *j = oc_xcalloc(1, sizeof *j);
    j->e = e;
    j->rec = *rec;
    j->rec.id = j->id = oc_xstrdup(rec->id);
    j->rec.backend = j->backend = oc_xstrdup(rec->backend);
    j->rec.run_id = j->run_id = oc_xstrdup(rec->run_id);
    j->rec.backend_id = j->backend_id = oc_xstrdup(rec->backend_id);
    j->rec.handle = j->handle = oc_xstrdup(rec->handle);
    j->rec.labels_json = j->labels = oc_xstrdup(rec->labels_json);
    j->rec.owner = NULL;
    struct oc_req_ctx c = {.run_id = rec->run_id};
    /* With a backend id the backend destroys it directly; without one the
     * create may or may not have happened: find it by its label. */
    struct oc_req_instance ref = {rec->id, rec->backend_id, rec->handle};
    json_t *req = oc_req_instance_release(oc_req_ctx(&e->site, &c), oc_backend_json(e, b), &ref);
    uint64_t id;
    if (oc_pool_submit(e->pool, req, 0, &oc_reap_cbs, j, &id) != 0) {
        oc_reap_free(j);
        return -1;
    }
    e->reaping = oc_xrealloc(e->reaping, (e->n_reaping + 1) * sizeof *e->reaping);
    e->reaping[e->n_reaping++] = oc_xstrdup(rec->id);
    return 0;
}

int oc_engine_reap(struct oc_engine *e, const struct oc_config *cfg,
                   const struct orch_instance_rec *rec)
{
    return oc_engine_reap_how(e, cfg, rec, !rec->backend_id);
}

/* Leftovers: instances whose ledger row says destroyed while their backend
 * still has them (a teardown that found nothing by label while a killed
 * create's directory appeared later, or something re-created behind orch's
 * back). One list_owned per backend that has destroyed rows; each owned
 * instance whose orch.instance label names a destroyed row is reaped by
 * that label, logged and recorded (instance.reaped). */
struct oc_leftover_job {
    struct oc_engine *e;
    const struct oc_config *cfg;
    char *backend;
    char *key;             /* "list/BACKEND" in e->reaping while asked */
    json_t *destroyed;     /* instance id -> its ledger row (run_id, backend_id, ...) */
    size_t *found;         /* the caller's count, may be NULL */
};

static void oc_leftover_free(struct oc_leftover_job *j)
{
    free(j->backend);
    free(j->key);
    json_decref(j->destroyed);
    free(j);
}

static void oc_leftover_log(void *ud, uint32_t level, const char *line)
{
    struct oc_leftover_job *j = ud;
    struct oc_log_fields f = {.component = j->backend};
    oc_log_at(level, &f, "%s", line);
}

/* A job still in flight when the engine goes (orchd --once, a stop) never
 * reports: the engine frees it. */
static void oc_leftover_untrack(struct oc_leftover_job *j)
{
    struct oc_engine *e = j->e;
    for (size_t i = 0; i < e->n_leftovers; i++)
        if (e->leftovers[i] == j) {
            e->leftovers[i] = e->leftovers[--e->n_leftovers];
            return;
        }
}

void oc_engine_leftovers_free(struct oc_engine *e)
{
    for (size_t i = 0; i < e->n_leftovers; i++)
        oc_leftover_free(e->leftovers[i]);
    free(e->leftovers);
    e->leftovers = NULL;
    e->n_leftovers = 0;
}

static void oc_leftover_done(void *ud, orch_status st, const char *msg, json_t *result)
{
    struct oc_leftover_job *j = ud;
    struct oc_log_fields f = {.component = "reaper"};
    oc_leftover_untrack(j);
    oc_reap_forget(j->e, j->key);
    if (st != ORCH_OK) {
        oc_log_at(ORCH_LOG_WARN, &f, "backend %s: cannot list its instances to find "
                  "leftovers: %s (tried again later)", j->backend, msg ? msg : "failed");
        oc_leftover_free(j);
        return;
    }
    struct oc_res_owned_item o;
    for (size_t i = 0, n = oc_res_owned_count(result); i < n; i++) {
        if (!oc_res_owned_at(result, i, &o))
            continue;
        const char *id = json_string_value(json_object_get(o.labels, "orch.instance"));
        json_t *row = id ? json_object_get(j->destroyed, id) : NULL;
        if (!row)
            continue; /* live, or not in this ledger: not ours to judge */
        const char *run_id = json_string_value(json_object_get(row, "run_id"));
        struct oc_log_fields rf = {.run_id = run_id, .component = "reaper"};
        oc_log_at(ORCH_LOG_WARN, &rf, "instance %s is destroyed in the ledger but backend %s "
                  "still has it (%s): destroying it", id, j->backend,
                  o.id);
        struct orch_instance_rec rec = {
            .struct_size = sizeof rec,
            .state = ORCH_INST_DESTROYED,
            .id = id,
            .backend = j->backend,
            .run_id = run_id,
            .backend_id = json_string_value(json_object_get(row, "backend_id")),
            .handle = json_string_value(json_object_get(row, "handle")),
            .labels_json = json_string_value(json_object_get(row, "labels")),
            .created_ns = json_integer_value(json_object_get(row, "created_ns")),
            .updated_ns = json_integer_value(json_object_get(row, "updated_ns")),
            .last_used_ns = json_integer_value(json_object_get(row, "last_used_ns")),
        };
        /* Reaped by its label, which also finds a copy under another
         * backend id (a staging directory, a re-created one); the row
         * itself is kept as it was. */
        if (oc_engine_reap_how(j->e, j->cfg, &rec, 1) == 0 && j->found)
            (*j->found)++;
    }
    oc_leftover_free(j);
}

static const struct oc_job_cbs oc_leftover_cbs = {
    .on_log = oc_leftover_log,
    .on_done = oc_leftover_done,
};

static int32_t oc_destroyed_cb(void *ud, const struct orch_instance_rec *i)
{
    json_t *by_backend = ud;
    if (i->state != ORCH_INST_DESTROYED || !i->backend)
        return 0;
    json_t *m = json_object_get(by_backend, i->backend);
    if (!m) {
        m = json_object();
        json_object_set_new(by_backend, i->backend, m);
    }
    json_object_set_new(m, i->id,
                        json_pack("{s:s?,s:s?,s:s?,s:s?,s:I,s:I,s:I}", "run_id", i->run_id,
                                  "backend_id", i->backend_id, "handle", i->handle, "labels",
                                  i->labels_json, "created_ns", (json_int_t)i->created_ns,
                                  "updated_ns", (json_int_t)i->updated_ns, "last_used_ns",
                                  (json_int_t)i->last_used_ns));
    return 0;
}

int oc_engine_reap_leftovers(struct oc_engine *e, const struct oc_config *cfg,
                             size_t *found, struct orch_error *err)
{
    struct oc_store *st = e->store;
    json_t *by_backend = json_object();
    if (st->vt->instance_list(st->h, NULL, oc_destroyed_cb, by_backend, err) != ORCH_OK) {
        json_decref(by_backend);
        return -1;
    }
    int asked = 0;
    const char *name;
    json_t *ids;
    json_object_foreach(by_backend, name, ids) {
        const struct oc_plugin_ref *b = oc_config_backend(cfg, name);
        if (!b || !b->plugin || !(b->plugin->desc->caps & ORCH_BACKEND_CAP_LIST_OWNED))
            continue;
        char *key = oc_xasprintf("list/%s", name);
        int busy = 0;
        for (size_t i = 0; i < e->n_reaping; i++)
            busy |= !strcmp(e->reaping[i], key);
        if (busy || oc_pool_busy(e->pool) >= oc_pool_capacity(e->pool)) {
            free(key);
            continue;
        }
        struct oc_req_ctx c = {0};
        json_t *req = oc_req_instance_list_owned(oc_req_ctx(&e->site, &c), oc_backend_json(e, b),
                                                 NULL);
        struct oc_leftover_job *j = oc_xcalloc(1, sizeof *j);
        j->e = e;
        j->cfg = cfg;
        j->backend = oc_xstrdup(name);
        j->key = key;
        j->destroyed = json_incref(ids);
        j->found = found;
        uint64_t id;
        if (oc_pool_submit(e->pool, req, 0, &oc_leftover_cbs, j, &id) != 0) {
            oc_leftover_free(j);
            continue;
        }
        e->reaping = oc_xrealloc(e->reaping, (e->n_reaping + 1) * sizeof *e->reaping);
        e->reaping[e->n_reaping++] = oc_xstrdup(key);
        e->leftovers = oc_xrealloc(e->leftovers, (e->n_leftovers + 1) * sizeof *e->leftovers);
        e->leftovers[e->n_leftovers++] = j;
        asked++;
    }
    json_decref(by_backend);
    return asked;
}

int oc_engine_reap_wait(struct oc_engine *e, int64_t timeout_ms, size_t *reaped,
                        size_t *failed)
{
    int64_t until = oc_now_mono_ns() + timeout_ms * 1000000;
    while ((oc_pool_busy(e->pool) || e->n_reaping) && oc_now_mono_ns() < until)
        oc_pool_poll(e->pool, 200);
    *reaped = e->n_reaped;
    *failed = e->n_reap_failed;
    return e->n_reaping ? -1 : 0;
}
