/* The phases of one step of a run, and the only code that moves a step
 * from one phase to another (step_state.c).
 *
 * Contract:
 * - A step's phase (struct oc_srt's `phase`) is written by
 *   oc_step_transition and oc_step_load only. Other files compare it with
 *   one phase, or ask the predicates below for the groups they mean
 *   (terminal, in flight, parked, ...), never spell such a group out.
 * - oc_step_transition moves a step along one edge of the table in
 *   step_state.c and refuses every other (event, phase) pair: it logs the
 *   refusal, aborts in a debug build or under ORCH_STEP_STRICT=1, and
 *   otherwise returns -1 with the phase as it was.
 * - The phase says nothing about the store by itself: whoever makes a
 *   transition writes the attempt row it implies (ledger.c) around it.
 *   oc_step_open_row says which row the end of the step must close.
 * - Pure: no I/O but the log line of a refusal, so every edge is unit
 *   tested (tests/unit/test_step_state.c).
 */
#ifndef OC_ENGINE_STEP_STATE_H
#define OC_ENGINE_STEP_STATE_H

#include <stdint.h>

struct oc_srt;

enum oc_step_phase {
    OC_PHASE_PENDING,         /* not scheduled yet: waits for its needs, then its `if` */
    OC_PHASE_READY,           /* in the engine's ready queue */
    OC_PHASE_PARKED_INSTANCE, /* waits for its instance's create */
    OC_PHASE_PARKED_REAP,     /* waits for the reap of what an interrupted exec left */
    OC_PHASE_RUNNING,         /* its attempt's job is in flight */
    OC_PHASE_CUT,             /* cut by shutdown and recorded unknown; its job still ends */
    OC_PHASE_WAITING,         /* an approval's attempt waits for its decision */
    OC_PHASE_ASKING,          /* an unknown outcome waits for a decision (on_unknown: ask) */
    OC_PHASE_REOPENED,        /* an approval resume read back waiting: its row is still open */
    OC_PHASE_REOPENED_READY,  /* the same, in the ready queue */
    OC_PHASE_RETRY_WAIT,      /* a failed attempt is recorded; waits out its backoff */
    OC_PHASE_DIED,            /* resume read it back running: the process that ran it died */
    OC_PHASE_UNKNOWN,         /* its last attempt's outcome is unknown (resume decides) */
    OC_PHASE_EXPANDED,        /* a matrix group: its instances exist; it waits for them */
    OC_PHASE_SUCCEEDED,       /* terminal: */
    OC_PHASE_FAILED,
    OC_PHASE_SKIPPED,
    OC_PHASE_CANCELLED,
    OC_PHASE_TIMED_OUT,
    OC_PHASE_COUNT
};

enum oc_step_event {
    OC_SE_QUEUE,          /* put in the ready queue: needs done, backoff over, instance ready */
    OC_SE_PARK_INSTANCE,  /* its instance is being created */
    OC_SE_PARK_REAP,      /* its instance's leftover commands are being reaped */
    OC_SE_START,          /* an attempt is recorded running and its job submitted */
    OC_SE_WAIT,           /* an approval waits (a new attempt, or the reopened one) */
    OC_SE_RETRY,          /* the attempt is recorded failed; another one comes */
    OC_SE_CUT,            /* shutdown: the attempt is recorded unknown */
    OC_SE_DROPPED,        /* the job of a dropped run ended: its report is no outcome */
    OC_SE_MARK_UNKNOWN,   /* resume recorded a died attempt unknown */
    OC_SE_ASK,            /* resume: an unknown outcome waits for a decision */
    OC_SE_RESET,          /* resume: the step runs again (rerun, retries left, approved) */
    OC_SE_EXPAND,         /* a matrix group's instances are recorded and made */
    OC_SE_SUCCEED,        /* the ends: */
    OC_SE_FAIL,
    OC_SE_SKIP,
    OC_SE_CANCEL,
    OC_SE_TIME_OUT,
    OC_SE_COUNT
};

/* What a refusal does: -1 (the default) aborts in a debug build or under
 * ORCH_STEP_STRICT=1; 0 never aborts (a test of the refusals); 1 always. */
extern int oc_step_refusal_aborts;

/* Move s along the edge (s->phase, ev): 0, or -1 when there is none
 * (refused: logged, the phase is unchanged). */
int oc_step_transition(struct oc_srt *s, enum oc_step_event ev);
/* The phase the edge (from, ev) leads to, or OC_PHASE_COUNT when there is
 * no such edge. */
enum oc_step_phase oc_step_next(enum oc_step_phase from, enum oc_step_event ev);
/* Resume: s takes the phase of the state its newest attempt row records
 * (0 for none). Only while the run is being loaded: from PENDING or a phase
 * a load gives. 0, or -1 (refused, unchanged). */
int oc_step_load(struct oc_srt *s, uint32_t recorded);

/* The event that ends a step in ORCH_STEP_* state (SUCCEEDED, FAILED,
 * SKIPPED, CANCELLED, TIMED_OUT); OC_SE_COUNT for any other. */
enum oc_step_event oc_step_end_event(uint32_t state);

/* The one terminal predicate. */
int oc_step_phase_terminal(enum oc_step_phase p);
int oc_step_terminal(const struct oc_srt *s);
/* ORCH_STEP_* as the rest of orch sees the step (scope, run outcome). */
uint32_t oc_step_state(const struct oc_srt *s);
/* The state of the current attempt's row that ending the step closes
 * (ORCH_STEP_RUNNING or ORCH_STEP_WAITING, the compare-and-set's expected
 * value), or 0 when the end gets a row of its own. */
uint32_t oc_step_open_row(const struct oc_srt *s);
/* Its job is in flight (its report is still to come). */
int oc_step_in_flight(const struct oc_srt *s);
/* The scheduler looks at it (PENDING or REOPENED). */
int oc_step_schedulable(const struct oc_srt *s);
/* Waits for its instance (create or reap). */
int oc_step_parked(const struct oc_srt *s);
/* A waiting approval read back by resume, not dispatched again yet. */
int oc_step_reopened(const struct oc_srt *s);
/* Waits for a human (an approval or an unknown outcome). */
int oc_step_waiting(const struct oc_srt *s);
/* A matrix group waiting for its instances. */
int oc_step_expanded(const struct oc_srt *s);
/* Keeps the run busy now: queued, parked, running or in backoff. */
int oc_step_busy(const struct oc_srt *s);

const char *oc_step_phase_name(enum oc_step_phase p);
const char *oc_step_event_name(enum oc_step_event ev);

#endif
