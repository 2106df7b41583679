/* A call step (`uses: workflow:NAME`, core/config/calls.c): the workflow
 * runs as a child run, a run of its own in the store (its record, ledger,
 * lease, instances), linked both ways: the child's run.parent event names
 * the parent, step and attempt; the parent's step.call event names the
 * child. The step's attempt waits (its row says waiting, as an approval's)
 * until the child ends; then the child's outputs are the step's and its
 * end the step's: succeeded, failed, or cancelled when the parent was.
 *
 * Exactly one child per attempt: it is created under the idempotency key
 * call:PARENT:STEP:ATTEMPT, in one transaction with both links, so a
 * parent resumed after a crash finds the child its attempt made (resume.c
 * reads step.call, and the CLI resumes the child with its parent) instead
 * of making another.
 *
 * Who drives the child: the engine that drives the parent, while both are
 * here (s->child, and child->parent back). Otherwise (the child parked for
 * an approval and was claimed by a daemon after its decision, or the
 * parent was resumed while another process drives the child) the step
 * reads the child's state from the store every OC_CALL_POLL_MS, and a
 * child that ends with its parent parked re-queues the parent
 * (oc_run_child_ended): each side writes, then reads the other, so one of
 * them always sees the other's end. */
#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "../inputs.h"
#include "../run_outputs.h"
#include "../runctl.h"
#include "internal.h"

#define OC_CALL_POLL_MS 1000

int oc_call_is(const struct oc_srt *s)
{
    return s->def->call != NULL;
}

static char *oc_call_key(const struct oc_run *r, const struct oc_srt *s)
{
    return oc_xasprintf("call:%s:%s:%u", r->id, s->name, s->attempt);
}

/* Outputs are text, like every step's: a child's non-string output is its
 * compact JSON. */
static void oc_call_outputs(struct oc_srt *s, json_t *outputs)
{
    json_decref(s->outputs);
    s->outputs = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(outputs, k, v) {
        if (json_is_string(v)) {
            json_object_set(s->outputs, k, v);
        } else {
            char *t = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
            json_object_set_new(s->outputs, k, json_string(t ? t : ""));
            free(t);
        }
    }
}

/* The child ended in state (ORCH_RUN_*, terminal) with error and outputs:
 * so does the step, unless it already ended. */
static void oc_call_settle(struct oc_run *r, size_t idx, uint32_t state, const char *error,
                           json_t *outputs)
{
    struct oc_srt *s = &r->steps[idx];
    s->child = NULL;
    if (!oc_step_waiting(s))
        return;
    oc_call_outputs(s, outputs);
    char *why = NULL;
    if (state == ORCH_RUN_SUCCEEDED) {
        oc_step_finish(r, idx, ORCH_STEP_SUCCEEDED, ORCH_OK, NULL);
    } else if (s->call_timed_out) {
        why = oc_xasprintf("step timeout of %llds passed: child run %s stopped",
                           (long long)(s->def->timeout_ms / 1000), s->child_id);
        oc_step_finish(r, idx, ORCH_STEP_TIMED_OUT, ORCH_E_TIMEOUT, why);
    } else if (state == ORCH_RUN_CANCELLED && r->cancelled) {
        why = oc_xasprintf("%s; child run %s cancelled", oc_run_stop_why(r), s->child_id);
        oc_step_finish(r, idx, ORCH_STEP_CANCELLED, ORCH_E_CANCELLED, why);
    } else {
        why = oc_xasprintf("child run %s (workflow %s) %s%s%s", s->child_id,
                           s->def->call->name, orch_run_state_name(state),
                           error && *error ? ": " : "", error && *error ? error : "");
        oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_FAILED, why);
    }
    free(why);
    r->dirty = 1;
}

struct oc_child_peek {
    uint32_t state;
    char *error;
};

static int32_t oc_child_peek_cb(void *ud, const struct orch_run_rec *rec)
{
    struct oc_child_peek *p = ud;
    p->state = rec->state;
    p->error = rec->error ? oc_xstrdup(rec->error) : NULL;
    return 0;
}

