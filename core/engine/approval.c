/* The core `approval` step, and parking: a run whose only remaining work
 * waits for a human is written as WAITING, its lease released and its
 * memory freed, so it costs no process while it waits. A decision
 * (core/runctl.c) re-queues it; whoever claims it finds the decision in
 * the ledger. */
#include <stdlib.h>
#include <string.h>

#include "../flags.h"
#include "../host.h"
#include "internal.h"

int oc_approval_is(const struct oc_srt *s)
{
    return s->def->plugin && (s->def->plugin->desc->caps & ORCH_STEP_CAP_ENGINE_DECIDED) &&
           !s->def->call; /* a call step is engine-decided too (call.c) */
}

json_t *oc_approval_decision(const struct oc_run *r, const char *step,
                             uint32_t attempt)
{
    if (!r->decisions)
        return NULL;
    char *key = oc_xasprintf("%s#%u", step, attempt);
    json_t *d = json_object_get(r->decisions, key);
    free(key);
    return d;
}

static void oc_approval_outputs(struct oc_srt *s, json_t *d, int approved)
{
    json_object_set_new(s->outputs, "approved", json_string(approved ? "true" : "false"));
    const char *by = json_string_value(json_object_get(d, "by"));
    const char *comment = json_string_value(json_object_get(d, "comment"));
    json_object_set_new(s->outputs, "by", json_string(by ? by : ""));
    json_object_set_new(s->outputs, "comment", json_string(comment ? comment : ""));
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(d, "input"), k, v) {
        /* Outputs are text, like every step's. */
        if (json_is_string(v)) {
            json_object_set(s->outputs, k, v);
        } else {
            char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            json_object_set_new(s->outputs, k, json_string(t));
            free(t);
        }
    }
}

/* Said before the step finishes: the wait's end (its span's), when and by
 * whom it was decided, what the step becomes. */
static void oc_approval_decided(struct oc_run *r, const struct oc_srt *s, int64_t at,
                                const char *by, uint32_t state, const char *what)
{
    struct oc_progress p = {.type = OC_EV_STEP_DECIDED, .run_id = r->id, .step_id = s->name,
                            .attempt = s->attempt, .state = state, .message = what,
                            .began_ns = s->started_ns, .decided_ns = at,
                            .decided_by = by && *by ? by : "someone"};
    oc_engine_progress(r, &p);
}

/* Settle an approval from its decision or its timeout policy. Returns 1
 * when settled. */
static int oc_approval_settle(struct oc_run *r, size_t idx, const char *on_timeout)
{
    struct oc_srt *s = &r->steps[idx];
    json_t *d = oc_approval_decision(r, s->name, s->attempt);
    int64_t now = oc_now_real_ns();
    if (!d && (!s->wait_deadline_ns || now < s->wait_deadline_ns))
        return 0;
    if (!d) {
        const char *pol = on_timeout ? on_timeout : "fail";
        json_t *t = json_pack("{s:s}", "by", "timeout");
        int ok = !strcmp(pol, "approve");
        oc_approval_outputs(s, t, ok);
        json_decref(t);
        uint32_t to = ok ? ORCH_STEP_SUCCEEDED
                         : !strcmp(pol, "reject") ? ORCH_STEP_FAILED : ORCH_STEP_TIMED_OUT;
        oc_approval_decided(r, s, s->wait_deadline_ns, "timeout", to,
                            ok ? "approved (timed out, on_timeout: approve)"
                               : to == ORCH_STEP_FAILED ? "rejected (timed out, on_timeout: reject)"
                                                        : "timed out");
        if (ok)
            oc_step_finish(r, idx, ORCH_STEP_SUCCEEDED, ORCH_OK, NULL);
        else if (!strcmp(pol, "reject"))
            oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_FAILED,
                           "approval timed out and was rejected (on_timeout: reject)");
        else
            oc_step_finish(r, idx, ORCH_STEP_TIMED_OUT, ORCH_E_TIMEOUT,
                           "approval timed out (on_timeout: fail)");
        return 1;
    }
    int ok = json_is_true(json_object_get(d, "approved"));
    oc_approval_outputs(s, d, ok);
    json_t *at = json_object_get(d, "decided_ns");
    oc_approval_decided(r, s, at ? json_integer_value(at) : now,
                        json_string_value(json_object_get(d, "by")),
                        ok ? ORCH_STEP_SUCCEEDED : ORCH_STEP_FAILED, ok ? "approved" : "rejected");
    if (ok) {
        oc_step_finish(r, idx, ORCH_STEP_SUCCEEDED, ORCH_OK, NULL);
    } else {
        const char *by = json_string_value(json_object_get(d, "by"));
        const char *c = json_string_value(json_object_get(d, "comment"));
        char *m = oc_xasprintf("rejected by %s%s%s", by && *by ? by : "someone",
                               c && *c ? ": " : "", c && *c ? c : "");
        oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_FAILED, m);
        free(m);
    }
    return 1;
}

