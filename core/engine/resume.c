/* Loading a run back from the store. Two ways:
 * - rerun (`orch resume` of a failed or cancelled run, a re-queued dead
 *   letter): every step that did not succeed runs again;
 * - continue (a daemon claimed the run, or `orch resume` of a run whose
 *   process died or that waited for approval): finished steps keep their
 *   outcome, a failed step with retries left retries, and a step whose
 *   attempt was in flight is unknown and follows its on_unknown policy. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../errors.h"
#include "../flags.h"
#include "../host.h"
#include "../runctl.h"
#include "../trace/trace.h"
#include "internal.h"

struct oc_loaded_run {
    char *workflow, *inputs_json, *source, *source_path, *owner;
    uint32_t state;
    int found;
};

static int32_t oc_loaded_run_cb(void *ud, const struct orch_run_rec *rec)
{
    struct oc_loaded_run *l = ud;
    l->found = 1;
    l->state = rec->state;
    l->workflow = oc_xstrdup(rec->workflow);
    l->inputs_json = oc_xstrdup(rec->inputs_json);
    l->source = oc_xstrdup(rec->source);
    l->source_path = oc_xstrdup(rec->source_path);
    l->owner = oc_xstrdup(rec->owner);
    return 0;
}

static void oc_loaded_run_free(struct oc_loaded_run *l)
{
    free(l->workflow);
    free(l->inputs_json);
    free(l->source);
    free(l->source_path);
    free(l->owner);
}

/* The newest attempt of every step, as recorded. */
static int32_t oc_resume_attempt_cb(void *ud, const struct orch_attempt_rec *a)
{
    struct oc_run *r = ud;
    for (size_t i = 0; i < r->n_steps; i++) {
        struct oc_srt *s = &r->steps[i];
        if (strcmp(s->name, a->step_id) || a->attempt < s->attempt)
            continue;
        if (oc_step_load(s, a->state) != 0)
            return 0;
        s->attempt = a->attempt;
        s->status = a->status;
        s->exit_code = a->exit_code;
        s->started_ns = a->started_ns;
        free(s->error);
        s->error = oc_xstrdup(a->error);
        json_decref(s->outputs);
        s->outputs = a->outputs_json ? json_loads(a->outputs_json, 0, NULL) : NULL;
        if (!s->outputs)
            s->outputs = json_object();
        return 0;
    }
    return 0;
}

static int32_t oc_resume_instance_cb(void *ud, const struct orch_instance_rec *i)
{
    struct oc_run *r = ud;
    int creating = i->state == ORCH_INST_CREATING;
    if (!creating && (i->state != ORCH_INST_RUNNING || !i->backend_id))
        return 0;
    const struct oc_plugin_ref *b = oc_config_backend(r->cfg, i->backend);
    if (!b)
        return 0;
    r->insts = oc_xrealloc(r->insts, (r->n_insts + 1) * sizeof *r->insts);
    struct oc_inst *in = &r->insts[r->n_insts++];
    memset(in, 0, sizeof *in);
    in->backend = b;
    in->plugin = b->plugin;
    in->state = OC_INST_READY;
    in->id = oc_xstrdup(i->id);
    in->backend_id = oc_xstrdup(i->backend_id);
    in->handle = oc_xstrdup(i->handle);
    in->created_ns = i->created_ns;
    /* Its create was in flight when the run died: whatever the backend
     * made is reaped at the end, found by its orch.instance label. */
    in->reap = creating;
    /* The run's last driver may have died with a command running here:
     * it is reaped before the instance runs anything again. */
    in->reap_cmds = creating ? OC_REAP_NONE : OC_REAP_NEEDED;
    return 0;
}

/* What the ledger says beyond attempts: the process that last drove the
 * run, approval decisions, whether it was re-queued, whether it started,
 * the caller's trace context it was started with. */
