/* The step state machine (core/engine/step_state.c): every legal edge is
 * written here a second time, independently of the table it checks, and
 * every other (phase, event) pair must be refused; then the paths the
 * engine and resume take through it, and what each phase answers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine/internal.h"

struct edge {
    enum oc_step_phase from;
    enum oc_step_event ev;
    enum oc_step_phase to;
};

#define P(x) OC_PHASE_##x
#define E(x) OC_SE_##x

/* What the engine does, by the code that does it. */
static const struct edge spec[] = {
    /* steps.c schedule, wake_retries, steps parked on an instance woken */
    {P(PENDING), E(QUEUE), P(READY)},
    {P(REOPENED), E(QUEUE), P(REOPENED_READY)},
    {P(RETRY_WAIT), E(QUEUE), P(READY)},
    {P(PARKED_INSTANCE), E(QUEUE), P(READY)},
    {P(PARKED_REAP), E(QUEUE), P(READY)},
    /* steps.c dispatch: its instance is being made, or reaped */
    {P(READY), E(PARK_INSTANCE), P(PARKED_INSTANCE)},
    {P(READY), E(PARK_REAP), P(PARKED_REAP)},
    /* a job; an approval (new, or the one resume reopened) */
    {P(READY), E(START), P(RUNNING)},
    {P(READY), E(WAIT), P(WAITING)},
    {P(REOPENED_READY), E(WAIT), P(WAITING)},
    /* steps.c done: backoff, or its instance found gone */
    {P(RUNNING), E(RETRY), P(RETRY_WAIT)},
    /* engine.c abandon; a dropped run's late report */
    {P(RUNNING), E(CUT), P(CUT)},
    {P(RUNNING), E(DROPPED), P(UNKNOWN)},
    {P(CUT), E(DROPPED), P(UNKNOWN)},
    /* resume.c */
    {P(DIED), E(MARK_UNKNOWN), P(UNKNOWN)},
    {P(UNKNOWN), E(ASK), P(ASKING)},
    {P(PENDING), E(RESET), P(PENDING)},
    {P(UNKNOWN), E(RESET), P(PENDING)},
    {P(REOPENED), E(RESET), P(PENDING)},
    {P(FAILED), E(RESET), P(PENDING)},
    {P(TIMED_OUT), E(RESET), P(PENDING)},
    {P(CANCELLED), E(RESET), P(PENDING)},
    {P(SKIPPED), E(RESET), P(PENDING)},
    /* steps.c (matrix_run.c): a matrix group expands, then ends with its
     * instances */
    {P(PENDING), E(EXPAND), P(EXPANDED)},
    {P(EXPANDED), E(SUCCEED), P(SUCCEEDED)},
    {P(EXPANDED), E(FAIL), P(FAILED)},
    {P(EXPANDED), E(CANCEL), P(CANCELLED)},
    /* ends */
    {P(RUNNING), E(SUCCEED), P(SUCCEEDED)},
    {P(WAITING), E(SUCCEED), P(SUCCEEDED)},
    {P(READY), E(SUCCEED), P(SUCCEEDED)},          /* dry-run approval */
    {P(REOPENED_READY), E(SUCCEED), P(SUCCEEDED)}, /* the same, reopened */
    {P(PENDING), E(FAIL), P(FAILED)},              /* its `if` */
    {P(REOPENED), E(FAIL), P(FAILED)},
    {P(READY), E(FAIL), P(FAILED)},                /* inputs, instance, store */
    {P(REOPENED_READY), E(FAIL), P(FAILED)},
    {P(PARKED_INSTANCE), E(FAIL), P(FAILED)},      /* create failed */
    {P(PARKED_REAP), E(FAIL), P(FAILED)},          /* reap failed */
    {P(RUNNING), E(FAIL), P(FAILED)},
    {P(WAITING), E(FAIL), P(FAILED)},              /* rejected */
    {P(UNKNOWN), E(FAIL), P(FAILED)},              /* on_unknown: fail, or rejected */
    {P(PENDING), E(SKIP), P(SKIPPED)},
    {P(REOPENED), E(SKIP), P(SKIPPED)},
    {P(PENDING), E(CANCEL), P(CANCELLED)},
    {P(REOPENED), E(CANCEL), P(CANCELLED)},
    {P(READY), E(CANCEL), P(CANCELLED)},
    {P(REOPENED_READY), E(CANCEL), P(CANCELLED)},
    {P(RETRY_WAIT), E(CANCEL), P(CANCELLED)},
    {P(RUNNING), E(CANCEL), P(CANCELLED)},
    {P(WAITING), E(CANCEL), P(CANCELLED)},
    {P(ASKING), E(CANCEL), P(CANCELLED)},
    {P(RUNNING), E(TIME_OUT), P(TIMED_OUT)},
    {P(WAITING), E(TIME_OUT), P(TIMED_OUT)},       /* approval, on_timeout: fail */
};

