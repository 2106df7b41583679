/* A step's end: its terminal transition (step_state.c), the attempt row
 * that records it, its event and its progress report; and the start of
 * an engine-decided step's waiting attempt. Below the files
 * that end steps (steps.c, approval.c, resume.c), so none of them calls
 * another to do it. Also the step's inputs, which fail the step when they
 * cannot be made. */
#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "internal.h"

int oc_step_wait_begin(struct oc_run *r, size_t idx)
{
    struct oc_srt *s = &r->steps[idx];
    /* Reopened: resume read its attempt back waiting; that row goes on. */
    int reopened = oc_step_reopened(s);
    oc_step_transition(s, OC_SE_WAIT);
    if (!reopened) {
        s->attempt++;
        s->tries++;
        s->started_ns = oc_now_real_ns();
        s->start_mono = oc_now_mono_ns();
        s->exit_code = -1;
        oc_ledger_attempt(r, s, ORCH_STEP_WAITING, 0);
    }
    s->wait_deadline_ns = s->def->timeout_ms ? s->started_ns + s->def->timeout_ms * 1000000 : 0;
    return reopened;
}

static const char *oc_step_event_type(uint32_t state)
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
    /* Asked before the move: the row the step's attempt has open (running,
     * or waiting, a reopened approval's included) is closed; a step that
     * never started, or whose row says unknown, gets a row of its own. */
    uint32_t open = oc_step_open_row(s);
    if (oc_step_transition(s, oc_step_end_event(state)) != 0)
        return;
    s->status = st;
    free(s->error);
    s->error = NULL;
    if (msg) {
        size_t n;
        s->error = oc_redact(r->red, msg, strlen(msg), &n);
    }
    if (open) {
        oc_ledger_end_logs(r, s);
        oc_ledger_attempt(r, s, state, open);
    } else {
        /* Never started (skipped, cancelled, no instance): record a row so
         * the run's history shows what happened to every step. */
        s->attempt++;
        s->started_ns = oc_now_real_ns();
        oc_ledger_attempt(r, s, state, 0);
    }
    json_t *ev = json_pack("{s:s,s:i,s:s?}", "step", s->name, "attempt",
                           (json_int_t)s->attempt, "error", s->error);
    oc_ledger_event(r, oc_step_event_type(state), ev);
    r->n_terminal++;
    r->dirty = 1;
    struct oc_progress p = {
        .type = OC_EV_STEP_FINISHED, .run_id = r->id, .step_id = s->name,
        .state = state, .attempt = s->attempt, .message = s->error,
        .duration_ns = s->start_mono ? oc_now_mono_ns() - s->start_mono : 0,
        .began_ns = open ? s->started_ns : 0, .exit_code = s->exit_code,
    };
    oc_engine_progress(r, &p);
}

int oc_step_input_or_fail(struct oc_run *r, size_t idx, struct oc_step_input *in)
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
    if (oc_step_input_or_fail(r, idx, &in) != 0)
        return NULL;
    json_t *with = json_incref(in.with);
    oc_step_input_free(&in);
    return with;
}