struct oc_history {
    long long pid, start;
    char *host;
    json_t *decisions;
    int started, dry_run, requeued;
    int traced;
    int verdict;             /* run.started's "sampled": 1, 0, or -1 none */
    struct oc_trace_parent parent;
    /* Loads of the run (run.started, run.resumed) since it last made
     * progress: each one that no progress, park, graceful stop or end
     * followed was ended by the engine dying while it drove the run. */
    uint32_t loads_without_progress;
    /* The timeout's clock (real ns): it started with the run or its last
     * re-run; the time parked since (run.waiting to the next load) does
     * not count. parked_at: parked now, since then. */
    int64_t clock_ns, parked_ns, parked_at_ns;
    /* step id -> the instances its step.expanded event recorded. */
    json_t *expanded;
    /* "step#attempt" -> the child run its step.call event names; the
     * parent run.parent names (a child run's), or NULL. */
    json_t *calls;
    char *parent_id;
};

/* What ends a load in good order, or shows that driving the run moves. */
static int oc_history_progress(const char *t)
{
    static const char *const types[] = {
        "step.succeeded", "step.failed",   "step.skipped",   "step.cancelled",
        "step.timed_out", "step.retrying", "run.waiting",    "run.abandoned",
        "run.finished",   "run.requeued",  "approval.decided", "step.call",
        "call.ended",     NULL};
    for (size_t i = 0; types[i]; i++)
        if (!strcmp(t, types[i]))
            return 1;
    return 0;
}

static int32_t oc_history_cb(void *ud, const struct orch_event_rec *ev)
{
    struct oc_history *h = ud;
    const char *t = ev->type;
    if (!strcmp(t, "run.started") || !strcmp(t, "run.resumed"))
        h->loads_without_progress++;
    else if (oc_history_progress(t))
        h->loads_without_progress = 0;
    if (!strcmp(t, "run.waiting") && !h->parked_at_ns)
        h->parked_at_ns = ev->ts_ns;
    if (!strcmp(t, "step.call") || !strcmp(t, "run.parent")) {
        json_t *j = json_loads(ev->data_json, 0, NULL);
        const char *step = json_string_value(json_object_get(j, "step"));
        const char *run = json_string_value(json_object_get(j, "run"));
        json_int_t attempt = json_integer_value(json_object_get(j, "attempt"));
        if (run && !strcmp(t, "run.parent")) {
            free(h->parent_id);
            h->parent_id = oc_xstrdup(run);
        } else if (run && step) {
            char *key = oc_xasprintf("%s#%lld", step, (long long)attempt);
            json_object_set_new(h->calls, key, json_string(run));
            free(key);
        }
        json_decref(j);
        return 0;
    }
    if (!strcmp(t, "step.expanded")) {
        json_t *j = json_loads(ev->data_json, 0, NULL);
        const char *step = json_string_value(json_object_get(j, "step"));
        json_t *list = json_object_get(j, "instances");
        /* The first record of a step is the one its instances were made
         * from: a later one (none is written) would not change them. */
        if (step && !json_object_get(h->expanded, step))
            json_object_set(h->expanded, step, json_is_array(list) ? list : json_null());
        json_decref(j);
        return 0;
    }
    if (strcmp(t, "run.process") && strcmp(t, "approval.decided") &&
        strcmp(t, "run.started") && strcmp(t, "run.requeued") &&
        strcmp(t, "run.resumed") && strcmp(t, OC_RUN_TRACEPARENT_EVENT))
        return 0;
    json_t *j = json_loads(ev->data_json, 0, NULL);
    if (!j)
        return 0;
    const char *mode = json_string_value(json_object_get(j, "mode"));
    if (!strcmp(t, "run.started") ||
        (!strcmp(t, "run.resumed") && mode && !strcmp(mode, "rerun"))) {
        h->clock_ns = ev->ts_ns;
        h->parked_ns = h->parked_at_ns = 0;
    } else if (!strcmp(t, "run.resumed") && h->parked_at_ns) {
        if (ev->ts_ns > h->parked_at_ns)
            h->parked_ns += ev->ts_ns - h->parked_at_ns;
        h->parked_at_ns = 0;
    }
    if (!strcmp(t, "run.process")) {
        h->pid = json_integer_value(json_object_get(j, "pid"));
        h->start = json_integer_value(json_object_get(j, "start_time"));
        free(h->host);
        h->host = oc_xstrdup(json_string_value(json_object_get(j, "host")));
    } else if (!strcmp(t, "approval.decided")) {
        char *key = oc_xasprintf("%s#%lld",
                                 json_string_value(json_object_get(j, "step")),
                                 (long long)json_integer_value(json_object_get(j, "attempt")));
        /* When it was decided: the end of the wait's span. */
        json_object_set_new(j, "decided_ns", json_integer(ev->ts_ns));
        json_object_set(h->decisions, key, j);
        free(key);
    } else if (!strcmp(t, "run.started")) {
        h->started = 1;
        h->dry_run = json_is_true(json_object_get(j, "dry_run"));
        json_t *sampled = json_object_get(j, "sampled");
        h->verdict = json_is_boolean(sampled) ? json_is_true(sampled) : -1;
    } else if (!strcmp(t, "run.requeued")) {
        h->requeued = 1;
    } else if (!strcmp(t, OC_RUN_TRACEPARENT_EVENT)) {
        /* Written once, with the run; a damaged one leaves the run its own
         * trace, as a malformed header would have. */
        const char *tp = json_string_value(json_object_get(j, "traceparent"));
        if (!h->traced)
            h->traced = oc_traceparent_parse(tp, &h->parent) == 0;
    } else {
        h->requeued = 0; /* a requeue already acted on */
    }
    json_decref(j);
    return 0;
}