static const struct edge *spec_find(enum oc_step_phase from, enum oc_step_event ev)
{
    for (size_t i = 0; i < sizeof spec / sizeof spec[0]; i++)
        if (spec[i].from == from && spec[i].ev == ev)
            return &spec[i];
    return NULL;
}

static struct oc_step def = {.id = "s"};

static struct oc_srt at(enum oc_step_phase p)
{
    struct oc_srt s = {.def = &def, .inst = SIZE_MAX};
    s.phase = p;
    return s;
}

static void go(struct oc_srt *s, enum oc_step_event ev, enum oc_step_phase want)
{
    assert_int_equal(oc_step_transition(s, ev), 0);
    assert_int_equal(s->phase, want);
}

static void refused(struct oc_srt *s, enum oc_step_event ev)
{
    enum oc_step_phase was = s->phase;
    assert_int_equal(oc_step_transition(s, ev), -1);
    assert_int_equal(s->phase, was);
}

/* Every pair: the legal ones lead where the spec says, the rest refused. */
static void test_every_pair(void **state)
{
    (void)state;
    size_t legal = 0;
    for (int p = 0; p < OC_PHASE_COUNT; p++)
        for (int ev = 0; ev < OC_SE_COUNT; ev++) {
            const struct edge *want = spec_find(p, ev);
            struct oc_srt s = at(p);
            if (want) {
                legal++;
                assert_int_equal(oc_step_next(p, ev), want->to);
                go(&s, ev, want->to);
            } else {
                if (oc_step_next(p, ev) != OC_PHASE_COUNT)
                    fail_msg("%s --%s--> should be refused", oc_step_phase_name(p),
                             oc_step_event_name(ev));
                refused(&s, ev);
            }
        }
    assert_int_equal(legal, sizeof spec / sizeof spec[0]);
}

/* Some refusals named, the bugs the table is there to catch. */
static void test_illegal_named(void **state)
{
    (void)state;
    struct oc_srt s = at(P(SUCCEEDED));
    refused(&s, E(RESET));         /* a success is never run again */
    refused(&s, E(FAIL));          /* nor ended twice */
    s = at(P(PENDING));
    refused(&s, E(START));         /* only from the ready queue */
    refused(&s, E(SUCCEED));
    s = at(P(READY));
    refused(&s, E(QUEUE));         /* never queued twice */
    refused(&s, E(RETRY));
    s = at(P(RUNNING));
    refused(&s, E(QUEUE));
    refused(&s, E(START));
    refused(&s, E(SKIP));
    refused(&s, E(RESET));         /* a live attempt is not reset */
    s = at(P(ASKING));
    refused(&s, E(FAIL));          /* it ends by a decision on the next load, or a cancel */
    refused(&s, E(WAIT));
    s = at(P(PARKED_INSTANCE));
    refused(&s, E(START));         /* through the queue again first */
    refused(&s, E(CANCEL));
    s = at(P(DIED));
    refused(&s, E(RESET));         /* recorded unknown first */
    refused(&s, E(QUEUE));
    s = at(P(REOPENED));
    refused(&s, E(WAIT));          /* dispatched from the queue */
    refused(&s, E(START));
    s = at(P(CUT));
    refused(&s, E(SUCCEED));       /* its report is no outcome */
}

