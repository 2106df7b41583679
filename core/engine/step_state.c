/* The step state machine: its edges, written once as a table, and the
 * predicates the engine asks instead of reading a step's fields. See
 * step_state.h for the contract. */
#include "step_state.h"

#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "internal.h"

struct oc_step_edge {
    enum oc_step_phase from;
    enum oc_step_event ev;
    enum oc_step_phase to;
};

/* Every legal move. Anything not here is refused. */
static const struct oc_step_edge oc_step_edges[] = {
    /* Scheduling: into the ready queue, and parked for an instance. */
    {OC_PHASE_PENDING, OC_SE_QUEUE, OC_PHASE_READY},
    {OC_PHASE_REOPENED, OC_SE_QUEUE, OC_PHASE_REOPENED_READY},
    {OC_PHASE_RETRY_WAIT, OC_SE_QUEUE, OC_PHASE_READY},
    {OC_PHASE_PARKED_INSTANCE, OC_SE_QUEUE, OC_PHASE_READY},
    {OC_PHASE_PARKED_REAP, OC_SE_QUEUE, OC_PHASE_READY},
    {OC_PHASE_READY, OC_SE_PARK_INSTANCE, OC_PHASE_PARKED_INSTANCE},
    {OC_PHASE_READY, OC_SE_PARK_REAP, OC_PHASE_PARKED_REAP},
    /* An attempt: a job, or an approval's wait. */
    {OC_PHASE_READY, OC_SE_START, OC_PHASE_RUNNING},
    {OC_PHASE_READY, OC_SE_WAIT, OC_PHASE_WAITING},
    {OC_PHASE_REOPENED_READY, OC_SE_WAIT, OC_PHASE_WAITING},
    {OC_PHASE_RUNNING, OC_SE_RETRY, OC_PHASE_RETRY_WAIT},
    {OC_PHASE_RUNNING, OC_SE_CUT, OC_PHASE_CUT},
    {OC_PHASE_RUNNING, OC_SE_DROPPED, OC_PHASE_UNKNOWN},
    {OC_PHASE_CUT, OC_SE_DROPPED, OC_PHASE_UNKNOWN},
    /* Resume's decisions on what it read back. */
    {OC_PHASE_DIED, OC_SE_MARK_UNKNOWN, OC_PHASE_UNKNOWN},
    {OC_PHASE_UNKNOWN, OC_SE_ASK, OC_PHASE_ASKING},
    {OC_PHASE_PENDING, OC_SE_RESET, OC_PHASE_PENDING},
    {OC_PHASE_UNKNOWN, OC_SE_RESET, OC_PHASE_PENDING},
    {OC_PHASE_REOPENED, OC_SE_RESET, OC_PHASE_PENDING},
    {OC_PHASE_FAILED, OC_SE_RESET, OC_PHASE_PENDING},
    {OC_PHASE_TIMED_OUT, OC_SE_RESET, OC_PHASE_PENDING},
    {OC_PHASE_CANCELLED, OC_SE_RESET, OC_PHASE_PENDING},
    {OC_PHASE_SKIPPED, OC_SE_RESET, OC_PHASE_PENDING},
    /* A matrix group: expanded once its needs are done (or again, from
     * the record, after a resume reset it); it ends with its instances. */
    {OC_PHASE_PENDING, OC_SE_EXPAND, OC_PHASE_EXPANDED},
    {OC_PHASE_EXPANDED, OC_SE_SUCCEED, OC_PHASE_SUCCEEDED},
    {OC_PHASE_EXPANDED, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_EXPANDED, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    /* Succeeded: a job, an approval, or an approval planned by a dry run. */
    {OC_PHASE_RUNNING, OC_SE_SUCCEED, OC_PHASE_SUCCEEDED},
    {OC_PHASE_WAITING, OC_SE_SUCCEED, OC_PHASE_SUCCEEDED},
    {OC_PHASE_READY, OC_SE_SUCCEED, OC_PHASE_SUCCEEDED},
    {OC_PHASE_REOPENED_READY, OC_SE_SUCCEED, OC_PHASE_SUCCEEDED},
    /* Failed: its `if`, its inputs, its instance, its job, a rejection,
     * an unknown outcome resume fails. */
    {OC_PHASE_PENDING, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_REOPENED, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_READY, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_REOPENED_READY, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_PARKED_INSTANCE, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_PARKED_REAP, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_RUNNING, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_WAITING, OC_SE_FAIL, OC_PHASE_FAILED},
    {OC_PHASE_UNKNOWN, OC_SE_FAIL, OC_PHASE_FAILED},
    /* Skipped: its `if` is false, or a need did not succeed. */
    {OC_PHASE_PENDING, OC_SE_SKIP, OC_PHASE_SKIPPED},
    {OC_PHASE_REOPENED, OC_SE_SKIP, OC_PHASE_SKIPPED},
    /* Cancelled: wherever the run's cancel finds it. */
    {OC_PHASE_PENDING, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    {OC_PHASE_REOPENED, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    {OC_PHASE_READY, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    {OC_PHASE_REOPENED_READY, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    {OC_PHASE_RETRY_WAIT, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    {OC_PHASE_RUNNING, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    {OC_PHASE_WAITING, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    {OC_PHASE_ASKING, OC_SE_CANCEL, OC_PHASE_CANCELLED},
    /* Timed out: a job, or an approval under on_timeout: fail. */
    {OC_PHASE_RUNNING, OC_SE_TIME_OUT, OC_PHASE_TIMED_OUT},
    {OC_PHASE_WAITING, OC_SE_TIME_OUT, OC_PHASE_TIMED_OUT},
};

enum oc_step_phase oc_step_next(enum oc_step_phase from, enum oc_step_event ev)
{
    for (size_t i = 0; i < sizeof oc_step_edges / sizeof oc_step_edges[0]; i++)
        if (oc_step_edges[i].from == from && oc_step_edges[i].ev == ev)
            return oc_step_edges[i].to;
    return OC_PHASE_COUNT;
}

int oc_step_refusal_aborts = -1;

/* A refusal is an engine bug: in a debug build, or with ORCH_STEP_STRICT=1
 * (a test run that wants every such bug to fail loudly), the process
 * stops there, at the bug, instead of driving a run whose step is in a
 * phase nobody expects. */
static void oc_step_refused(void)
{
    int stop = oc_step_refusal_aborts;
    if (stop < 0) {
#ifdef NDEBUG
        const char *v = getenv("ORCH_STEP_STRICT");
        stop = v && !strcmp(v, "1");
#else
        stop = 1;
#endif
    }
    if (stop)
        abort();
}

static const char *oc_step_id(const struct oc_srt *s)
{
    return s->name ? s->name : s->def && s->def->id ? s->def->id : "?";
}

int oc_step_transition(struct oc_srt *s, enum oc_step_event ev)
{
    enum oc_step_phase to = oc_step_next(s->phase, ev);
    if (to == OC_PHASE_COUNT) {
        /* A bug in the engine, never a user's doing: said loudly, and the
         * step stays where it was (or the process stops, see above). */
        oc_log(ORCH_LOG_ERROR, NULL, "step %s: refused transition %s from %s (engine bug)",
               oc_step_id(s), oc_step_event_name(ev), oc_step_phase_name(s->phase));
        oc_step_refused();
        return -1;
    }
    s->phase = to;
    return 0;
}

/* The phase of a step whose newest attempt row says state. */
static enum oc_step_phase oc_step_phase_of_record(uint32_t state)
{
    switch (state) {
    case 0:
    case ORCH_STEP_PENDING: return OC_PHASE_PENDING;
    case ORCH_STEP_RUNNING: return OC_PHASE_DIED;
    case ORCH_STEP_WAITING: return OC_PHASE_REOPENED;
    case ORCH_STEP_UNKNOWN: return OC_PHASE_UNKNOWN;
    case ORCH_STEP_SUCCEEDED: return OC_PHASE_SUCCEEDED;
    case ORCH_STEP_FAILED: return OC_PHASE_FAILED;
    case ORCH_STEP_SKIPPED: return OC_PHASE_SKIPPED;
    case ORCH_STEP_CANCELLED: return OC_PHASE_CANCELLED;
    case ORCH_STEP_TIMED_OUT: return OC_PHASE_TIMED_OUT;
    default: return OC_PHASE_COUNT;
    }
}

int oc_step_load(struct oc_srt *s, uint32_t recorded)
{
    enum oc_step_phase to = oc_step_phase_of_record(recorded);
    /* Rows come in any order, a newer attempt's replacing an older one's:
     * a load goes from what a load gives, never from a phase of a step
     * this process drives. */
    int from_ok = s->phase == OC_PHASE_PENDING || s->phase == OC_PHASE_DIED ||
                  s->phase == OC_PHASE_REOPENED || s->phase == OC_PHASE_UNKNOWN ||
                  oc_step_phase_terminal(s->phase);
    if (to == OC_PHASE_COUNT || !from_ok) {
        oc_log(ORCH_LOG_ERROR, NULL, "step %s: refused load of state %u from %s",
               oc_step_id(s), recorded, oc_step_phase_name(s->phase));
        oc_step_refused();
        return -1;
    }
    s->phase = to;
    return 0;
}

enum oc_step_event oc_step_end_event(uint32_t state)
{
    switch (state) {
    case ORCH_STEP_SUCCEEDED: return OC_SE_SUCCEED;
    case ORCH_STEP_FAILED: return OC_SE_FAIL;
    case ORCH_STEP_SKIPPED: return OC_SE_SKIP;
    case ORCH_STEP_CANCELLED: return OC_SE_CANCEL;
    case ORCH_STEP_TIMED_OUT: return OC_SE_TIME_OUT;
    default: return OC_SE_COUNT;
    }
}

int oc_step_phase_terminal(enum oc_step_phase p)
{
    return p == OC_PHASE_SUCCEEDED || p == OC_PHASE_FAILED || p == OC_PHASE_SKIPPED ||
           p == OC_PHASE_CANCELLED || p == OC_PHASE_TIMED_OUT;
}

int oc_step_terminal(const struct oc_srt *s)
{
    return oc_step_phase_terminal(s->phase);
}

uint32_t oc_step_state(const struct oc_srt *s)
{
    switch (s->phase) {
    case OC_PHASE_RUNNING:
    case OC_PHASE_EXPANDED: /* its instances run: so does it, as one sees it */
    case OC_PHASE_DIED: return ORCH_STEP_RUNNING;
    case OC_PHASE_CUT:
    case OC_PHASE_UNKNOWN: return ORCH_STEP_UNKNOWN;
    case OC_PHASE_WAITING:
    case OC_PHASE_ASKING: return ORCH_STEP_WAITING;
    case OC_PHASE_SUCCEEDED: return ORCH_STEP_SUCCEEDED;
    case OC_PHASE_FAILED: return ORCH_STEP_FAILED;
    case OC_PHASE_SKIPPED: return ORCH_STEP_SKIPPED;
    case OC_PHASE_CANCELLED: return ORCH_STEP_CANCELLED;
    case OC_PHASE_TIMED_OUT: return ORCH_STEP_TIMED_OUT;
    default: return ORCH_STEP_PENDING; /* queued, parked, reopened, in backoff */
    }
}

uint32_t oc_step_open_row(const struct oc_srt *s)
{
    switch (s->phase) {
    case OC_PHASE_RUNNING: return ORCH_STEP_RUNNING;
    /* A reopened approval still has its `waiting` row: an end before its
     * dispatch looks for a decision closes that row, or it would say
     * waiting forever beside a new one. */
    case OC_PHASE_WAITING:
    case OC_PHASE_REOPENED:
    case OC_PHASE_REOPENED_READY: return ORCH_STEP_WAITING;
    /* ASKING: its row says unknown, and the decision's end is a new row. */
    default: return 0;
    }
}

int oc_step_in_flight(const struct oc_srt *s)
{
    return s->phase == OC_PHASE_RUNNING || s->phase == OC_PHASE_CUT;
}

int oc_step_schedulable(const struct oc_srt *s)
{
    return s->phase == OC_PHASE_PENDING || s->phase == OC_PHASE_REOPENED;
}

int oc_step_parked(const struct oc_srt *s)
{
    return s->phase == OC_PHASE_PARKED_INSTANCE || s->phase == OC_PHASE_PARKED_REAP;
}

int oc_step_reopened(const struct oc_srt *s)
{
    return s->phase == OC_PHASE_REOPENED || s->phase == OC_PHASE_REOPENED_READY;
}

int oc_step_waiting(const struct oc_srt *s)
{
    return s->phase == OC_PHASE_WAITING || s->phase == OC_PHASE_ASKING;
}

int oc_step_expanded(const struct oc_srt *s)
{
    return s->phase == OC_PHASE_EXPANDED;
}

int oc_step_busy(const struct oc_srt *s)
{
    return s->phase == OC_PHASE_READY || s->phase == OC_PHASE_REOPENED_READY ||
           oc_step_parked(s) || oc_step_in_flight(s) || s->phase == OC_PHASE_RETRY_WAIT;
}

const char *oc_step_phase_name(enum oc_step_phase p)
{
    static const char *const names[OC_PHASE_COUNT] = {
        [OC_PHASE_PENDING] = "pending",
        [OC_PHASE_READY] = "ready",
        [OC_PHASE_PARKED_INSTANCE] = "parked-for-instance",
        [OC_PHASE_PARKED_REAP] = "parked-for-reap",
        [OC_PHASE_RUNNING] = "running",
        [OC_PHASE_CUT] = "cut",
        [OC_PHASE_WAITING] = "waiting",
        [OC_PHASE_ASKING] = "asking",
        [OC_PHASE_REOPENED] = "reopened",
        [OC_PHASE_REOPENED_READY] = "reopened-ready",
        [OC_PHASE_RETRY_WAIT] = "retry-wait",
        [OC_PHASE_DIED] = "died",
        [OC_PHASE_UNKNOWN] = "unknown",
        [OC_PHASE_EXPANDED] = "expanded",
        [OC_PHASE_SUCCEEDED] = "succeeded",
        [OC_PHASE_FAILED] = "failed",
        [OC_PHASE_SKIPPED] = "skipped",
        [OC_PHASE_CANCELLED] = "cancelled",
        [OC_PHASE_TIMED_OUT] = "timed-out",
    };
    return (unsigned)p < OC_PHASE_COUNT ? names[p] : "invalid";
}

const char *oc_step_event_name(enum oc_step_event ev)
{
    static const char *const names[OC_SE_COUNT] = {
        [OC_SE_QUEUE] = "queue",
        [OC_SE_PARK_INSTANCE] = "park-instance",
        [OC_SE_PARK_REAP] = "park-reap",
        [OC_SE_START] = "start",
        [OC_SE_WAIT] = "wait",
        [OC_SE_RETRY] = "retry",
        [OC_SE_CUT] = "cut",
        [OC_SE_DROPPED] = "dropped",
        [OC_SE_MARK_UNKNOWN] = "mark-unknown",
        [OC_SE_ASK] = "ask",
        [OC_SE_RESET] = "reset",
        [OC_SE_EXPAND] = "expand",
        [OC_SE_SUCCEED] = "succeed",
        [OC_SE_FAIL] = "fail",
        [OC_SE_SKIP] = "skip",
        [OC_SE_CANCEL] = "cancel",
        [OC_SE_TIME_OUT] = "time-out",
    };
    return (unsigned)ev < OC_SE_COUNT ? names[ev] : "invalid";
}