/* Is the process that last drove this run still alive on this host? */
static int oc_history_alive(const struct oc_history *h)
{
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    if (h->pid <= 0 || h->pid == getpid() || !h->host || strcmp(h->host, host))
        return 0;
    /* Same pid and same start time: the very same process. */
    return oc_proc_start_time((long)h->pid) == (unsigned long long)h->start;
}

/* The step runs again, from pending. */
static void oc_step_reset(struct oc_srt *s)
{
    oc_step_transition(s, OC_SE_RESET);
    free(s->error);
    s->error = NULL;
    s->status = ORCH_OK;
}

/* A step whose last attempt's outcome is unknown, in continue mode.
 * Returns 1 when the step must be finished as failed. */
static int oc_resume_unknown(struct oc_run *r, struct oc_srt *s)
{
    switch (s->def->on_unknown) {
    case OC_ON_UNKNOWN_FAIL:
        return 1;
    case OC_ON_UNKNOWN_ASK: {
        json_t *d = oc_approval_decision(r, s->name, s->attempt);
        if (!d) {
            oc_step_transition(s, OC_SE_ASK);
            oc_ledger_event(r, "approval.waiting",
                            json_pack("{s:s,s:i,s:s,s:s}", "step", s->name, "attempt",
                                      (json_int_t)s->attempt, "kind", "unknown", "message",
                                      "the outcome of this step is unknown (its process "
                                      "died): approve to run it again, reject to fail it"));
            return 0;
        }
        if (!json_is_true(json_object_get(d, "approved")))
            return 1;
        break;
    }
    default:
        break;
    }
    s->tries = s->attempt;
    oc_step_reset(s);
    return 0;
}

