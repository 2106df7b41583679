/* Step lifecycle within a run: readiness, conditions, dispatch to an
 * executor, completion, retries with capped backoff. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../host.h"
#include "internal.h"

static int oc_step_terminal(uint32_t state)
{
    return state == ORCH_STEP_SUCCEEDED || state == ORCH_STEP_FAILED ||
           state == ORCH_STEP_SKIPPED || state == ORCH_STEP_CANCELLED ||
           state == ORCH_STEP_TIMED_OUT;
}

static const char *oc_step_event(uint32_t state)
{
    switch (state) {
    case ORCH_STEP_SUCCEEDED: return "step.succeeded";
    case ORCH_STEP_FAILED: return "step.failed";
    case ORCH_STEP_SKIPPED: return "step.skipped";
    case ORCH_STEP_CANCELLED: return "step.cancelled";
    case ORCH_STEP_TIMED_OUT: return "step.timed_out";
    default: return "step.unknown";
    }
}

void oc_step_finish(struct oc_run *r, size_t idx, uint32_t state,
                    orch_status st, const char *msg)
{
    struct oc_srt *s = &r->steps[idx];
    uint32_t prev = s->state;
    /* A waiting approval has its attempt row; an unknown outcome under
     * decision (asking) does not: its row says unknown. */
    int was_running = prev == ORCH_STEP_RUNNING ||
                      (prev == ORCH_STEP_WAITING && !s->asking);
    /* A waiting approval read back by resume (pending again until its
     * dispatch looks for a decision) still has its `waiting` row: a cancel
     * before that dispatch ends that row, or it would say waiting forever
     * beside a new cancelled one. */
    int reentered = prev == ORCH_STEP_PENDING && s->asking == 2;
    if (reentered) {
        prev = ORCH_STEP_WAITING;
        was_running = 1;
    }
    s->asking = 0;
    s->state = state;
    s->status = st;
    free(s->error);
    s->error = NULL;
    if (msg) {
        size_t n;
        s->error = oc_redact(r->red, msg, strlen(msg), &n);
    }
    if (was_running) {
        oc_ledger_end_logs(r, s);
        oc_ledger_attempt(r, s, prev);
    } else {
        /* Never started (skipped, cancelled, no instance): record a row so
         * the run's history shows what happened to every step. */
        s->attempt++;
        s->started_ns = oc_now_real_ns();
        oc_ledger_attempt(r, s, 0);
    }
    json_t *ev = json_pack("{s:s,s:i,s:s?}", "step", s->def->id, "attempt",
                           (json_int_t)s->attempt, "error", s->error);
    oc_ledger_event(r, oc_step_event(state), ev);
    r->n_terminal++;
    r->dirty = 1;
    struct oc_progress p = {
        .type = OC_EV_STEP_FINISHED, .run_id = r->id, .step_id = s->def->id,
        .state = state, .attempt = s->attempt, .message = s->error,
        .duration_ns = s->start_mono ? oc_now_mono_ns() - s->start_mono : 0,
    };
    oc_engine_progress(r, &p);
}

static int oc_needs_done(const struct oc_run *r, const struct oc_srt *s)
{
    for (size_t k = 0; k < s->def->n_needs; k++)
        if (!oc_step_terminal(r->steps[s->def->need_idx[k]].state))
            return 0;
    return 1;
}

/* Decide whether a step whose needs are done should run. */
static int oc_step_condition(struct oc_run *r, size_t idx, char **errmsg)
{
    struct oc_scope sc;
    struct oc_scope_ud ud = {0};
    const char *cond = r->steps[idx].def->if_expr;
    int res = 0, rc = 0;
    if (!cond || !*cond) {
        oc_scope_make(&sc, &ud, r, idx);
        rc = oc_expr_eval_bool("success()", &sc, &res, errmsg);
    } else if ((rc = oc_step_scope(r, idx, &sc, &ud, errmsg)) == 0) {
        rc = oc_expr_eval_bool(cond, &sc, &res, errmsg);
        json_decref(ud.env);
    }
    return rc != 0 ? -1 : res;
}