/* A step with a job, a retry, and its end. */
static void test_job_path(void **state)
{
    (void)state;
    struct oc_srt s = at(P(PENDING));
    assert_true(oc_step_schedulable(&s));
    assert_false(oc_step_busy(&s));
    go(&s, E(QUEUE), P(READY));
    assert_true(oc_step_busy(&s));
    assert_false(oc_step_schedulable(&s));
    assert_int_equal(oc_step_open_row(&s), 0);
    go(&s, E(START), P(RUNNING));
    assert_true(oc_step_in_flight(&s));
    assert_int_equal(oc_step_state(&s), ORCH_STEP_RUNNING);
    assert_int_equal(oc_step_open_row(&s), ORCH_STEP_RUNNING);
    go(&s, E(RETRY), P(RETRY_WAIT));
    assert_false(oc_step_in_flight(&s));
    assert_true(oc_step_busy(&s));
    assert_int_equal(oc_step_state(&s), ORCH_STEP_PENDING);
    assert_int_equal(oc_step_open_row(&s), 0); /* a cancel now gets a row of its own */
    go(&s, E(QUEUE), P(READY));
    go(&s, E(START), P(RUNNING));
    go(&s, oc_step_end_event(ORCH_STEP_TIMED_OUT), P(TIMED_OUT));
    assert_true(oc_step_terminal(&s));
    assert_int_equal(oc_step_state(&s), ORCH_STEP_TIMED_OUT);
}

/* A matrix group: expanded from pending, seen running, never queued,
 * never in flight itself; it ends as its instances did, and a resume
 * that resets it expands it again (from the record). */
static void test_matrix_group(void **state)
{
    (void)state;
    struct oc_srt s = at(P(PENDING));
    go(&s, E(EXPAND), P(EXPANDED));
    assert_true(oc_step_expanded(&s));
    assert_false(oc_step_schedulable(&s));
    assert_false(oc_step_in_flight(&s));
    assert_false(oc_step_busy(&s));
    assert_false(oc_step_terminal(&s));
    assert_int_equal(oc_step_state(&s), ORCH_STEP_RUNNING);
    assert_int_equal(oc_step_open_row(&s), 0); /* its end is a row of its own */
    refused(&s, E(QUEUE));
    refused(&s, E(START));
    refused(&s, E(EXPAND));
    refused(&s, E(SKIP));
    go(&s, E(FAIL), P(FAILED));
    go(&s, E(RESET), P(PENDING));
    go(&s, E(EXPAND), P(EXPANDED));
    go(&s, E(SUCCEED), P(SUCCEEDED));
    s = at(P(EXPANDED));
    go(&s, E(CANCEL), P(CANCELLED));
    s = at(P(READY));
    refused(&s, E(EXPAND));
}

/* Parked while its instance is made; the instance comes back, or not. */
static void test_parked(void **state)
{
    (void)state;
    struct oc_srt s = at(P(READY));
    go(&s, E(PARK_INSTANCE), P(PARKED_INSTANCE));
    assert_true(oc_step_parked(&s));
    assert_true(oc_step_busy(&s));
    assert_false(oc_step_in_flight(&s));
    assert_int_equal(oc_step_state(&s), ORCH_STEP_PENDING);
    go(&s, E(QUEUE), P(READY)); /* created */
    go(&s, E(PARK_REAP), P(PARKED_REAP));
    assert_true(oc_step_parked(&s));
    go(&s, E(QUEUE), P(READY)); /* reaped */
    go(&s, E(START), P(RUNNING));
    s = at(P(PARKED_INSTANCE));
    assert_int_equal(oc_step_open_row(&s), 0);
    go(&s, E(FAIL), P(FAILED)); /* the create failed */
    s = at(P(PARKED_REAP));
    go(&s, E(FAIL), P(FAILED)); /* the reap failed */
}

/* An approval waits, then its decision. */
static void test_approval(void **state)
{
    (void)state;
    struct oc_srt s = at(P(READY));
    go(&s, E(WAIT), P(WAITING));
    assert_true(oc_step_waiting(&s));
    assert_false(oc_step_busy(&s)); /* a run waiting only on it can park */
    assert_int_equal(oc_step_state(&s), ORCH_STEP_WAITING);
    assert_int_equal(oc_step_open_row(&s), ORCH_STEP_WAITING);
    go(&s, E(FAIL), P(FAILED)); /* rejected */
    s = at(P(WAITING));
    go(&s, E(SUCCEED), P(SUCCEEDED));
}