/* Classify every step after its attempts were read. */
static void oc_resume_steps(struct oc_run *r, int rerun, size_t *kept)
{
    for (size_t i = 0; i < r->n_steps; i++) {
        struct oc_srt *s = &r->steps[i];
        if (s->phase == OC_PHASE_DIED) {
            /* Its process died mid-attempt: the outcome is unknown. */
            free(s->error);
            s->error = oc_xstrdup("the process running this attempt died");
            s->status = ORCH_E_TRANSIENT;
            oc_ledger_attempt(r, s, ORCH_STEP_UNKNOWN, ORCH_STEP_RUNNING);
            oc_step_transition(s, OC_SE_MARK_UNKNOWN);
        }
        if (s->phase == OC_PHASE_SUCCEEDED) {
            r->n_terminal++;
            (*kept)++;
            continue;
        }
        /* A step no attempt row names is pending already; reset alike. */
        if (rerun || s->phase == OC_PHASE_PENDING) {
            oc_step_reset(s);
            continue;
        }
        int fail = 0;
        uint32_t state = oc_step_state(s);
        if (s->phase == OC_PHASE_UNKNOWN) {
            fail = oc_resume_unknown(r, s);
        } else if (s->phase == OC_PHASE_REOPENED) {
            /* An approval: its dispatch finds its decision or waits again. */
        } else if ((state == ORCH_STEP_FAILED || state == ORCH_STEP_TIMED_OUT) &&
                   !oc_approval_is(s) && s->attempt < s->def->retry.attempts &&
                   orch_status_is_retryable(s->status)) {
            s->tries = s->attempt;
            oc_step_reset(s);
        } else if (oc_step_terminal(s)) {
            r->n_terminal++;
            (*kept)++;
        }
        if (fail) {
            /* A new row saying why, as for a step that never started (a
             * row that says unknown is no row to close). */
            oc_step_finish(r, i, ORCH_STEP_FAILED, ORCH_E_TRANSIENT,
                           s->def->on_unknown == OC_ON_UNKNOWN_ASK
                               ? "the outcome of the last attempt is unknown; retry rejected"
                               : "the outcome of the last attempt is unknown (on_unknown: fail)");
            (*kept)++;
        }
    }
}

struct oc_flag_find {
    const char *name;
    int found;
};

static int32_t oc_flag_find_cb(void *ud, const char *name, const char *value)
{
    struct oc_flag_find *f = ud;
    (void)value;
    if (!strcmp(name, f->name))
        f->found = 1;
    return 0;
}

static orch_status oc_cancel_requested(struct oc_store *st, const char *run_id, int *found,
                                       struct orch_error *err)
{
    char *name = oc_flag_key(OC_FLAG_CANCEL, run_id);
    struct oc_flag_find f = {name, 0};
    orch_status rc = st->vt->flag_list(st->h, oc_flag_find_cb, &f, err);
    free(name);
    *found = f.found;
    return rc;
}

/* A read that failed decides nothing: the load stops, naming the store,
 * the call and the run. */
static orch_status oc_read_failed(struct oc_store *st, const char *call, const char *run_id,
                                  orch_status rc, struct orch_error *err)
{
    char *why = oc_xstrdup(oc_error_text(err));
    oc_error_clear(err);
    oc_error_set(err, rc, "%s: %s of run %s failed: %s (nothing was changed)",
                 st->plugin->id, call, run_id, why);
    free(why);
    return rc;
}

/* The engine died this many times while it drove the run: fail it, once,
 * instead of dying with it again. The daemon owns it (its claim). */
static orch_status oc_run_fail_crashed(struct oc_engine *e, const char *run_id, uint32_t n,
                                       struct orch_error *err)
{
    struct oc_store *st = e->store;
    char *why = oc_xasprintf("the engine crashed %u times while driving this run; left for a "
                             "human", n);
    orch_status rc = oc_run_fail_owned(st, run_id, e->opts.owner, why,
                                       json_pack("{s:i}", "engine_crashes", (json_int_t)n),
                                       oc_now_real_ns(), err);
    if (rc == ORCH_OK) {
        struct oc_log_fields f = {.run_id = run_id, .component = "engine"};
        oc_log_at(ORCH_LOG_ERROR, &f, "run failed: %s", why);
        rc = oc_error_set(err, ORCH_E_FAILED, "run %s: %s", run_id, why);
    }
    free(why);
    return rc;
}

/* The CLI moves the run to running from the state it read, with its lease
 * confirmed in the same transaction; a daemon's claim already did. */
static orch_status oc_run_take(struct oc_run *r, uint32_t expect, struct orch_error *err)
{
    struct oc_store *st = r->e->store;
    if (!r->lease_owner)
        return oc_ledger_run_state(r, r->owner ? ORCH_RUN_RUNNING : 0, ORCH_RUN_RUNNING,
                                   NULL) == 0
                   ? ORCH_OK
                   : oc_error_set(err, ORCH_E_CONFLICT, "run %s changed while it was loaded",
                                  r->id);
    orch_status rc = oc_txn_begin(st, err);
    if (rc != ORCH_OK)
        return rc;
    rc = oc_lease_renew(r->e, r->id, r->lease_owner, err);
    if (rc == ORCH_OK)
        rc = oc_ledger_run_take(r, expect, err);
    rc = oc_txn_end(st, rc, err);
    if (rc == ORCH_E_CONFLICT) {
        oc_error_clear(err);
        rc = oc_error_set(err, ORCH_E_CONFLICT, "run %s changed while it was loaded "
                          "(another process moved it on); nothing was done", r->id);
    }
    r->lease_renewed_ns = oc_now_real_ns();
    return rc;
}

