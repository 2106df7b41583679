/* Step lifecycle within a run: readiness, conditions, dispatch to an
 * executor, completion, retries with capped backoff. Every move between
 * phases is asked of step_state.c; a step's end is step_finish.c's. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "exec/result.h"
#include "../errors.h"
#include "../host.h"
#include "internal.h"

static int oc_needs_done(const struct oc_run *r, const struct oc_srt *s)
{
    for (size_t k = 0; k < s->def->n_needs; k++)
        if (!oc_step_terminal(&r->steps[s->def->need_idx[k]]))
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

/* Why a step the run's cancel found before it ran ends cancelled. */
static char *oc_step_cancel_reason(const struct oc_run *r, const struct oc_srt *s)
{
    return oc_xasprintf("%s %s", oc_run_stop_why(r),
                        oc_step_reopened(s) ? "while the step waited"
                                            : "before the step started");
}

static void oc_step_finish_stopped(struct oc_run *r, size_t idx, const char *when)
{
    char *why = when ? oc_xasprintf("%s %s", oc_run_stop_why(r), when)
                     : oc_step_cancel_reason(r, &r->steps[idx]);
    oc_step_finish(r, idx, ORCH_STEP_CANCELLED, ORCH_E_CANCELLED, why);
    free(why);
}

void oc_steps_schedule(struct oc_run *r)
{
    while (r->dirty) {
        r->dirty = 0;
        /* r->n_steps grows as groups expand: their instances, appended,
         * are seen in the same pass. */
        for (size_t i = 0; i < r->n_steps; i++) {
            struct oc_srt *s = &r->steps[i];
            if (oc_step_expanded(s)) {
                oc_matrix_group_check(r, i);
                continue;
            }
            if (!oc_step_schedulable(s))
                continue;
            if (r->cancelled) {
                oc_step_finish_stopped(r, i, NULL);
                continue;
            }
            if (s->group != SIZE_MAX) {
                /* A matrix instance: its group's needs and `if` decided. */
                if (oc_matrix_member_go(r, i))
                    oc_engine_enqueue(r, i);
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
            } else if (s->def->strategy.matrix) {
                oc_matrix_group_ready(r, i); /* r->steps may move: s is stale */
            } else {
                oc_engine_enqueue(r, i);
            }
        }
    }
}

void oc_steps_wake_parked(struct oc_run *r, size_t inst, orch_status st, const char *msg)
{
    for (size_t i = 0; i < r->n_steps; i++) {
        struct oc_srt *s = &r->steps[i];
        if (s->inst != inst || !oc_step_parked(s))
            continue;
        if (!msg)
            oc_engine_enqueue(r, i);
        else
            oc_step_finish(r, i, ORCH_STEP_FAILED, st, msg);
    }
}

/* The step's instance, before it runs there: 1 when it may run now (it
 * has none, or its instance is ready with nothing left running), 0 when it
 * left the queue (parked until the instance is made or reaped, or failed
 * with the instance), -1 when no executor is free for what comes first. */
static int oc_step_instance_ready(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    s->inst = oc_inst_for_step(r, idx);
    if (s->inst == SIZE_MAX || r->dry_run)
        return 1;
    struct oc_inst *in = &r->insts[s->inst];
    if (in->state == OC_INST_FAILED) {
        oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_FAILED, in->error);
        return 0;
    }
    if (in->state != OC_INST_READY) {
        if (in->state == OC_INST_NONE)
            oc_inst_create(r, s->inst);
        if (in->state == OC_INST_NONE)
            return -1;
        oc_step_transition(s, OC_SE_PARK_INSTANCE);
        return 0;
    }
    /* Never beside a copy an interrupted attempt left running. */
    int go = oc_inst_reap_first(r, s->inst);
    if (go == 0)
        oc_step_transition(s, OC_SE_PARK_REAP);
    return go;
}

/* A new attempt, recorded running before its job exists: 0, or -1 after
 * failing the step (the store refused the row). */
static int oc_step_attempt_begin(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    s->attempt++;
    s->tries++;
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
    if (oc_ledger_attempt(r, s, ORCH_STEP_RUNNING, 0) != 0) {
        oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_IO,
                       "could not record the attempt in the store");
        return -1;
    }
    oc_step_transition(s, OC_SE_START);
    oc_ledger_event(r, "step.started",
                    json_pack("{s:s,s:i}", "step", s->name, "attempt",
                              (json_int_t)s->attempt));
    return 0;
}