/* Resume: an approval read back waiting goes on with its own row. */
static void test_resume_reopened_approval(void **state)
{
    (void)state;
    struct oc_srt s = at(P(PENDING));
    assert_int_equal(oc_step_load(&s, ORCH_STEP_WAITING), 0);
    assert_int_equal(s.phase, P(REOPENED));
    assert_true(oc_step_reopened(&s));
    assert_true(oc_step_schedulable(&s));
    assert_false(oc_step_waiting(&s));
    assert_false(oc_step_busy(&s));
    assert_int_equal(oc_step_state(&s), ORCH_STEP_PENDING);
    assert_int_equal(oc_step_open_row(&s), ORCH_STEP_WAITING);
    go(&s, E(QUEUE), P(REOPENED_READY));
    assert_true(oc_step_reopened(&s));
    assert_true(oc_step_busy(&s));
    assert_int_equal(oc_step_open_row(&s), ORCH_STEP_WAITING);
    go(&s, E(WAIT), P(WAITING));
    assert_false(oc_step_reopened(&s));
    /* Cancelled before its dispatch: the end closes the waiting row. */
    s = at(P(REOPENED));
    assert_int_equal(oc_step_open_row(&s), ORCH_STEP_WAITING);
    go(&s, E(CANCEL), P(CANCELLED));
    /* A rerun starts it afresh. */
    s = at(P(REOPENED));
    go(&s, E(RESET), P(PENDING));
    assert_int_equal(oc_step_open_row(&s), 0);
}

/* Resume: an attempt whose process died, and what its policy does. */
static void test_resume_died(void **state)
{
    (void)state;
    struct oc_srt s = at(P(PENDING));
    assert_int_equal(oc_step_load(&s, ORCH_STEP_RUNNING), 0);
    assert_int_equal(s.phase, P(DIED));
    assert_int_equal(oc_step_state(&s), ORCH_STEP_RUNNING);
    assert_false(oc_step_in_flight(&s)); /* nothing of this process runs it */
    go(&s, E(MARK_UNKNOWN), P(UNKNOWN));
    assert_int_equal(oc_step_state(&s), ORCH_STEP_UNKNOWN);
    struct oc_srt ask = s, fail = s;
    go(&s, E(RESET), P(PENDING));   /* on_unknown: retry, or approved */
    go(&fail, E(FAIL), P(FAILED));  /* on_unknown: fail, or rejected */
    assert_int_equal(oc_step_open_row(&ask), 0); /* its row says unknown: a new one */
    go(&ask, E(ASK), P(ASKING));    /* on_unknown: ask, no decision yet */
    assert_true(oc_step_waiting(&ask));
    assert_int_equal(oc_step_state(&ask), ORCH_STEP_WAITING);
    assert_int_equal(oc_step_open_row(&ask), 0);
    go(&ask, E(CANCEL), P(CANCELLED));
    /* A row that already says unknown (a daemon's shutdown cut it). */
    s = at(P(PENDING));
    assert_int_equal(oc_step_load(&s, ORCH_STEP_UNKNOWN), 0);
    assert_int_equal(s.phase, P(UNKNOWN));
}

/* Resume: a failed step runs again (rerun, or retries left); a success
 * stays. */
static void test_resume_rerun(void **state)
{
    (void)state;
    static const uint32_t ends[] = {ORCH_STEP_FAILED, ORCH_STEP_TIMED_OUT,
                                    ORCH_STEP_CANCELLED, ORCH_STEP_SKIPPED};
    for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++) {
        struct oc_srt s = at(P(PENDING));
        assert_int_equal(oc_step_load(&s, ends[i]), 0);
        assert_true(oc_step_terminal(&s));
        assert_int_equal(oc_step_state(&s), ends[i]);
        go(&s, E(RESET), P(PENDING));
        go(&s, E(QUEUE), P(READY));
    }
    struct oc_srt s = at(P(PENDING));
    assert_int_equal(oc_step_load(&s, ORCH_STEP_SUCCEEDED), 0);
    refused(&s, E(RESET));
    /* No row at all: pending. */
    s = at(P(PENDING));
    assert_int_equal(oc_step_load(&s, 0), 0);
    assert_int_equal(s.phase, P(PENDING));
}

/* Rows in any order: a newer attempt's replaces an older one's; a load
 * never lands on a step this process drives. */