/* The run's row: found, and one this caller may drive (the CLI resumes no
 * success and no daemon's run). */
static orch_status oc_load_row(struct oc_engine *e, const char *run_id, int daemon,
                               struct oc_loaded_run *l, struct orch_error *err)
{
    struct oc_store *st = e->store;
    orch_status rc = st->vt->run_get(st->h, run_id, oc_loaded_run_cb, l, err);
    if (rc == ORCH_E_NOT_FOUND || (rc == ORCH_OK && !l->found)) {
        oc_error_clear(err);
        return oc_error_set(err, ORCH_E_NOT_FOUND, "no run %s in the store", run_id);
    }
    if (rc != ORCH_OK)
        return oc_read_failed(st, "run_get", run_id, rc, err);
    if (!daemon && l->state == ORCH_RUN_SUCCEEDED)
        return oc_error_set(err, ORCH_E_INVALID_ARG,
                            "run %s already succeeded: nothing to resume", run_id);
    if (!daemon && l->owner)
        return oc_error_set(err, ORCH_E_CONFLICT,
                            "run %s is owned by the daemon %s; resume it there", run_id,
                            l->owner);
    return ORCH_OK;
}

/* The run's ledger: nobody alive drives it, and it has not killed the
 * engine too often. */
static orch_status oc_load_history(struct oc_engine *e, const char *run_id, int daemon,
                                   int leased, struct oc_history *h, struct orch_error *err)
{
    struct oc_store *st = e->store;
    orch_status rc = st->vt->event_list(st->h, run_id, 0, 0, oc_history_cb, h, err);
    if (rc != ORCH_OK)
        return oc_read_failed(st, "event_list", run_id, rc, err);
    /* Without leases, the ledger's last driver is all there is to go by. */
    if (!daemon && !leased && oc_history_alive(h))
        return oc_error_set(err, ORCH_E_CONFLICT,
                            "run %s is still being driven by process %lld", run_id, h->pid);
    if (daemon && e->opts.max_engine_crashes &&
        h->loads_without_progress >= e->opts.max_engine_crashes)
        return oc_run_fail_crashed(e, run_id, h->loads_without_progress, err);
    return ORCH_OK;
}

/* The workflow snapshot the run was started with, loaded and valid. */
static orch_status oc_load_snapshot(struct oc_engine *e, const char *run_id,
                                    const struct oc_loaded_run *l, struct oc_config **cfg_out,
                                    const struct oc_workflow **wf_out, struct orch_error *err)
{
    struct oc_diag diag = {0};
    struct oc_config *cfg = oc_config_parse_snapshot(l->source, l->source_path, &diag);
    if (cfg && oc_config_validate(cfg, e->reg, &diag) != 0) {
        oc_config_free(cfg);
        cfg = NULL;
    }
    if (!cfg) {
        orch_status rc = oc_error_set(err, ORCH_E_CONFIG,
                                      "run %s: its workflow snapshot no longer loads: %s",
                                      run_id, diag.n ? diag.msgs[0] : "invalid");
        oc_diag_free(&diag);
        return rc;
    }
    oc_diag_free(&diag);
    const struct oc_workflow *wf = oc_config_workflow(cfg, l->workflow);
    if (!wf) {
        oc_config_free(cfg);
        return oc_error_set(err, ORCH_E_CONFIG, "run %s: workflow %s missing from its snapshot",
                            run_id, l->workflow);
    }
    *cfg_out = cfg;
    *wf_out = wf;
    return ORCH_OK;
}

/* The run's attempts and instances read into r, and whether a cancel was
 * asked for while nobody drove it. */