/* The running attempt's job goes to an executor, with the step's inputs
 * (consumed); the step fails when none takes it. */
static void oc_step_submit(struct oc_run *r, size_t idx, struct oc_step_input *in)
{
    struct oc_srt *s = &r->steps[idx];
    struct oc_engine *e = r->e;
    json_t *with = json_incref(in->with);
    const struct oc_plugin *p = s->def->plugin;
    json_t *ctx = oc_engine_ctx_json(r, s->name, s->attempt, s->def->timeout_ms, in);
    oc_step_input_free(in);
    int on_inst = s->inst != SIZE_MAX && !r->dry_run;
    struct oc_req_instance ref = on_inst ? oc_inst_ref(&r->insts[s->inst])
                                         : (struct oc_req_instance){0};
    json_t *req = oc_req_step_run(
        ctx, oc_req_plugin(s->name, p, with), oc_engine_artifacts_json(r),
        on_inst ? oc_backend_json(r->e, r->insts[s->inst].backend) : NULL, &ref);
    oc_req_step_run_namespaces(req, oc_engine_artifact_ns_json(r));
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
        return;
    }
    r->running++;
    struct oc_progress pr = {.type = OC_EV_STEP_STARTED, .run_id = r->id,
                             .step_id = s->name, .state = ORCH_STEP_RUNNING,
                             .attempt = s->attempt};
    oc_engine_progress(r, &pr);
}

/* Returns 0 when the step left the ready queue (dispatched, parked or
 * finished), -1 when no executor was free (keep it queued). */
