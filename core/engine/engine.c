/* The engine loop and run lifecycle: start, resume, drive, finish. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../flags.h"
#include "../host.h"
#include "internal.h"
#include "../runctl.h"
#include "../trace/trace.h"

/* Redacted per stream, not per chunk: a secret written in two pieces is
 * still masked (the redactor holds back a possible start of one). */
static void oc_job_stream(void *ud, uint32_t stream, const char *data,
                          size_t len)
{
    struct oc_job *job = ud;
    if (job->kind != OC_JOB_STEP || (stream != ORCH_STREAM_STDOUT &&
                                     stream != ORCH_STREAM_STDERR))
        return;
    struct oc_run *r = job->run;
    struct oc_srt *s = &r->steps[job->idx];
    struct oc_buf *out = &s->out[stream - 1];
    size_t from = out->len;
    oc_redact_stream(r->red, &s->held[stream - 1], data, len, out);
    if (out->len > from) {
        struct oc_progress p = {.type = OC_EV_STEP_OUTPUT, .run_id = r->id,
                                .step_id = s->name, .attempt = s->attempt,
                                .data = out->data + from, .len = out->len - from,
                                .stream = stream};
        oc_engine_progress(r, &p);
    }
    if (s->out[0].len + s->out[1].len >= 64 * 1024)
        oc_ledger_flush_logs(r, s);
}

/* The attempt's streams are over (done in any way, or abandoned): what the
 * redactor held back goes out, redacted, before the logs are flushed. */
static void oc_step_streams_end(struct oc_run *r, struct oc_srt *s)
{
    for (uint32_t i = 0; i < 2; i++) {
        struct oc_buf *out = &s->out[i];
        size_t from = out->len;
        oc_redact_stream_end(r->red, &s->held[i], out);
        if (out->len == from)
            continue;
        struct oc_progress p = {.type = OC_EV_STEP_OUTPUT, .run_id = r->id,
                                .step_id = s->name, .attempt = s->attempt,
                                .data = out->data + from, .len = out->len - from,
                                .stream = i + 1};
        oc_engine_progress(r, &p);
    }
}

static void oc_job_log(void *ud, uint32_t level, const char *line)
{
    struct oc_job *job = ud;
    struct oc_run *r = job->run;
    size_t n;
    char *safe = oc_redact(r->red, line, strlen(line), &n);
    struct oc_log_fields f = {.run_id = r->id};
    if (job->kind == OC_JOB_STEP) {
        f.step_id = r->steps[job->idx].name;
        f.attempt = r->steps[job->idx].attempt;
        f.component = r->steps[job->idx].def->plugin->id;
    } else {
        f.component = r->insts[job->idx].backend->name;
    }
    oc_log_at(level, &f, "%s", safe);
    if (job->kind == OC_JOB_STEP) {
        /* Plugin log lines belong in the step's log too, on stderr. */
        struct oc_srt *s = &r->steps[job->idx];
        oc_buf_addf(&s->out[1], "[%s] %s\n", s->def->plugin->id, safe);
    }
    free(safe);
}

static void oc_job_output(void *ud, const char *key, const char *value)
{
    struct oc_job *job = ud;
    if (job->kind != OC_JOB_STEP)
        return;
    struct oc_run *r = job->run;
    size_t n;
    char *safe = oc_redact(r->red, value, strlen(value), &n);
    json_object_set_new(r->steps[job->idx].outputs, key, json_string(safe));
    free(safe);
}

static void oc_job_event(void *ud, const char *type, const char *json, int core)
{
    struct oc_job *job = ud;
    json_error_t jerr;
    json_t *data = json_loads(json ? json : "{}", 0, &jerr);
    if (!data)
        data = json_pack("{s:s}", "raw", json ? json : "");
    char *t = core ? oc_xstrdup(type) : oc_xasprintf("plugin.%s", type);
    if (core)
        oc_engine_artifact_event(job->run, t, data);
    oc_ledger_event(job->run, t, data);
    free(t);
}