/* The child's state from the store; a terminal one settles the step.
 * Returns 1 when it did. */
static int oc_call_read(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    struct oc_store *st = r->e->store;
    struct orch_error err;
    oc_error_init(&err);
    struct oc_child_peek p = {0};
    orch_status rc = st->vt->run_get(st->h, s->child_id, oc_child_peek_cb, &p, &err);
    int settled = 0;
    if (rc == ORCH_OK && p.state >= ORCH_RUN_SUCCEEDED) {
        json_t *outputs = NULL;
        oc_run_outputs_read(st, s->child_id, &outputs, NULL);
        oc_call_settle(r, idx, p.state, p.error, outputs);
        json_decref(outputs);
        settled = 1;
    } else if (rc != ORCH_OK && rc != ORCH_E_NOT_FOUND) {
        oc_log(ORCH_LOG_WARN, r->id, "step %s: reading its child run %s: %s", s->name,
               s->child_id, oc_error_text(&err));
    }
    oc_error_clear(&err);
    free(p.error);
    return settled;
}

/* A child found in the store, not ended: linked when this engine drives
 * it (resume.c resumed it with its parent, or a daemon claimed it), else
 * watched until its end. */
static void oc_call_attach(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    if (oc_call_read(r, idx))
        return;
    struct oc_engine *e = r->e;
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *c = e->runs[i];
        if (!c->done && !strcmp(c->id, s->child_id)) {
            oc_call_adopted(c);
            return;
        }
    }
}

void oc_call_adopted(struct oc_run *child)
{
    if (!child->parent_id || child->parent)
        return;
    struct oc_engine *e = child->e;
    for (size_t i = 0; i < e->n_runs; i++) {
        struct oc_run *p = e->runs[i];
        if (p->done || strcmp(p->id, child->parent_id))
            continue;
        for (size_t j = 0; j < p->n_steps; j++) {
            struct oc_srt *s = &p->steps[j];
            if (oc_call_is(s) && oc_step_waiting(s) && s->child_id &&
                !strcmp(s->child_id, child->id)) {
                s->child = child;
                child->parent = p;
                child->parent_step = j;
                return;
            }
        }
    }
}

void oc_call_dispatch(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    /* Reopened: resume read its attempt back waiting, and the child its
     * step.call names (else the child is found by its key). */
    if (oc_step_reopened(s) && s->child_id) {
        oc_step_wait_begin(r, idx);
        s->child_polled_mono = 0;
        oc_call_attach(r, idx);
        r->dirty = 1;
        return;
    }
    json_t *with = oc_step_with(r, idx);
    if (!with)
        return;
    if (!oc_step_wait_begin(r, idx)) {
        /* Shown running (the CLI's status area, the attempt's span, which
         * the child's trace hangs from) until the child ends. */
        struct oc_progress pr = {.type = OC_EV_STEP_STARTED, .run_id = r->id,
                                 .step_id = s->name, .state = ORCH_STEP_RUNNING,
                                 .attempt = s->attempt};
        oc_engine_progress(r, &pr);
    }
    struct orch_error err;
    oc_error_init(&err);
    json_t *typed = NULL;
    orch_status rc = oc_inputs_from_text(s->def->call, with, &typed, &err);
    json_decref(with);
    char *key = oc_call_key(r, s);
    char *child_id = NULL;
    struct oc_run *child = NULL;
    if (rc == ORCH_OK) {
        struct oc_call_link link = {r->id, s->name, s->attempt, r->dry_run};
        /* The child's trace is the parent's: its run span a child of the
         * call step's attempt span, as a command's TRACEPARENT is. */
        char tp[OC_TRACEPARENT_LEN + 1];
        int traced = oc_tracer_traceparent(r->e->tracer, r->traced ? &r->trace_parent : NULL,
                                           r->trace_verdict, r->id, s->name, s->attempt,
                                           tp) == 0;
        rc = oc_run_open(r->e, r->cfg, s->def->call->name, typed, key, traced ? tp : NULL,
                         &link, &child, &child_id, &err);
    }
    json_decref(typed);
    free(key);
    free(s->child_id);
    s->child_id = child_id;
    if (rc == ORCH_OK || rc == ORCH_E_EXISTS) {
        s->child_polled_mono = 0;
        if (rc == ORCH_OK) {
            /* step.call landed with the child (oc_run_open's transaction). */
            s->child = child;
            child->parent = r;
            child->parent_step = idx;
        } else {
            oc_error_clear(&err);
            oc_call_attach(r, idx);
        }
    } else {
        char *why = oc_xasprintf("child run of workflow %s: %s", s->def->call->name,
                                 oc_error_text(&err));
        oc_step_finish(r, idx, ORCH_STEP_FAILED, rc, why);
        free(why);
    }
    oc_error_clear(&err);
    r->dirty = 1;
}