static orch_status oc_load_records(struct oc_run *r, int *cancel, struct orch_error *err)
{
    struct oc_store *st = r->e->store;
    orch_status rc;
    if ((rc = st->vt->attempt_list(st->h, r->id, oc_resume_attempt_cb, r, err)) != ORCH_OK)
        return oc_read_failed(st, "attempt_list", r->id, rc, err);
    if ((rc = st->vt->instance_list(st->h, r->id, oc_resume_instance_cb, r, err)) != ORCH_OK)
        return oc_read_failed(st, "instance_list", r->id, rc, err);
    if ((rc = oc_cancel_requested(st, r->id, cancel, err)) != ORCH_OK)
        return oc_read_failed(st, "flag_list", r->id, rc, err);
    return ORCH_OK;
}

/* The run, taken: its steps classified, the ledger told how it goes on. */
static void oc_run_continue(struct oc_run *r, const struct oc_history *h, uint32_t state)
{
    int rerun = h->requeued || state == ORCH_RUN_FAILED || state == ORCH_RUN_CANCELLED;
    size_t kept = 0;
    /* A re-run starts the timeout's clock again; a continued run keeps it,
     * less the time it was parked (up to now, when it is parked still). */
    int64_t now = oc_now_real_ns();
    if (!rerun && h->clock_ns) {
        int64_t parked = h->parked_ns + (h->parked_at_ns && now > h->parked_at_ns
                                             ? now - h->parked_at_ns : 0);
        oc_run_deadline_from(r, h->clock_ns + parked);
    } else {
        oc_run_deadline_from(r, now);
    }
    oc_resume_steps(r, rerun, &kept);
    if (!h->started) {
        oc_ledger_run_started(r);
    } else {
        oc_ledger_event(r, "run.resumed",
                        json_pack("{s:i,s:s,s:s?}", "kept", (json_int_t)kept, "mode",
                                  rerun ? "rerun" : "continue", "owner", r->owner));
    }
    oc_ledger_process(r);
    struct oc_progress p = {.type = OC_EV_RUN_STARTED, .run_id = r->id,
                            .message = h->started ? "resumed" : NULL,
                            .began_ns = h->started ? h->clock_ns : 0};
    oc_engine_progress(r, &p);
}

static orch_status oc_run_load(struct oc_engine *e, const char *run_id, int daemon,
                               struct orch_error *err);

static int32_t oc_state_peek_cb(void *ud, const struct orch_run_rec *rec)
{
    *(uint32_t *)ud = rec->state;
    return 0;
}

/* r's waiting call steps get their children's ids from the ledger; the
 * CLI resumes each child that has not ended with its parent (a daemon's
 * children come by its claims), and every child driven here is linked. */
static void oc_resume_calls(struct oc_run *r, const json_t *calls, int daemon)
{
    struct oc_engine *e = r->e;
    for (size_t i = 0; i < r->n_steps; i++) {
        struct oc_srt *s = &r->steps[i];
        if (!oc_call_is(s) || s->phase != OC_PHASE_REOPENED)
            continue;
        char *key = oc_xasprintf("%s#%u", s->name, s->attempt);
        const char *child = json_string_value(json_object_get(calls, key));
        free(key);
        if (!child)
            continue; /* its dispatch finds it by its key */
        free(s->child_id);
        s->child_id = oc_xstrdup(child);
        uint32_t state = 0;
        struct orch_error err;
        oc_error_init(&err);
        e->store->vt->run_get(e->store->h, child, oc_state_peek_cb, &state, &err);
        oc_error_clear(&err);
        int open = state == ORCH_RUN_RUNNING || state == ORCH_RUN_QUEUED ||
                   state == ORCH_RUN_WAITING;
        if (daemon || !open || oc_engine_run_state(e, child))
            continue;
        if (oc_run_load(e, child, 0, &err) != ORCH_OK)
            oc_log(ORCH_LOG_INFO, r->id, "step %s: its child run %s is not resumed here "
                   "(%s); the step waits for its end", s->name, child, oc_error_text(&err));
        oc_error_clear(&err);
    }
}