static void oc_job_done(void *ud, orch_status st, const char *msg,
                        json_t *result)
{
    struct oc_job *job = ud;
    struct oc_run *r = job->run;
    if (job->kind == OC_JOB_STEP) {
        oc_step_streams_end(r, &r->steps[job->idx]);
        oc_step_done(job, st, msg, result);
    } else {
        struct oc_inst_wake w = {0};
        oc_inst_done(job, st, msg, result, &w);
        if (w.wake)
            oc_steps_wake_parked(r, job->idx, w.status, w.error);
        free(w.error);
    }
    r->dirty = 1;
    free(job);
}

const struct oc_job_cbs oc_engine_job_cbs = {
    .on_stream = oc_job_stream,
    .on_log = oc_job_log,
    .on_output = oc_job_output,
    .on_event = oc_job_event,
    .on_done = oc_job_done,
};

static uint32_t oc_run_final_state(struct oc_run *r, char **error)
{
    if (r->timed_out) {
        long long ms = (long long)r->wf->timeout_ms;
        *error = oc_xasprintf("run timed out: workflow %s's timeout of %lld%s passed",
                              r->wf->name, ms % 1000 ? ms : ms / 1000, ms % 1000 ? " ms" : "s");
        return ORCH_RUN_FAILED;
    }
    if (r->cancelled) {
        /* skip: the group and its holders; cancel_running: the run that
         * cancelled this one. */
        *error = oc_run_cg_cancel_reason(r);
        return ORCH_RUN_CANCELLED;
    }
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct oc_srt *s = &r->steps[i];
        uint32_t state = oc_step_state(s);
        if ((state == ORCH_STEP_FAILED || state == ORCH_STEP_TIMED_OUT) &&
            !s->def->continue_on_error) {
            *error = oc_xasprintf("step %s %s: %s", s->name,
                                  orch_step_state_name(state),
                                  s->error ? s->error : "failed");
            return ORCH_RUN_FAILED;
        }
        if (state == ORCH_STEP_CANCELLED)
            return ORCH_RUN_CANCELLED;
    }
    return ORCH_RUN_SUCCEEDED;
}

/* After the last write of a run: its lease and its requests go. */
static void oc_run_release(struct oc_run *r)
{
    if (r->lost)
        return;
    oc_run_cg_release(r); /* its terminal state is written: the slot goes */
    oc_ledger_lease_release(r);
    oc_lease_release(r->e, r->id, r->lease_owner);
    if (r->cancelled)
        oc_ledger_flag(r, OC_FLAG_CANCEL, NULL);
}

void oc_run_check_done(struct oc_run *r)
{
    if (oc_run_parkable(r)) {
        oc_run_park(r);
        return;
    }
    if (r->done || r->n_terminal < r->n_steps || r->running)
        return;
    if (!r->finishing) {
        r->finishing = 1;
        r->final_state = oc_run_final_state(r, &r->final_error);
    }
    oc_inst_destroy_all(r);
    for (size_t i = 0; i < r->n_insts; i++)
        if (r->insts[i].state == OC_INST_READY ||
            r->insts[i].state == OC_INST_DESTROYING ||
            r->insts[i].state == OC_INST_CREATING)
            return; /* teardown in progress or waiting for an executor */
    if (r->inst_jobs)
        return;
    char *outputs_text = NULL;
    json_t *outputs = NULL;
    /* A compare-and-set from running: of two drivers (there should never
     * be two) only one finishes the run and writes run.finished. */
    if (oc_ledger_run_state(r, ORCH_RUN_RUNNING, r->final_state, r->final_error) == 0) {
        /* The workflow's outputs are a fact of the end: they live in
         * run.finished, written once (docs/config.md, "Outputs"). */
        outputs = oc_run_outputs(r);
        outputs_text = outputs ? json_dumps(outputs, JSON_COMPACT) : NULL;
        oc_ledger_event(r, "run.finished",
                        json_pack("{s:s,s:s?,s:O*}", "state",
                                  orch_run_state_name(r->final_state), "error",
                                  r->final_error, "outputs", outputs));
        oc_run_release(r);
    } else {
        r->lost = 1;
        r->final_state = 0; /* not ours to say: the store has the outcome */
    }
    r->done = 1;
    struct oc_progress p = {.type = OC_EV_RUN_FINISHED, .run_id = r->id,
                            .state = r->final_state, .message = r->final_error,
                            .data = outputs_text, .len = outputs_text ? strlen(outputs_text) : 0,
                            .duration_ns = oc_now_mono_ns() - r->start_mono};
    oc_engine_progress(r, &p);
    free(outputs_text);
    oc_call_child_left(r, outputs);
    json_decref(outputs);
}