void oc_call_child_left(struct oc_run *child, json_t *outputs)
{
    struct oc_run *p = child->parent;
    if (p) {
        child->parent = NULL;
        if (child->parked || child->lost) {
            /* Waiting for a decision: the step waits on, and the parent may
             * park too (oc_run_parkable). Lost (another process took the
             * child, or wrote its end): the step reads its end from the
             * store, never from a driver that no longer owns it. */
            p->steps[child->parent_step].child = NULL;
            p->dirty = 1;
            return;
        }
        oc_call_settle(p, child->parent_step, child->final_state, child->final_error, outputs);
        return;
    }
    if (child->parent_id && !child->parked && !child->lost)
        oc_run_child_ended(child->e->store, child->parent_id, child->id, child->final_state);
}

int oc_call_settled_meanwhile(struct oc_run *r)
{
    int any = 0;
    for (size_t i = 0; r->has_calls && i < r->n_steps; i++) {
        struct oc_srt *s = &r->steps[i];
        if (oc_call_is(s) && oc_step_waiting(s) && !s->child && s->child_id)
            any |= oc_call_read(r, i);
    }
    return any;
}

void oc_calls_tick(struct oc_run *r, int64_t now_mono, int64_t now_real)
{
    /* Each tick, for every run: a run without calls costs one test. */
    for (size_t i = 0; r->has_calls && i < r->n_steps; i++) {
        struct oc_srt *s = &r->steps[i];
        if (!oc_call_is(s) || !oc_step_waiting(s))
            continue;
        if (s->wait_deadline_ns && now_real >= s->wait_deadline_ns && !s->call_timed_out) {
            s->call_timed_out = 1;
            if (s->child) {
                oc_run_stop(s->child);
            } else {
                if (s->child_id)
                    oc_run_cancel_request(r->e->store, s->child_id, NULL);
                char *why = oc_xasprintf("step timeout of %llds passed%s%s",
                                         (long long)(s->def->timeout_ms / 1000),
                                         s->child_id ? "; cancel asked of child run " : "",
                                         s->child_id ? s->child_id : "");
                oc_step_finish(r, i, ORCH_STEP_TIMED_OUT, ORCH_E_TIMEOUT, why);
                free(why);
            }
            continue;
        }
        if (s->child || !s->child_id ||
            now_mono - s->child_polled_mono < (int64_t)OC_CALL_POLL_MS * 1000000)
            continue;
        s->child_polled_mono = now_mono;
        oc_call_read(r, i);
    }
}

int64_t oc_calls_next_poll(const struct oc_engine *e)
{
    int64_t next = 0;
    for (size_t i = 0; i < e->n_runs; i++) {
        const struct oc_run *r = e->runs[i];
        for (size_t j = 0; r->has_calls && !r->done && j < r->n_steps; j++) {
            const struct oc_srt *s = &r->steps[j];
            if (!oc_call_is(s) || !oc_step_waiting(s) || s->child || !s->child_id)
                continue;
            int64_t at = s->child_polled_mono + (int64_t)OC_CALL_POLL_MS * 1000000;
            if (!next || at < next)
                next = at;
        }
    }
    return next;
}
