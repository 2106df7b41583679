/* Reaping instances no run drives: the ownership ledger names an instance
 * whose run ended (or was never recorded as ended) and the backend may
 * still hold it. The daemon's reconciler calls this at start and on a
 * timer. */
#include <stdlib.h>
#include <string.h>

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
    } else {
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

int oc_engine_reap(struct oc_engine *e, const struct oc_config *cfg,
                   const struct orch_instance_rec *rec)
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