void oc_engine_exec_stats(const struct oc_engine *e, struct oc_engine_exec_stats *out)
{
    struct oc_pool_stats ps;
    oc_pool_stats(e->pool, &ps);
    *out = (struct oc_engine_exec_stats){ps.busy, ps.capacity, ps.crashes};
}

uint64_t oc_engine_spans_dropped(const struct oc_engine *e)
{
    return oc_tracer_dropped(e->tracer);
}

struct oc_engine *oc_engine_new(struct oc_registry *reg, struct oc_store *store,
                                const struct oc_engine_opts *opts,
                                struct orch_error *err)
{
    char *exec = opts->exec_path ? oc_xstrdup(opts->exec_path) : oc_exec_find();
    if (!exec) {
        oc_error_set(err, ORCH_E_NOT_FOUND,
                     "cannot find the orch-exec helper (set ORCH_EXEC or reinstall orch)");
        return NULL;
    }
    struct oc_engine *e = oc_xcalloc(1, sizeof *e);
    e->reg = reg;
    e->store = store;
    e->opts = *opts;
    e->state_dir = oc_state_dir(opts->state_dir);
    e->tracer = oc_tracer_new(opts->telemetry, program_invocation_short_name);
    /* Read once, here (as env_passthrough below): orchd's config they point
     * into may be freed by a reload. */
    e->opts.telemetry = NULL;
    uint32_t n = opts->concurrency ? opts->concurrency : 4;
    e->pool = oc_pool_new(exec, n);
    if (opts->wake_fd > 0)
        oc_pool_set_wake_fd(e->pool, opts->wake_fd);
    struct oc_buf keep = {0};
    for (size_t i = 0; i < opts->n_env_passthrough; i++)
        oc_buf_addf(&keep, "%s%s", i ? "," : "", opts->env_passthrough[i]);
    oc_pool_set_env_keep(e->pool, keep.data);
    oc_buf_free(&keep);
    e->opts.env_passthrough = NULL;
    e->opts.n_env_passthrough = 0;
    oc_pool_prespawn(e->pool);
    e->exec_path = exec;
    const char *t = getenv("TMPDIR");
    char *tmpl = oc_xasprintf("%s/orch-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmpl)) {
        oc_error_set(err, ORCH_E_IO, "mkdtemp %s: %s", tmpl, strerror(errno));
        free(tmpl);
        oc_engine_free(e);
        return NULL;
    }
    e->tmpdir = tmpl;
    e->site = (struct oc_req_site){e->tmpdir, e->state_dir, e->exec_path};
    return e;
}

