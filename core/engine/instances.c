/* Backend instances of a run: created on first use by a step, written to
 * the ownership ledger before the create call, destroyed when the run ends. */
#include <stdlib.h>
#include <string.h>

#include "exec/result.h"
#include "../host.h"
#include "internal.h"

size_t oc_inst_for_step(struct oc_run *r, size_t step)
{
    const struct oc_step *def = r->steps[step].def;
    if (!def->plugin)
        return SIZE_MAX;
    const struct oc_plugin_ref *b = oc_step_backend(r->cfg, r->wf, def);
    if (!b)
        return SIZE_MAX;
    for (size_t i = 0; i < r->n_insts; i++)
        if (r->insts[i].backend == b && !r->insts[i].reap)
            return i;
    r->insts = oc_xrealloc(r->insts, (r->n_insts + 1) * sizeof *r->insts);
    struct oc_inst *in = &r->insts[r->n_insts];
    memset(in, 0, sizeof *in);
    in->backend = b;
    in->plugin = b->plugin;
    return r->n_insts++;
}

const struct oc_req_site *oc_engine_site(const struct oc_engine *e)
{
    return &e->site;
}

struct oc_req_instance oc_inst_ref(const struct oc_inst *in)
{
    return (struct oc_req_instance){in->id, in->backend_id, in->handle};
}

static int oc_inst_submit(struct oc_run *r, size_t idx, int kind, json_t *req)
{
    struct oc_job *job = oc_xcalloc(1, sizeof *job);
    job->kind = kind;
    job->run = r;
    job->idx = idx;
    uint64_t id;
    if (oc_pool_submit(r->e->pool, req, 0, &oc_engine_job_cbs, job, &id) != 0) {
        free(job);
        return -1;
    }
    r->inst_jobs++;
    return 0;
}

static void oc_inst_progress(struct oc_run *r, const struct oc_inst *in, uint32_t state,
                             const char *message)
{
    struct oc_progress p = {.type = OC_EV_INSTANCE, .run_id = r->id, .state = state,
                            .instance_id = in->id, .backend = in->backend->name,
                            .message = message};
    oc_engine_progress(r, &p);
}

void oc_inst_create(struct oc_run *r, size_t idx)
{
    struct oc_inst *in = &r->insts[idx];
    if (in->state != OC_INST_NONE)
        return;
    if (oc_pool_busy(r->e->pool) >= oc_pool_capacity(r->e->pool))
        return; /* retried by the scheduler when a slot frees */
    in->id = oc_new_id("i-");
    in->state = OC_INST_CREATING;
    /* The ownership ledger first: a crash during create leaves a row that
     * names what may exist, so it can be reaped. */
    oc_ledger_instance(r, in, ORCH_INST_CREATING);
    json_t *labels = json_pack("{s:s,s:s,s:s}", "orch.instance", in->id,
                               "orch.run", r->id, "orch.workflow", r->wf->name);
    struct oc_req_spec spec = {.instance_id = in->id, .run_id = r->id, .labels = labels};
    json_t *req = oc_req_instance_create(oc_engine_ctx_json(r, NULL, 0, 0, NULL),
                                         oc_backend_json(r->e, in->backend), &spec);
    json_decref(labels);
    if (oc_inst_submit(r, idx, OC_JOB_CREATE, req) != 0) {
        in->state = OC_INST_NONE; /* no executor free: try again later */
        free(in->id);
        in->id = NULL;
        return;
    }
    oc_inst_progress(r, in, OC_INST_EV_CREATING, "creating instance");
}

/* The one request of instance.reap for one instance (shaped like
 * instance.destroy). */
static json_t *oc_inst_reap_request(struct oc_run *r, const struct oc_inst *in)
{
    struct oc_req_instance ref = oc_inst_ref(in);
    return oc_req_instance_reap_commands(oc_engine_ctx_json(r, NULL, 0, 0, NULL),
                                         oc_backend_json(r->e, in->backend), &ref);
}