static void test_load_rules(void **state)
{
    (void)state;
    struct oc_srt s = at(P(PENDING));
    assert_int_equal(oc_step_load(&s, ORCH_STEP_FAILED), 0);
    assert_int_equal(oc_step_load(&s, ORCH_STEP_RUNNING), 0);
    assert_int_equal(s.phase, P(DIED));
    assert_int_equal(oc_step_load(&s, ORCH_STEP_SUCCEEDED), 0);
    assert_int_equal(s.phase, P(SUCCEEDED));
    s = at(P(RUNNING));
    assert_int_equal(oc_step_load(&s, ORCH_STEP_FAILED), -1);
    assert_int_equal(s.phase, P(RUNNING));
    s = at(P(READY));
    assert_int_equal(oc_step_load(&s, ORCH_STEP_FAILED), -1);
    s = at(P(PENDING));
    assert_int_equal(oc_step_load(&s, 42), -1);
    assert_int_equal(s.phase, P(PENDING));
}

/* Shutdown cuts an attempt; its job's late report changes nothing. */
static void test_cut(void **state)
{
    (void)state;
    struct oc_srt s = at(P(RUNNING));
    go(&s, E(CUT), P(CUT));
    assert_true(oc_step_in_flight(&s)); /* its job is still cancelled by the drop */
    assert_int_equal(oc_step_state(&s), ORCH_STEP_UNKNOWN);
    go(&s, E(DROPPED), P(UNKNOWN));
    assert_false(oc_step_in_flight(&s));
    s = at(P(RUNNING));
    go(&s, E(DROPPED), P(UNKNOWN)); /* a lost lease */
}

/* The one terminal predicate, the end events, the names. */
static void test_predicates(void **state)
{
    (void)state;
    for (int p = 0; p < OC_PHASE_COUNT; p++) {
        int term = p == P(SUCCEEDED) || p == P(FAILED) || p == P(SKIPPED) ||
                   p == P(CANCELLED) || p == P(TIMED_OUT);
        assert_int_equal(oc_step_phase_terminal(p), term);
        /* No edge leaves a terminal phase but resume's reset. */
        for (int ev = 0; term && ev < OC_SE_COUNT; ev++)
            if (ev != E(RESET))
                assert_int_equal(oc_step_next(p, ev), OC_PHASE_COUNT);
        assert_string_not_equal(oc_step_phase_name(p), "invalid");
    }
    for (int ev = 0; ev < OC_SE_COUNT; ev++)
        assert_string_not_equal(oc_step_event_name(ev), "invalid");
    assert_int_equal(oc_step_end_event(ORCH_STEP_SUCCEEDED), E(SUCCEED));
    assert_int_equal(oc_step_end_event(ORCH_STEP_FAILED), E(FAIL));
    assert_int_equal(oc_step_end_event(ORCH_STEP_SKIPPED), E(SKIP));
    assert_int_equal(oc_step_end_event(ORCH_STEP_CANCELLED), E(CANCEL));
    assert_int_equal(oc_step_end_event(ORCH_STEP_TIMED_OUT), E(TIME_OUT));
    assert_int_equal(oc_step_end_event(ORCH_STEP_RUNNING), OC_SE_COUNT);
    /* An end that is no terminal state is refused, whatever the phase. */
    struct oc_srt s = at(P(RUNNING));
    refused(&s, oc_step_end_event(ORCH_STEP_UNKNOWN));
}

/* Where refusals abort (a debug build, ORCH_STEP_STRICT=1), the process
 * stops at the bug; a legal move never does. */
static void test_refusal_aborts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        oc_step_refusal_aborts = 1;
        struct oc_srt s = at(P(RUNNING));
        if (oc_step_transition(&s, E(CANCEL)) != 0)
            _exit(2);
        oc_step_transition(&s, E(START));
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
    oc_step_refusal_aborts = 0; /* the refusals are what is tested here */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pair),
        cmocka_unit_test(test_illegal_named),
        cmocka_unit_test(test_job_path),
        cmocka_unit_test(test_matrix_group),
        cmocka_unit_test(test_parked),
        cmocka_unit_test(test_approval),
        cmocka_unit_test(test_resume_reopened_approval),
        cmocka_unit_test(test_resume_died),
        cmocka_unit_test(test_resume_rerun),
        cmocka_unit_test(test_load_rules),
        cmocka_unit_test(test_cut),
        cmocka_unit_test(test_predicates),
        cmocka_unit_test(test_refusal_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