static void oc_run_free(struct oc_run *r)
{
    for (size_t i = 0; i < r->n_steps; i++) {
        json_decref(r->steps[i].outputs);
        json_decref(r->steps[i].matrix);
        if (r->steps[i].group != SIZE_MAX)
            free((char *)r->steps[i].name);
        free(r->steps[i].error);
        oc_buf_free(&r->steps[i].out[0]);
        oc_buf_free(&r->steps[i].out[1]);
        oc_buf_free(&r->steps[i].held[0]);
        oc_buf_free(&r->steps[i].held[1]);
        oc_logcap_free(r->steps[i].logcap);
        free(r->steps[i].child_id);
    }
    for (size_t i = 0; i < r->n_insts; i++) {
        free(r->insts[i].id);
        free(r->insts[i].backend_id);
        free(r->insts[i].handle);
        free(r->insts[i].error);
    }
    free(r->insts);
    free(r->steps);
    oc_run_cg_free(r);
    json_decref(r->inputs);
    json_decref(r->decisions);
    free(r->owner);
    free(r->parent_id);
    free(r->lease_owner);
    oc_redactor_free(r->red);
    if (r->owns_cfg)
        oc_config_free(r->cfg);
    free(r->final_error);
    free(r->id);
    free(r);
}

void oc_engine_free(struct oc_engine *e)
{
    if (!e)
        return;
    oc_pool_free(e->pool);
    oc_engine_leftovers_free(e);
    for (size_t i = 0; i < e->n_runs; i++)
        oc_run_free(e->runs[i]);
    free(e->runs);
    free(e->ids);
    for (size_t i = 0; i < e->n_reaping; i++)
        free(e->reaping[i]);
    free(e->reaping);
    free(e->ready);
    if (e->tmpdir)
        oc_rm_rf(e->tmpdir);
    free(e->tmpdir);
    free(e->state_dir);
    free(e->exec_path);
    oc_tracer_free(e->tracer); /* flushes: the CLI's spans reach the collector before exit */
    free(e);
}

orch_status oc_engine_start(struct oc_engine *e, struct oc_config *cfg,
                            const char *workflow, json_t *inputs,
                            const char *idempotency_key, const char *traceparent,
                            char **run_id, struct orch_error *err)
{
    if (!e->opts.dry_run && oc_backends_resolvable(cfg, workflow, err) != ORCH_OK)
        return err->code;
    return oc_run_open(e, cfg, workflow, inputs, idempotency_key, traceparent, NULL, NULL,
                       run_id, err);
}

static void oc_engine_cancel(struct oc_engine *e)
{
    e->cancelling = 1;
    for (size_t i = 0; i < e->n_runs; i++)
        oc_run_stop(e->runs[i]);
}

int oc_engine_cancel_run(struct oc_engine *e, const char *run_id)
{
    for (size_t i = 0; i < e->n_runs; i++)
        if (!strcmp(e->runs[i]->id, run_id) && !e->runs[i]->done) {
            oc_run_stop(e->runs[i]);
            return 0;
        }
    return -1;
}

void oc_engine_heartbeat(struct oc_engine *e, int64_t ttl_ms)
{
    struct oc_store *st = e->store;
    if (!st->vt->run_heartbeat)
        return;
    int64_t now = oc_now_real_ns();
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *r = e->runs[i];
        if (r->done || !r->owner)
            continue;
        /* Renewed once a quarter of the lease has passed, not at every
         * tick: a daemon wakes for every queue notification, and writing
         * every lease each time was most of what PostgreSQL did under load.
         * The lease never has less than three quarters left (with a tick
         * shorter than a quarter of it); every write is a compare-and-set
         * on the owner, so a lost lease is still never written through. */
        if (now - r->lease_renewed_ns < ttl_ms * 1000000 / 4)
            continue;
        r->lease_renewed_ns = now;
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = oc_ledger_lease_renew(r, ttl_ms, now, &err);
        if (rc == ORCH_E_CONFLICT) {
            oc_log(ORCH_LOG_ERROR, r->id, "lease lost (%s): another worker took the run; "
                   "stopping here without writing", oc_error_text(&err));
            oc_run_drop(r);
        } else if (rc != ORCH_OK) {
            oc_log(ORCH_LOG_WARN, r->id, "lease heartbeat: %s", oc_error_text(&err));
        }
        oc_error_clear(&err);
    }
}