void oc_steps_schedule(struct oc_run *r)
{
    while (r->dirty) {
        r->dirty = 0;
        for (size_t i = 0; i < r->n_steps; i++) {
            struct oc_srt *s = &r->steps[i];
            if (s->state != ORCH_STEP_PENDING || s->queued || s->in_flight ||
                s->waiting_retry)
                continue;
            if (r->cancelled) {
                oc_step_finish(r, i, ORCH_STEP_CANCELLED, ORCH_E_CANCELLED,
                               s->asking == 2 ? "run cancelled while the step waited"
                                              : "run cancelled before the step started");
                continue;
            }
            if (!oc_needs_done(r, s))
                continue;
            char *err = NULL;
            int run = oc_step_condition(r, i, &err);
            if (run < 0) {
                char *m = oc_xasprintf("if: %s", err ? err : "invalid condition");
                oc_step_finish(r, i, ORCH_STEP_FAILED, ORCH_E_CONFIG, m);
                free(m);
                free(err);
            } else if (!run) {
                s->skipped_by_cond = s->def->if_expr != NULL;
                oc_step_finish(r, i, ORCH_STEP_SKIPPED, ORCH_OK,
                               s->skipped_by_cond ? "condition false"
                                                  : "a needed step did not succeed");
            } else {
                oc_engine_enqueue(r, i);
            }
        }
    }
    oc_run_check_done(r);
}

/* The step's inputs, or -1 after failing the step with why. */
static int oc_step_input(struct oc_run *r, size_t idx, struct oc_step_input *in)
{
    char *errmsg = NULL;
    if (oc_step_input_make(r, idx, in, &errmsg) == 0)
        return 0;
    oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_CONFIG, errmsg ? errmsg : "cannot render");
    free(errmsg);
    return -1;
}

json_t *oc_step_with(struct oc_run *r, size_t idx)
{
    struct oc_step_input in;
    if (oc_step_input(r, idx, &in) != 0)
        return NULL;
    json_t *with = json_incref(in.with);
    oc_step_input_free(&in);
    return with;
}

/* Returns 0 when the step left the ready queue (dispatched, parked or
 * finished), -1 when no executor was free (keep it queued). */
int oc_step_dispatch(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    struct oc_engine *e = r->e;
    if (r->cancelled) {
        oc_step_finish(r, idx, ORCH_STEP_CANCELLED, ORCH_E_CANCELLED,
                       s->asking == 2 ? "run cancelled while the step waited"
                                      : "run cancelled before the step started");
        return 0;
    }
    if (oc_approval_is(s)) {
        oc_approval_dispatch(r, idx); /* costs no executor */
        return 0;
    }
    if (r->running >= r->concurrency ||
        oc_pool_busy(e->pool) >= oc_pool_capacity(e->pool))
        return -1;
    s->inst = oc_inst_for_step(r, idx);
    if (s->inst != SIZE_MAX && !r->dry_run) {
        struct oc_inst *in = &r->insts[s->inst];
        if (in->state == OC_INST_FAILED) {
            oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_FAILED, in->error);
            return 0;
        }
        if (in->state != OC_INST_READY) {
            s->queued = 2; /* parked until the instance is ready */
            if (in->state == OC_INST_NONE)
                oc_inst_create(r, s->inst);
            if (in->state == OC_INST_NONE) {
                s->queued = 0;
                return -1;
            }
            return 0;
        }
        /* Never beside a copy an interrupted attempt left running. */
        int go = oc_inst_reap_first(r, s->inst);
        if (go < 0)
            return -1;
        if (go == 0) {
            s->queued = 2; /* parked until the reap is done */
            return 0;
        }
    }
    struct oc_step_input in;
    if (oc_step_input(r, idx, &in) != 0)
        return 0;
    json_t *with = json_incref(in.with);
    s->attempt++;
    s->tries++;
    s->state = ORCH_STEP_RUNNING;
    s->started_ns = oc_now_real_ns();
    s->start_mono = oc_now_mono_ns();
    if (!s->first_start_mono)
        s->first_start_mono = s->start_mono;
    s->log_flushed_mono = s->start_mono;
    json_decref(s->outputs);
    s->outputs = json_object();
    s->exit_code = -1;
    free(s->error);
    s->error = NULL;
    s->status = ORCH_OK;
    if (oc_ledger_attempt(r, s, 0) != 0) {
        json_decref(with);
        oc_step_input_free(&in);
        s->state = ORCH_STEP_PENDING;
        oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_IO,
                       "could not record the attempt in the store");
        return 0;
    }
    oc_ledger_event(r, "step.started",
                    json_pack("{s:s,s:i}", "step", s->def->id, "attempt",
                              (json_int_t)s->attempt));
    const struct oc_plugin *p = s->def->plugin;
    json_t *ctx = oc_engine_ctx_json(r, s->def->id, s->attempt, s->def->timeout_ms, &in);
    oc_step_input_free(&in);
    int on_inst = s->inst != SIZE_MAX && !r->dry_run;
    struct oc_req_instance ref = on_inst ? oc_inst_ref(&r->insts[s->inst])
                                         : (struct oc_req_instance){0};
    json_t *req = oc_req_step_run(
        ctx, oc_req_plugin(s->def->id, p, with), oc_engine_artifacts_json(r),
        on_inst ? oc_backend_json(r->e, r->insts[s->inst].backend) : NULL, &ref);
    struct oc_job *job = oc_xcalloc(1, sizeof *job);
    job->kind = OC_JOB_STEP;
    job->run = r;
    job->idx = idx;
    /* The plugin enforces the step timeout itself; this is the backstop. */
    int64_t deadline = s->def->timeout_ms
                           ? s->start_mono + (s->def->timeout_ms + 5000) * 1000000
                           : 0;
    if (oc_pool_submit(e->pool, req, deadline, &oc_engine_job_cbs, job, &s->job_id) != 0) {
        free(job);
        oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_INTERNAL,
                       "no executor available");
        return 0;
    }
    s->in_flight = 1;
    r->running++;
    struct oc_progress pr = {.type = OC_EV_STEP_STARTED, .run_id = r->id,
                             .step_id = s->def->id, .state = ORCH_STEP_RUNNING,
                             .attempt = s->attempt};
    oc_engine_progress(r, &pr);
    return 0;
}