int oc_step_dispatch(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    struct oc_engine *e = r->e;
    if (r->cancelled) {
        oc_step_finish_stopped(r, idx, NULL);
        return 0;
    }
    if (oc_matrix_member_cancelled(r, idx))
        return 0;
    if (oc_call_is(s)) {
        oc_call_dispatch(r, idx); /* its child run's steps take executors */
        return 0;
    }
    if (oc_approval_is(s)) {
        oc_approval_dispatch(r, idx); /* costs no executor */
        return 0;
    }
    if (r->running >= r->concurrency ||
        oc_pool_busy(e->pool) >= oc_pool_capacity(e->pool))
        return -1;
    int go = oc_step_instance_ready(r, idx);
    if (go <= 0)
        return go;
    /* Made before the attempt counts: its trace parent names attempt + 1. */
    struct oc_step_input in;
    if (oc_step_input_or_fail(r, idx, &in) != 0)
        return 0;
    if (oc_step_attempt_begin(r, idx) != 0) {
        oc_step_input_free(&in);
        return 0;
    }
    oc_step_submit(r, idx, &in);
    e->n_dispatched++;
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

/* What the job's result says besides its status: the exit code, and
 * whether the command may live on in its instance. (Outputs arrive as
 * messages while the step runs, through on_output.) */
static void oc_step_take_result(struct oc_run *r, struct oc_srt *s, orch_status st,
                                json_t *result)
{
    struct oc_res_step res;
    oc_res_step_read(result, &res);
    if (res.has_exit_code)
        s->exit_code = res.exit_code;
    /* No result: the executor died or was killed (crash, protocol error,
     * deadline, cancel grace) and its command may live on. It is reaped
     * before the instance runs anything again, and before destroy. */
    if (!result && st != ORCH_OK && s->inst != SIZE_MAX && !r->dry_run &&
        r->insts[s->inst].state == OC_INST_READY &&
        r->insts[s->inst].reap_cmds == OC_REAP_NONE)
        r->insts[s->inst].reap_cmds = OC_REAP_NEEDED;
}

/* The attempt (its logs already written) is recorded in state, failed,
 * and the step waits (the caller sets until when) for its next one. */
static void oc_step_retry_later(struct oc_run *r, struct oc_srt *s, uint32_t state,
                                orch_status st, const char *msg, int64_t delay_ms)
{
    s->status = st;
    free(s->error);
    size_t n;
    s->error = msg ? oc_redact(r->red, msg, strlen(msg), &n) : NULL;
    oc_ledger_attempt(r, s, state, ORCH_STEP_RUNNING);
    oc_ledger_event(r, "step.retrying",
                    json_pack("{s:s,s:i,s:I,s:s?}", "step", s->name, "attempt",
                              (json_int_t)s->attempt, "delay_ms", (json_int_t)delay_ms,
                              "error", s->error));
    oc_step_transition(s, OC_SE_RETRY);
}

/* Another attempt is due after a failure in state: 1 with its backoff in
 * *delay_ms, within the step's retry budget and max_elapsed. */
static int oc_step_retry_due(const struct oc_run *r, const struct oc_srt *s, uint32_t state,
                             orch_status st, json_t *result, int64_t now, int64_t *delay_ms)
{
    const struct oc_retry *rt = &s->def->retry;
    int64_t delay = oc_retry_delay_ms(rt, s->tries);
    /* The plugin's advice (e.g. a 429's Retry-After) is a floor: retrying
     * sooner only earns another refusal. max_elapsed still bounds it. */
    int64_t advised = oc_res_retry_after(result);
    if (advised > delay)
        delay = advised;
    int within = rt->max_elapsed_ms <= 0 ||
                 (now - s->first_start_mono) / 1000000 + delay <= rt->max_elapsed_ms;
    *delay_ms = delay;
    return !r->cancelled && state != ORCH_STEP_CANCELLED && s->tries < rt->attempts &&
           orch_status_is_retryable(st) && within;
}

void oc_step_done(struct oc_job *job, orch_status st, const char *msg,
                  json_t *result)
{
    struct oc_run *r = job->run;
    size_t idx = job->idx;
    struct oc_srt *s = &r->steps[idx];
    r->running--;
    /* The run was dropped (shutdown or a lost lease) and its attempt
     * already recorded: this late report of the killed command is not an
     * outcome. Finishing the step here would count it as a new, cancelled
     * attempt, and log that attempt instead of the one that was cut. */
    if (r->lost) {
        oc_step_transition(s, OC_SE_DROPPED);
        return;
    }
    oc_step_take_result(r, s, st, result);
    if (st == ORCH_OK) {
        oc_step_finish(r, idx, ORCH_STEP_SUCCEEDED, ORCH_OK, NULL);
        return;
    }
    /* Its instance was gone (removed outside orch) before the command
     * could start: the attempt is recorded failed, a new instance is made
     * and the step goes again, once, without using up its retries. */
    struct oc_res_step res;
    oc_res_step_read(result, &res);
    if (res.instance_gone && s->inst != SIZE_MAX && !s->rerun_lost && !r->cancelled) {
        oc_inst_lost(r, s->inst, res.backend_id);
        s->rerun_lost = 1;
        s->tries--;
        oc_ledger_flush_logs(r, s);
        oc_step_retry_later(r, s, ORCH_STEP_FAILED, st, msg, 0);
        s->retry_at_mono = oc_now_mono_ns();
        return;
    }
    uint32_t state = st == ORCH_E_TIMEOUT ? ORCH_STEP_TIMED_OUT
                     : st == ORCH_E_CANCELLED ? ORCH_STEP_CANCELLED
                                              : ORCH_STEP_FAILED;
    if (r->cancelled)
        state = ORCH_STEP_CANCELLED;
    int64_t now = oc_now_mono_ns(), delay;
    if (oc_step_retry_due(r, s, state, st, result, now, &delay)) {
        /* Record this attempt as failed, then wait out the backoff. */
        oc_ledger_end_logs(r, s);
        oc_step_retry_later(r, s, state, st, msg, delay);
        /* The wait counts from after the attempt's end is written (its
         * finished_ns), not from when the result came: the ledger write
         * in between would otherwise be taken off the advised delay. */
        s->retry_at_mono = oc_now_mono_ns() + delay * 1000000;
        struct oc_progress p = {.type = OC_EV_STEP_RETRY, .run_id = r->id,
                                .step_id = s->name, .state = state,
                                .attempt = s->attempt, .message = s->error,
                                .exit_code = s->exit_code};
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
            if (s->phase != OC_PHASE_RETRY_WAIT)
                continue;
            if (r->cancelled) {
                oc_step_finish_stopped(r, j, "while waiting to retry");
            } else if (s->retry_at_mono <= now) {
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
            if (s->phase == OC_PHASE_RETRY_WAIT && (!next || s->retry_at_mono < next))
                next = s->retry_at_mono;
        }
    return next;
}