void oc_engine_abandon(struct oc_engine *e)
{
    /* Every run goes back to the queue on its own, a child run too: its
     * parent's drop below must not take it along unwritten. */
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *r = e->runs[i];
        for (size_t j = 0; j < r->n_steps; j++)
            r->steps[j].child = NULL;
        r->parent = NULL;
    }
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *r = e->runs[i];
        if (r->done)
            continue;
        for (size_t j = 0; j < r->n_steps; j++) {
            struct oc_srt *s = &r->steps[j];
            if (!oc_step_in_flight(s))
                continue;
            oc_step_streams_end(r, s);
            oc_ledger_end_logs(r, s);
            /* Named here, while s->attempt is the attempt being cut: the
             * executor's late report is ignored (oc_step_done). */
            struct oc_log_fields f = {.run_id = r->id, .step_id = s->name,
                                      .attempt = s->attempt, .component = "engine"};
            oc_log_at(ORCH_LOG_WARN, &f, "attempt %u interrupted by shutdown: marked unknown, "
                      "the run goes back to the queue", s->attempt);
            oc_step_transition(s, OC_SE_CUT);
            free(s->error);
            s->error = oc_xstrdup("the daemon stopped before the attempt finished");
            s->status = ORCH_E_TRANSIENT;
            oc_ledger_attempt(r, s, ORCH_STEP_UNKNOWN, ORCH_STEP_RUNNING);
        }
        oc_ledger_event(r, "run.abandoned", json_pack("{s:s?}", "owner", r->owner));
        /* Back to the queue, so any worker continues it at once. */
        oc_ledger_run_state(r, ORCH_RUN_RUNNING, ORCH_RUN_QUEUED, NULL);
        oc_ledger_lease_release(r);
        oc_run_drop(r);
    }
    /* Let cancelled executors report, briefly; their results are ignored. */
    int64_t until = oc_now_mono_ns() + 3000000000LL;
    while (oc_pool_busy(e->pool) && oc_now_mono_ns() < until)
        oc_pool_poll(e->pool, 100);
}

void oc_engine_collect(struct oc_engine *e)
{
    size_t k = 0;
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *r = e->runs[i];
        if (r->done && !r->running && !r->inst_jobs)
            oc_run_free(r);
        else
            e->runs[k++] = r;
    }
    e->n_runs = k;
}

void oc_engine_set_dry_run(struct oc_engine *e, int on)
{
    e->opts.dry_run = on;
}

const char **oc_engine_run_ids(struct oc_engine *e, size_t *n)
{
    e->ids = oc_xrealloc(e->ids, (e->n_runs + 1) * sizeof *e->ids);
    size_t k = 0;
    for (size_t i = 0; i < e->n_runs; i++)
        if (!e->runs[i]->done)
            e->ids[k++] = e->runs[i]->id;
    *n = k;
    return e->ids;
}

void oc_engine_pool_usage(const struct oc_engine *e, uint32_t *busy, uint32_t *capacity)
{
    *busy = oc_pool_busy(e->pool);
    *capacity = oc_pool_capacity(e->pool);
}

uint64_t oc_engine_steps_dispatched(const struct oc_engine *e)
{
    return e->n_dispatched;
}

static void oc_engine_dispatch(struct oc_engine *e)
{
    size_t n = e->ready_len;
    for (size_t k = 0; k < n && e->ready_len; k++) {
        struct oc_qitem it = e->ready[e->ready_head];
        e->ready_head = (e->ready_head + 1) % e->ready_cap;
        e->ready_len--;
        if (oc_step_dispatch(it.run, it.idx) != 0) {
            /* No room: put it back at the end and try the others (another
             * run may still have room under its own concurrency). */
            oc_engine_requeue(it.run, it.idx);
            if (oc_pool_busy(e->pool) >= oc_pool_capacity(e->pool))
                break;
        }
    }
}

static size_t oc_engine_active(const struct oc_engine *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n_runs; i++)
        if (!e->runs[i]->done)
            n++;
    return n;
}