/* Does a step of run r have a job in flight on instance idx? */
static int oc_inst_busy(const struct oc_run *r, size_t idx)
{
    for (size_t i = 0; i < r->n_steps; i++)
        if (oc_step_in_flight(&r->steps[i]) && r->steps[i].inst == idx)
            return 1;
    return 0;
}

int oc_inst_reap_first(struct oc_run *r, size_t idx)
{
    struct oc_inst *in = &r->insts[idx];
    if (in->reap_cmds == OC_REAP_RUNNING)
        return 0;
    if (in->reap_cmds == OC_REAP_NONE)
        return 1;
    /* Nothing to ask it: say so in the ledger, once, and go on (docs/
     * executor.md: what such a backend leaves running is not orch's to stop). */
    if (!(in->plugin->desc->caps & ORCH_BACKEND_CAP_REAP)) {
        oc_log(ORCH_LOG_WARN, r->id,
               "backend %s (%s) cannot reap commands: a command that an interrupted attempt "
               "left in instance %s may still be running beside the next one",
               in->backend->name, in->plugin->id, in->id);
        oc_ledger_event(r, "instance.reap_unsupported",
                        json_pack("{s:s,s:s,s:s}", "instance", in->id, "backend",
                                  in->backend->name, "plugin", in->plugin->id));
        in->reap_cmds = OC_REAP_NONE;
        return 1;
    }
    /* A reap kills every command the instance recorded, so not while
     * other steps run there (an executor died beside them): the parked
     * steps wait, and the tick asks again once the last of those is done. */
    if (oc_inst_busy(r, idx))
        return 0;
    if (oc_inst_submit(r, idx, OC_JOB_REAP, oc_inst_reap_request(r, in)) != 0)
        return -1;
    in->reap_cmds = OC_REAP_RUNNING;
    return 0;
}

void oc_inst_destroy_all(struct oc_run *r)
{
    for (size_t i = 0; i < r->n_insts; i++) {
        struct oc_inst *in = &r->insts[i];
        if (in->state != OC_INST_READY || in->reap_cmds == OC_REAP_RUNNING)
            continue;
        /* Reaped by its label when its create was in flight. */
        struct oc_req_instance ref = oc_inst_ref(in);
        if (in->reap)
            ref.backend_id = NULL;
        json_t *req = oc_req_instance_release(oc_engine_ctx_json(r, NULL, 0, 0, NULL),
                                              oc_backend_json(r->e, in->backend), &ref);
        if (oc_inst_submit(r, i, OC_JOB_DESTROY, req) == 0) {
            in->state = OC_INST_DESTROYING;
            oc_inst_progress(r, in, OC_INST_EV_DESTROYING, NULL);
        }
    }
}

/* A reap that failed leaves the commands possibly running: the steps
 * waiting for the instance fail (retryable) rather than run beside them,
 * and the next use of the instance tries the reap again. */
static void oc_inst_reap_done(struct oc_run *r, size_t idx, orch_status st, const char *msg,
                              struct oc_inst_wake *wake)
{
    struct oc_inst *in = &r->insts[idx];
    if (st == ORCH_OK) {
        in->reap_cmds = OC_REAP_NONE;
        oc_ledger_event(r, "instance.commands_reaped",
                        json_pack("{s:s,s:s}", "instance", in->id, "backend",
                                  in->backend->name));
        *wake = (struct oc_inst_wake){1, ORCH_OK, NULL};
        return;
    }
    in->reap_cmds = OC_REAP_NEEDED;
    size_t n;
    char *safe = oc_redact(r->red, msg ? msg : "failed", strlen(msg ? msg : "failed"), &n);
    char *why = oc_xasprintf("backend %s: instance %s: the commands an interrupted attempt "
                             "left running could not be confirmed gone, so the step was not "
                             "run again: %s",
                             in->backend->name, in->id, safe);
    free(safe);
    oc_ledger_event(r, "instance.reap_failed",
                    json_pack("{s:s,s:s,s:s}", "instance", in->id, "backend",
                              in->backend->name, "error", why));
    *wake = (struct oc_inst_wake){1, ORCH_E_TRANSIENT, why};
}