static int64_t oc_retry_delay_ms(const struct oc_retry *rt, uint32_t tries)
{
    double d = (double)rt->backoff_ms * pow(rt->factor > 0 ? rt->factor : 2.0,
                                            (double)(tries - 1));
    if (rt->max_backoff_ms > 0 && d > (double)rt->max_backoff_ms)
        d = (double)rt->max_backoff_ms;
    return (int64_t)d;
}

void oc_step_done(struct oc_job *job, orch_status st, const char *msg,
                  json_t *result)
{
    struct oc_run *r = job->run;
    size_t idx = job->idx;
    struct oc_srt *s = &r->steps[idx];
    s->in_flight = 0;
    r->running--;
    /* The run was dropped (shutdown or a lost lease) and its attempt
     * already recorded: this late report of the killed command is not an
     * outcome. Finishing the step here would count it as a new, cancelled
     * attempt, and log that attempt instead of the one that was cut. */
    if (r->lost)
        return;
    json_t *outs = json_object_get(result, "outputs");
    const char *k;
    json_t *v;
    json_object_foreach(outs, k, v)
        json_object_set(s->outputs, k, v);
    json_t *ec = json_object_get(result, "exit_code");
    if (json_is_integer(ec))
        s->exit_code = (int32_t)json_integer_value(ec);
    /* No result: the executor died or was killed (crash, protocol error,
     * deadline, cancel grace) and its command may live on. It is reaped
     * before the instance runs anything again, and before destroy. */
    if (!result && st != ORCH_OK && s->inst != SIZE_MAX && !r->dry_run &&
        r->insts[s->inst].state == OC_INST_READY &&
        r->insts[s->inst].reap_cmds == OC_REAP_NONE)
        r->insts[s->inst].reap_cmds = OC_REAP_NEEDED;
    if (st == ORCH_OK) {
        oc_step_finish(r, idx, ORCH_STEP_SUCCEEDED, ORCH_OK, NULL);
        return;
    }
    /* Its instance was gone (removed outside orch) before the command
     * could start: the attempt is recorded failed, a new instance is made
     * and the step goes again, once, without using up its retries. */
    if (json_is_true(json_object_get(result, "instance_gone")) && s->inst != SIZE_MAX &&
        !s->rerun_lost && !r->cancelled) {
        oc_inst_lost(r, s->inst, json_string_value(json_object_get(result, "backend_id")));
        s->rerun_lost = 1;
        s->tries--;
        s->state = ORCH_STEP_FAILED;
        s->status = st;
        free(s->error);
        size_t n;
        s->error = msg ? oc_redact(r->red, msg, strlen(msg), &n) : NULL;
        oc_ledger_flush_logs(r, s);
        oc_ledger_attempt(r, s, ORCH_STEP_RUNNING);
        oc_ledger_event(r, "step.retrying",
                        json_pack("{s:s,s:i,s:I,s:s?}", "step", s->def->id, "attempt",
                                  (json_int_t)s->attempt, "delay_ms", (json_int_t)0, "error",
                                  s->error));
        s->state = ORCH_STEP_PENDING;
        s->waiting_retry = 1;
        s->retry_at_mono = oc_now_mono_ns();
        return;
    }
    uint32_t state = st == ORCH_E_TIMEOUT ? ORCH_STEP_TIMED_OUT
                     : st == ORCH_E_CANCELLED ? ORCH_STEP_CANCELLED
                                              : ORCH_STEP_FAILED;
    if (r->cancelled)
        state = ORCH_STEP_CANCELLED;
    const struct oc_retry *rt = &s->def->retry;
    int64_t now = oc_now_mono_ns();
    int64_t delay = oc_retry_delay_ms(rt, s->tries);
    /* The plugin's advice (e.g. a 429's Retry-After) is a floor: retrying
     * sooner only earns another refusal. max_elapsed still bounds it. */
    json_t *ra = json_object_get(result, "retry_after_ms");
    if (json_is_integer(ra) && json_integer_value(ra) > delay)
        delay = json_integer_value(ra);
    int within = rt->max_elapsed_ms <= 0 ||
                 (now - s->first_start_mono) / 1000000 + delay <= rt->max_elapsed_ms;
    if (!r->cancelled && state != ORCH_STEP_CANCELLED && s->tries < rt->attempts &&
        orch_status_is_retryable(st) && within) {
        /* Record this attempt as failed, then wait out the backoff. */
        s->state = state;
        s->status = st;
        free(s->error);
        size_t n;
        s->error = msg ? oc_redact(r->red, msg, strlen(msg), &n) : NULL;
        oc_ledger_end_logs(r, s);
        oc_ledger_attempt(r, s, ORCH_STEP_RUNNING);
        oc_ledger_event(r, "step.retrying",
                        json_pack("{s:s,s:i,s:I,s:s?}", "step", s->def->id,
                                  "attempt", (json_int_t)s->attempt, "delay_ms",
                                  (json_int_t)delay, "error", s->error));
        s->state = ORCH_STEP_PENDING;
        s->waiting_retry = 1;
        /* The wait counts from after the attempt's end is written (its
         * finished_ns), not from when the result came: the ledger write
         * in between would otherwise be taken off the advised delay. */
        s->retry_at_mono = oc_now_mono_ns() + delay * 1000000;
        struct oc_progress p = {.type = OC_EV_STEP_RETRY, .run_id = r->id,
                                .step_id = s->def->id, .state = state,
                                .attempt = s->attempt, .message = s->error};
        oc_engine_progress(r, &p);
        return;
    }
    oc_step_finish(r, idx, state, st, msg ? msg : orch_strerror(st));
}

void oc_steps_wake_retries(struct oc_engine *e, int64_t now)
{
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *r = e->runs[i];
        for (size_t j = 0; j < r->n_steps; j++) {
            struct oc_srt *s = &r->steps[j];
            if (!s->waiting_retry)
                continue;
            if (r->cancelled) {
                s->waiting_retry = 0;
                oc_step_finish(r, j, ORCH_STEP_CANCELLED, ORCH_E_CANCELLED,
                               "run cancelled while waiting to retry");
            } else if (s->retry_at_mono <= now) {
                s->waiting_retry = 0;
                oc_engine_enqueue(r, j);
            }
        }
    }
}

int64_t oc_steps_next_retry(struct oc_engine *e)
{
    int64_t next = 0;
    for (size_t i = 0; i < e->n_runs; i++)
        for (size_t j = 0; j < e->runs[i]->n_steps; j++) {
            const struct oc_srt *s = &e->runs[i]->steps[j];
            if (s->waiting_retry && (!next || s->retry_at_mono < next))
                next = s->retry_at_mono;
        }
    return next;
}