size_t oc_engine_tick(struct oc_engine *e, int timeout)
{
    if (e->opts.cancel_flag && *e->opts.cancel_flag && !e->cancelling)
        oc_engine_cancel(e);
    int64_t now = oc_now_real_ns();
    for (size_t i = 0; i < e->n_runs; i++)
        if (oc_run_timeout_passed(e->runs[i], now))
            oc_run_stop(e->runs[i]);
    int64_t real = now;
    now = oc_now_mono_ns();
    for (size_t i = 0; i < e->n_runs; i++)
        if (!e->runs[i]->done)
            oc_calls_tick(e->runs[i], now, real);
    oc_steps_wake_retries(e, now);
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *r = e->runs[i];
        if (!r->done) {
            enum oc_cg_gate gate = oc_run_cg_gate(r);
            if (gate == OC_CGATE_END || gate == OC_CGATE_CANCEL)
                oc_run_stop(r);
            if (gate == OC_CGATE_WAIT && !r->cancelled)
                continue; /* not admitted to its concurrency group: no step starts */
            oc_steps_schedule(r);
            oc_run_check_done(r);
            /* Instance creations deferred for lack of an executor, and
             * reaps deferred until the instance's other steps were done. */
            for (size_t j = 0; j < r->n_steps; j++) {
                if (!oc_step_parked(&r->steps[j]) || r->steps[j].inst == SIZE_MAX)
                    continue;
                struct oc_inst *in = &r->insts[r->steps[j].inst];
                if (in->state == OC_INST_NONE)
                    oc_inst_create(r, r->steps[j].inst);
                else if (in->state == OC_INST_READY && in->reap_cmds == OC_REAP_NEEDED)
                    oc_inst_reap_first(r, r->steps[j].inst);
            }
        }
    }
    oc_engine_dispatch(e);
    if (!oc_engine_active(e) && !oc_pool_busy(e->pool))
        return 0;
    /* A run made ready by a later one's end in this pass (a call step's
     * child ending settles its parent) is scheduled at once, not after
     * the poll's wait. */
    for (size_t i = 0; i < e->n_runs; i++)
        if (!e->runs[i]->done && e->runs[i]->dirty)
            timeout = 0;
    int64_t next = oc_steps_next_retry(e);
    int64_t poll = oc_calls_next_poll(e);
    if (poll && (!next || poll < next))
        next = poll;
    if (next) {
        int64_t ms = (next - oc_now_mono_ns()) / 1000000;
        if (ms < timeout)
            timeout = ms < 0 ? 0 : (int)ms + 1;
    }
    int64_t deadline = oc_runs_next_deadline(e);
    if (deadline) {
        int64_t ms = (deadline - oc_now_real_ns()) / 1000000;
        if (ms < timeout)
            timeout = ms < 0 ? 0 : (int)ms + 1;
    }
    oc_pool_poll(e->pool, timeout);
    /* Long-running steps: flush their logs every half second. */
    now = oc_now_mono_ns();
    for (size_t i = 0; i < e->n_runs; i++)
        for (size_t j = 0; j < e->runs[i]->n_steps; j++) {
            struct oc_srt *s = &e->runs[i]->steps[j];
            if (oc_step_in_flight(s) && now - s->log_flushed_mono > 500000000)
                oc_ledger_flush_logs(e->runs[i], s);
        }
    return oc_engine_active(e);
}

void oc_engine_loop(struct oc_engine *e)
{
    while (oc_engine_tick(e, 500))
        oc_leases_renew(e);
}

uint32_t oc_engine_run_state(const struct oc_engine *e, const char *run_id)
{
    for (size_t i = 0; i < e->n_runs; i++)
        if (!strcmp(e->runs[i]->id, run_id))
            return e->runs[i]->done ? e->runs[i]->final_state : ORCH_RUN_RUNNING;
    return 0;
}