void oc_approval_dispatch(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    json_t *with = oc_step_with(r, idx);
    if (!with)
        return;
    const char *message = json_string_value(json_object_get(with, "message"));
    const char *on_timeout = json_string_value(json_object_get(with, "on_timeout"));
    json_decref(s->outputs);
    s->outputs = json_object();
    if (r->dry_run) {
        json_object_set_new(s->outputs, "approved", json_string("true"));
        oc_ledger_event(r, "step.plan",
                        json_pack("{s:s,s:s+}", "step", s->name, "plan",
                                  "would wait for approval: ", message ? message : ""));
        oc_step_finish(r, idx, ORCH_STEP_SUCCEEDED, ORCH_OK, NULL);
        json_decref(with);
        return;
    }
    if (!oc_step_wait_begin(r, idx)) {
        struct oc_progress p = {.type = OC_EV_STEP_WAITING, .run_id = r->id,
                                .step_id = s->name, .attempt = s->attempt,
                                .state = ORCH_STEP_WAITING, .began_ns = s->started_ns,
                                .message = "waiting for approval"};
        oc_engine_progress(r, &p);
        oc_ledger_event(r, "approval.waiting",
                        json_pack("{s:s,s:i,s:s,s:s,s:O?,s:O?,s:I}", "step", s->name,
                                  "attempt", (json_int_t)s->attempt, "kind", "approval",
                                  "message", message ? message : "", "inputs",
                                  json_object_get(with, "inputs"), "required",
                                  json_object_get(with, "required"), "deadline_ns",
                                  (json_int_t)s->wait_deadline_ns));
    }
    oc_approval_settle(r, idx, on_timeout);
    json_decref(with);
    r->dirty = 1;
}

int oc_run_parkable(const struct oc_run *r)
{
    if (r->done || r->finishing || r->running || r->inst_jobs || r->cancelled)
        return 0;
    int waiting = 0;
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct oc_srt *s = &r->steps[i];
        if (oc_step_busy(s) || s->child)
            return 0; /* a call step whose child runs here is busy */
        if (oc_step_waiting(s))
            waiting = 1;
    }
    return waiting;
}

void oc_run_park(struct oc_run *r)
{
    int64_t deadline = 0;
    json_t *steps = json_array();
    for (size_t i = 0; i < r->n_steps; i++) {
        const struct oc_srt *s = &r->steps[i];
        if (!oc_step_waiting(s))
            continue;
        json_array_append_new(steps, json_string(s->name));
        if (s->wait_deadline_ns && (!deadline || s->wait_deadline_ns < deadline))
            deadline = s->wait_deadline_ns;
    }
    if (oc_ledger_run_state(r, ORCH_RUN_RUNNING, ORCH_RUN_WAITING, NULL) != 0) {
        json_decref(steps);
        r->done = r->lost = 1;
        return;
    }
    /* Written first, then read: a child that ended before this write saw
     * the parent running and woke nobody, so its end is found here. */
    if (oc_call_settled_meanwhile(r)) {
        json_decref(steps);
        oc_ledger_run_state(r, ORCH_RUN_WAITING, ORCH_RUN_RUNNING, NULL);
        return;
    }
    if (deadline) {
        /* The scheduler re-queues the run when its first deadline passes. */
        char *val = oc_xasprintf("%lld", (long long)deadline);
        oc_ledger_flag(r, OC_FLAG_DEADLINE, val);
        free(val);
    }
    oc_ledger_event(r, "run.waiting", json_pack("{s:o,s:I}", "steps", steps,
                                                "deadline_ns", (json_int_t)deadline));
    oc_ledger_lease_release(r);
    oc_lease_release(r->e, r->id, r->lease_owner); /* the CLI's: nobody drives it now */
    r->parked = 1;
    r->done = 1;
    r->final_state = ORCH_RUN_WAITING;
    struct oc_progress p = {.type = OC_EV_RUN_FINISHED, .run_id = r->id,
                            .state = ORCH_RUN_WAITING,
                            .duration_ns = oc_now_mono_ns() - r->start_mono};
    oc_engine_progress(r, &p);
    oc_call_child_left(r, NULL); /* a child parked: its parent may park too */
}