void oc_inst_done(struct oc_job *job, orch_status st, const char *msg,
                  json_t *result, struct oc_inst_wake *wake)
{
    struct oc_run *r = job->run;
    struct oc_inst *in = &r->insts[job->idx];
    r->inst_jobs--;
    if (job->kind == OC_JOB_CREATE) {
        if (st == ORCH_OK) {
            struct oc_res_created c;
            oc_res_created_read(result, &c);
            in->backend_id = oc_xstrdup(c.backend_id);
            in->handle = oc_xstrdup(c.handle);
            in->state = OC_INST_READY;
            oc_ledger_instance(r, in, ORCH_INST_RUNNING);
            oc_ledger_event(r, "instance.created",
                            json_pack("{s:s,s:s,s:s?}", "instance", in->id,
                                      "backend", in->backend->name,
                                      "backend_id", in->backend_id));
            oc_inst_progress(r, in, OC_INST_EV_CREATED, NULL);
        } else {
            in->state = OC_INST_FAILED;
            in->error = oc_xasprintf("backend %s: create instance: %s",
                                     in->backend->name, msg ? msg : "failed");
            oc_ledger_instance(r, in, ORCH_INST_FAILED);
            oc_ledger_event(r, "instance.failed",
                            json_pack("{s:s,s:s}", "instance", in->id, "error",
                                      in->error));
            oc_inst_progress(r, in, OC_INST_EV_FAILED, in->error);
        }
        /* Steps waiting for this instance go (or fail) now. */
        *wake = (struct oc_inst_wake){
            1, st, in->state == OC_INST_READY ? NULL : oc_xstrdup(in->error)};
        return;
    }
    if (job->kind == OC_JOB_REAP) {
        oc_inst_reap_done(r, job->idx, st, msg, wake);
        return;
    }
    /* Destroy: a failure is logged and the ledger keeps the row, so the
     * reaper can find it later. */
    if (st == ORCH_OK) {
        in->state = OC_INST_GONE;
        oc_ledger_instance(r, in, ORCH_INST_DESTROYED);
        oc_ledger_event(r, "instance.destroyed",
                        json_pack("{s:s}", "instance", in->id));
        oc_inst_progress(r, in, OC_INST_EV_DESTROYED, NULL);
    } else {
        in->state = OC_INST_FAILED;
        size_t n;
        char *safe = oc_redact(r->red, msg ? msg : "failed", strlen(msg ? msg : "failed"), &n);
        oc_log(ORCH_LOG_WARN, r->id, "destroy instance %s on backend %s: %s",
               in->id, in->backend->name, safe);
        oc_ledger_event(r, "instance.destroy_failed",
                        json_pack("{s:s,s:s?}", "instance", in->id, "error", msg));
        char *why = oc_xasprintf("destroy: %s", safe);
        oc_inst_progress(r, in, OC_INST_EV_FAILED, why);
        free(why);
        free(safe);
    }
}

void oc_inst_lost(struct oc_run *r, size_t idx, const char *backend_id)
{
    struct oc_inst *in = &r->insts[idx];
    /* Only the instance the job tried: another step may have found it gone
     * first, and a new one may be ready already. */
    if (in->state != OC_INST_READY || !in->backend_id || !backend_id ||
        strcmp(in->backend_id, backend_id))
        return;
    oc_log(ORCH_LOG_WARN, r->id,
           "instance %s (%s on backend %s) is gone, removed outside orch: a new one is made "
           "and the step runs again there (what earlier steps left in it is lost)",
           in->id, in->backend_id, in->backend->name);
    oc_ledger_instance(r, in, ORCH_INST_DESTROYED);
    oc_ledger_event(r, "instance.lost",
                    json_pack("{s:s,s:s,s:s}", "instance", in->id, "backend",
                              in->backend->name, "backend_id", in->backend_id));
    free(in->id);
    free(in->backend_id);
    free(in->handle);
    free(in->error);
    in->id = in->backend_id = in->handle = in->error = NULL;
    in->state = OC_INST_NONE;
}