static orch_status oc_run_load(struct oc_engine *e, const char *run_id, int daemon,
                               struct orch_error *err)
{
    struct oc_loaded_run l = {0};
    struct oc_history h = {.decisions = json_object(), .expanded = json_object(),
                           .calls = json_object(), .verdict = -1};
    struct oc_config *cfg = NULL;
    const struct oc_workflow *wf = NULL;
    char *lease_owner = NULL;
    orch_status rc = ORCH_OK;
    /* The CLI takes the run's lease before it reads anything, so what it
     * reads cannot change under it but through a daemon's claim, which
     * the compare-and-set below sees. */
    if (!daemon && oc_lease_supported(e))
        rc = oc_lease_take(e, run_id, &lease_owner, err);
    if (rc == ORCH_OK)
        rc = oc_load_row(e, run_id, daemon, &l, err);
    if (rc == ORCH_OK)
        rc = oc_load_history(e, run_id, daemon, lease_owner != NULL, &h, err);
    if (rc == ORCH_OK)
        rc = oc_load_snapshot(e, run_id, &l, &cfg, &wf, err);
    if (rc != ORCH_OK)
        goto out;
    struct oc_run *r = oc_run_new(e, cfg, wf);
    r->owns_cfg = 1;
    r->id = oc_xstrdup(run_id);
    r->owner = daemon ? oc_xstrdup(e->opts.owner) : NULL;
    r->lease_owner = lease_owner;
    lease_owner = NULL;
    r->lease_renewed_ns = oc_now_real_ns(); /* the claim just wrote it */
    r->dry_run = h.started ? h.dry_run : e->opts.dry_run;
    r->decisions = h.decisions;
    h.decisions = NULL;
    r->traced = h.traced;
    if (h.traced)
        r->trace_parent = h.parent;
    r->trace_verdict = h.started ? h.verdict
                                 : oc_tracer_verdict(e->tracer, r->id,
                                                     h.traced ? &h.parent : NULL);
    r->inputs = json_loads(l.inputs_json ? l.inputs_json : "{}", 0, NULL);
    if (!r->inputs)
        r->inputs = json_object();
    r->parent_id = h.parent_id;
    h.parent_id = NULL;
    /* A matrix group's instances as recorded, before their rows are read. */
    for (size_t i = 0; i < wf->n_steps; i++) {
        json_t *list = json_object_get(h.expanded, r->steps[i].name);
        /* One that does not fit (a store changed behind orch's back) fails
         * the group when it comes up: evaluating the matrix again could
         * give other instances than those that ran. */
        if (list && r->steps[i].def->strategy.matrix && oc_matrix_restore(r, i, list) != 0)
            r->steps[i].record_unfit = 1;
    }
    int cancel = 0;
    rc = oc_load_records(r, &cancel, err);
    if (rc == ORCH_OK)
        rc = oc_run_take(r, l.state, err);
    if (rc != ORCH_OK) {
        /* Nothing was written: forget the run (its lease goes below). */
        lease_owner = r->lease_owner;
        r->lease_owner = NULL;
        r->done = r->lost = 1;
        goto out;
    }
    oc_run_continue(r, &h, l.state);
    /* A slot it held is still its own (the flag survived): it keeps it. */
    oc_run_cg_init(r);
    if (cancel)
        oc_engine_cancel_run(e, run_id);
    oc_resume_calls(r, h.calls, daemon);
    oc_call_adopted(r);
out:
    if (lease_owner)
        oc_lease_release(e, run_id, lease_owner);
    free(lease_owner);
    json_decref(h.decisions);
    json_decref(h.expanded);
    json_decref(h.calls);
    free(h.parent_id);
    free(h.host);
    oc_loaded_run_free(&l);
    return rc;
}

orch_status oc_engine_resume(struct oc_engine *e, const char *run_id,
                             struct orch_error *err)
{
    return oc_run_load(e, run_id, 0, err);
}

orch_status oc_engine_adopt(struct oc_engine *e, const char *run_id,
                            struct orch_error *err)
{
    if (!e->opts.owner)
        return oc_error_set(err, ORCH_E_INVALID_ARG, "adopting a run needs an owner");
    return oc_run_load(e, run_id, 1, err);
}
