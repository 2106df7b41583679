/* From engine events to spans: which spans are open, their parents, their
 * status. The engine thread alone calls in here. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "../engine.h"
#include "../util.h"
#include "internal.h"
#include "trace.h"

/* An instance's create and destroy are spans of their own under the run's
 * (their step_id holds the instance id); an approval's wait is a child of
 * its attempt's span. */
enum oc_open_kind {
    OC_OPEN_RUN, OC_OPEN_STEP, OC_OPEN_ATTEMPT, OC_OPEN_BACKOFF,
    OC_OPEN_INST_CREATE, OC_OPEN_INST_DESTROY, OC_OPEN_WAIT
};

struct oc_open {
    enum oc_open_kind kind;
    char *run_id, *step_id;
    uint32_t attempt;
    int sampled;             /* the run's verdict on its trace, taken when it opened */
    struct oc_span *span;
};

struct oc_tracer {
    struct oc_exporter *x;
    struct oc_open *open;
    size_t n_open, cap_open;
};

static void oc_sha(const char *const *parts, size_t n, uint8_t out[SHA256_DIGEST_SIZE])
{
    struct sha256_ctx c;
    sha256_init(&c);
    for (size_t i = 0; i < n; i++)
        sha256_update(&c, strlen(parts[i]) + 1, (const uint8_t *)parts[i]); /* NUL separates */
    sha256_digest(&c, SHA256_DIGEST_SIZE, out);
}

void oc_trace_id_of(const char *run_id, uint8_t out[16])
{
    const char *p[] = {"orch-trace", run_id};
    uint8_t d[SHA256_DIGEST_SIZE];
    oc_sha(p, 2, d);
    memcpy(out, d, 16);
}

void oc_span_id_of(const char *kind, const char *run_id, const char *step_id,
                   uint32_t attempt, uint8_t out[8])
{
    char num[16];
    snprintf(num, sizeof num, "%u", attempt);
    const char *p[] = {kind, run_id, step_id ? step_id : "", num};
    uint8_t d[SHA256_DIGEST_SIZE];
    oc_sha(p, 4, d);
    memcpy(out, d, 8);
}

/* The trace a run's spans belong to: its caller's, else its own. */
static void oc_run_trace_id(const char *run_id, const struct oc_trace_parent *parent,
                            uint8_t out[16])
{
    if (parent)
        memcpy(out, parent->trace_id, 16);
    else
        oc_trace_id_of(run_id, out);
}

/* The run's recorded verdict, else this process's sampler's. */
static int oc_keeps(const struct oc_tracer *t, int verdict, const uint8_t tid[16],
                    const struct oc_trace_parent *parent)
{
    return verdict >= 0 ? verdict : oc_sampler_keeps(oc_exporter_sampler(t->x), tid, parent);
}

int oc_tracer_verdict(const struct oc_tracer *t, const char *run_id,
                      const struct oc_trace_parent *parent)
{
    if (!t)
        return -1;
    uint8_t tid[16];
    oc_run_trace_id(run_id, parent, tid);
    return oc_keeps(t, -1, tid, parent);
}

int oc_tracer_traceparent(const struct oc_tracer *t, const struct oc_trace_parent *parent,
                          int verdict, const char *run_id, const char *step_id,
                          uint32_t attempt, char out[OC_TRACEPARENT_LEN + 1])
{
    if (!t) {
        if (!parent)
            return -1;
        oc_traceparent_format(parent->trace_id, parent->span_id, parent->sampled, out);
        return 0;
    }
    uint8_t tid[16], sid[8];
    oc_run_trace_id(run_id, parent, tid);
    oc_span_id_of("attempt", run_id, step_id, attempt, sid);
    oc_traceparent_format(tid, sid, oc_keeps(t, verdict, tid, parent), out);
    return 0;
}

struct oc_tracer *oc_tracer_new(const struct oc_telemetry *file, const char *service)
{
    struct oc_trace_settings set;
    if (!oc_trace_settings_read(file, &set))
        return NULL;
    struct oc_exporter *x = oc_exporter_new(&set, service);
    if (!x)
        return NULL;
    struct oc_tracer *t = oc_xcalloc(1, sizeof *t);
    t->x = x;
    return t;
}

uint64_t oc_tracer_dropped(const struct oc_tracer *t)
{
    return t ? oc_exporter_dropped(t->x) : 0;
}

/* Spans of one attempt (the back-off's is the step's: one at a time). */
static int oc_kind_per_attempt(enum oc_open_kind k)
{
    return k == OC_OPEN_ATTEMPT || k == OC_OPEN_WAIT;
}

static struct oc_open *oc_find(struct oc_tracer *t, enum oc_open_kind k, const char *run,
                               const char *step, uint32_t attempt)
{
    for (size_t i = 0; i < t->n_open; i++) {
        struct oc_open *o = &t->open[i];
        if (o->kind == k && !strcmp(o->run_id, run) &&
            (k == OC_OPEN_RUN || !strcmp(o->step_id, step)) &&
            (!oc_kind_per_attempt(k) || o->attempt == attempt))
            return o;
    }
    return NULL;
}

static const char *const oc_kind_names[] = {"run",     "step",            "attempt",
                                            "backoff", "instance-create", "instance-destroy",
                                            "wait"};

static int oc_kind_is_inst(enum oc_open_kind k)
{
    return k == OC_OPEN_INST_CREATE || k == OC_OPEN_INST_DESTROY;
}

/* A span of p's run (and step, but for the run span) opened in the run's
 * trace: the run span is the child of the run's caller (when it has one),
 * the others of the run's and the step's spans. */
static struct oc_open *oc_open_span(struct oc_tracer *t, enum oc_open_kind k,
                                    const struct oc_progress *p, uint32_t attempt,
                                    const char *name, uint64_t now)
{
    const char *run = p->run_id;
    const char *step = k == OC_OPEN_RUN ? NULL : oc_kind_is_inst(k) ? p->instance_id : p->step_id;
    const struct oc_trace_parent *parent = p->trace_parent;
    if (t->n_open == t->cap_open) {
        t->cap_open = t->cap_open ? 2 * t->cap_open : 16;
        t->open = oc_xrealloc(t->open, t->cap_open * sizeof *t->open);
    }
    struct oc_open *o = &t->open[t->n_open++];
    struct oc_span *s = oc_xcalloc(1, sizeof *s);
    oc_run_trace_id(run, parent, s->trace_id);
    int numbered = oc_kind_per_attempt(k) || k == OC_OPEN_BACKOFF;
    *o = (struct oc_open){k, oc_xstrdup(run), step ? oc_xstrdup(step) : NULL, attempt,
                          oc_keeps(t, p->trace_verdict, s->trace_id, parent), NULL};
    oc_span_id_of(oc_kind_names[k], run, step, numbered ? attempt : 0, s->span_id);
    if (k == OC_OPEN_RUN && parent) {
        s->has_parent = 1;
        memcpy(s->parent_id, parent->span_id, 8);
    } else if (k != OC_OPEN_RUN) {
        s->has_parent = 1;
        if (k == OC_OPEN_STEP || oc_kind_is_inst(k))
            oc_span_id_of("run", run, NULL, 0, s->parent_id);
        else if (k == OC_OPEN_WAIT)
            oc_span_id_of("attempt", run, step, attempt, s->parent_id);
        else
            oc_span_id_of("step", run, step, 0, s->parent_id);
    }
    s->name = oc_xstrdup(name);
    s->start_ns = now;
    oc_span_attr_str(s, "orch.run.id", run);
    if (oc_kind_is_inst(k)) {
        oc_span_attr_str(s, "orch.instance.id", step);
        if (p->backend)
            oc_span_attr_str(s, "orch.backend", p->backend);
    } else if (step) {
        oc_span_attr_str(s, "orch.step.id", step);
    }
    if (numbered)
        oc_span_attr_int(s, "orch.attempt", attempt);
    o->span = s;
    return o;
}

/* End the span, hand it to the exporter (when its trace is sampled), and
 * forget it. */
static void oc_close(struct oc_tracer *t, struct oc_open *o, uint64_t now, int status,
                     const char *message)
{
    struct oc_span *s = o->span;
    s->end_ns = now > s->start_ns ? now : s->start_ns;
    s->status = status;
    if (message && status == 2)
        s->status_message = oc_xstrdup(message);
    if (o->sampled)
        oc_exporter_add(t->x, s);
    else
        oc_span_free(s);
    free(o->run_id);
    free(o->step_id);
    *o = t->open[--t->n_open];
}

/* What a parked run keeps open: its waiting steps' spans. */
static int oc_kind_waits(enum oc_open_kind k)
{
    return k == OC_OPEN_STEP || k == OC_OPEN_ATTEMPT || k == OC_OPEN_WAIT;
}

static int oc_step_status(uint32_t state)
{
    return state == ORCH_STEP_SUCCEEDED || state == ORCH_STEP_SKIPPED ? 1
           : state == ORCH_STEP_WAITING                              ? 0
                                                                     : 2;
}

/* A time from the ledger (0: unknown), never after now. */
static uint64_t oc_at(int64_t ns, uint64_t now)
{
    return ns > 0 && (uint64_t)ns < now ? (uint64_t)ns : now;
}

/* The step's span and its attempt's, opened at `at` unless open: a step
 * another process began (a run parked or killed, then resumed) gets them
 * here, starting when it began. */
static struct oc_open *oc_step_spans(struct oc_tracer *t, const struct oc_progress *p,
                                     uint64_t at)
{
    if (!oc_find(t, OC_OPEN_STEP, p->run_id, p->step_id, 0))
        oc_open_span(t, OC_OPEN_STEP, p, 0, p->step_id, at);
    struct oc_open *o = oc_find(t, OC_OPEN_ATTEMPT, p->run_id, p->step_id, p->attempt);
    if (!o && p->attempt) {
        char name[160];
        snprintf(name, sizeof name, "%s attempt %u", p->step_id, p->attempt);
        o = oc_open_span(t, OC_OPEN_ATTEMPT, p, p->attempt, name, at);
    }
    return o;
}

/* "STEP waiting for approval", under its attempt's span. */
static struct oc_open *oc_wait_span(struct oc_tracer *t, const struct oc_progress *p,
                                    uint64_t at)
{
    oc_step_spans(t, p, at);
    struct oc_open *o = oc_find(t, OC_OPEN_WAIT, p->run_id, p->step_id, p->attempt);
    if (!o) {
        char name[160];
        snprintf(name, sizeof name, "%s waiting for approval", p->step_id);
        o = oc_open_span(t, OC_OPEN_WAIT, p, p->attempt, name, at);
    }
    return o;
}

static void oc_on_decided(struct oc_tracer *t, const struct oc_progress *p, uint64_t now)
{
    struct oc_open *o = oc_wait_span(t, p, oc_at(p->began_ns, now));
    int ok = p->state == ORCH_STEP_SUCCEEDED;
    oc_span_attr_str(o->span, "orch.approval.decision",
                     ok ? "approved" : p->state == ORCH_STEP_FAILED ? "rejected" : "timed_out");
    if (p->decided_by)
        oc_span_attr_str(o->span, "orch.approval.by", p->decided_by);
    oc_close(t, o, oc_at(p->decided_ns, now), ok ? 1 : 2, p->message);
}

/* The attempt's command's exit status, by the semantic conventions' name. */
static void oc_attempt_exit(struct oc_open *o, const struct oc_progress *p)
{
    if (p->exit_code >= 0)
        oc_span_attr_int(o->span, "process.exit.code", p->exit_code);
}

static void oc_on_step(struct oc_tracer *t, const struct oc_progress *p, uint64_t now)
{
    struct oc_open *o;
    switch (p->type) {
    case OC_EV_STEP_STARTED:
        if ((o = oc_find(t, OC_OPEN_BACKOFF, p->run_id, p->step_id, 0)))
            oc_close(t, o, now, 0, NULL);
        oc_step_spans(t, p, now);
        break;
    case OC_EV_STEP_WAITING:
        oc_wait_span(t, p, oc_at(p->began_ns, now));
        break;
    case OC_EV_STEP_DECIDED:
        oc_on_decided(t, p, now);
        break;
    case OC_EV_STEP_RETRY:
        if ((o = oc_find(t, OC_OPEN_ATTEMPT, p->run_id, p->step_id, p->attempt))) {
            oc_attempt_exit(o, p);
            oc_close(t, o, now, 2, p->message);
        }
        {
            char name[160];
            snprintf(name, sizeof name, "%s back-off after attempt %u", p->step_id, p->attempt);
            oc_open_span(t, OC_OPEN_BACKOFF, p, p->attempt, name, now);
        }
        break;
    case OC_EV_STEP_FINISHED: {
        int st = oc_step_status(p->state);
        /* Begun elsewhere (a resumed run's waiting step): its spans now,
         * from when it began. */
        if (p->began_ns && !oc_find(t, OC_OPEN_ATTEMPT, p->run_id, p->step_id, p->attempt))
            oc_step_spans(t, p, oc_at(p->began_ns, now));
        /* A wait that ended without a decision (a cancel). */
        if ((o = oc_find(t, OC_OPEN_WAIT, p->run_id, p->step_id, p->attempt)))
            oc_close(t, o, now, st, p->message);
        if ((o = oc_find(t, OC_OPEN_ATTEMPT, p->run_id, p->step_id, p->attempt))) {
            oc_span_attr_str(o->span, "orch.step.state", orch_step_state_name(p->state));
            oc_attempt_exit(o, p);
            oc_close(t, o, now, st, p->message);
        }
        if ((o = oc_find(t, OC_OPEN_BACKOFF, p->run_id, p->step_id, 0)))
            oc_close(t, o, now, 0, NULL);
        o = oc_find(t, OC_OPEN_STEP, p->run_id, p->step_id, 0);
        if (!o) /* skipped, or decided without an attempt */
            o = oc_open_span(t, OC_OPEN_STEP, p, 0, p->step_id, now);
        oc_span_attr_str(o->span, "orch.step.state", orch_step_state_name(p->state));
        if (p->attempt)
            oc_span_attr_int(o->span, "orch.attempts", p->attempt);
        oc_close(t, o, now, st, p->message);
        break;
    }
    default:
        break;
    }
}

/* "create instance I" from the ask to its answer, "destroy instance I"
 * likewise; a failure ends the open one with its error. */
static void oc_on_instance(struct oc_tracer *t, const struct oc_progress *p, uint64_t now)
{
    if (!p->instance_id)
        return;
    struct oc_open *o;
    char name[160];
    switch (p->state) {
    case OC_INST_EV_CREATING:
    case OC_INST_EV_DESTROYING: {
        int create = p->state == OC_INST_EV_CREATING;
        enum oc_open_kind k = create ? OC_OPEN_INST_CREATE : OC_OPEN_INST_DESTROY;
        if (oc_find(t, k, p->run_id, p->instance_id, 0))
            break;
        snprintf(name, sizeof name, "%s instance %s", create ? "create" : "destroy",
                 p->instance_id);
        oc_open_span(t, k, p, 0, name, now);
        break;
    }
    case OC_INST_EV_CREATED:
        if ((o = oc_find(t, OC_OPEN_INST_CREATE, p->run_id, p->instance_id, 0)))
            oc_close(t, o, now, 1, NULL);
        break;
    case OC_INST_EV_DESTROYED:
        if ((o = oc_find(t, OC_OPEN_INST_DESTROY, p->run_id, p->instance_id, 0)))
            oc_close(t, o, now, 1, NULL);
        break;
    case OC_INST_EV_FAILED:
        if ((o = oc_find(t, OC_OPEN_INST_DESTROY, p->run_id, p->instance_id, 0)) ||
            (o = oc_find(t, OC_OPEN_INST_CREATE, p->run_id, p->instance_id, 0)))
            oc_close(t, o, now, 2, p->message);
        break;
    default:
        break;
    }
}

void oc_tracer_progress(struct oc_tracer *t, const struct oc_progress *p)
{
    if (!t || !p->run_id)
        return;
    uint64_t now = (uint64_t)oc_now_real_ns();
    struct oc_open *run = oc_find(t, OC_OPEN_RUN, p->run_id, NULL, 0);
    if (!run && p->type != OC_EV_STEP_OUTPUT) {
        char name[160];
        snprintf(name, sizeof name, "run %s", p->workflow ? p->workflow : "?");
        /* A resumed run's span starts with the run, in whichever process. */
        run = oc_open_span(t, OC_OPEN_RUN, p, 0, name,
                           p->type == OC_EV_RUN_STARTED ? oc_at(p->began_ns, now) : now);
        if (p->workflow)
            oc_span_attr_str(run->span, "orch.workflow", p->workflow);
    }
    switch (p->type) {
    case OC_EV_RUN_STARTED:
        if (p->message) /* "resumed": the same trace, carried on */
            oc_span_event_add(run->span, now, p->message);
        break;
    case OC_EV_INSTANCE:
        oc_on_instance(t, p, now);
        break;
    case OC_EV_RUN_FINISHED:
        /* Whatever is still open ends with the run; a parked run's waits
         * (and their steps and attempts) go on. */
        for (size_t i = t->n_open; i-- > 0;)
            if (t->open[i].kind != OC_OPEN_RUN && !strcmp(t->open[i].run_id, p->run_id) &&
                !(p->state == ORCH_RUN_WAITING && oc_kind_waits(t->open[i].kind)))
                oc_close(t, &t->open[i], now, 0, NULL);
        /* A run parked for approval has not ended: its span stays open
         * (in orchd, until the run goes on; the process that resumes it
         * otherwise ends it, under the same id and from the same start). */
        if (p->state == ORCH_RUN_WAITING || p->state == 0) /* 0: lost to another driver */
            break;
        run = oc_find(t, OC_OPEN_RUN, p->run_id, NULL, 0);
        oc_span_attr_str(run->span, "orch.run.state", orch_run_state_name(p->state));
        oc_close(t, run, now, p->state == ORCH_RUN_SUCCEEDED ? 1 : 2, p->message);
        break;
    default:
        oc_on_step(t, p, now);
        break;
    }
}

void oc_tracer_free(struct oc_tracer *t)
{
    if (!t)
        return;
    /* Spans of runs this process did not finish stay open: whoever resumes
     * the run ends them under the same ids. */
    for (size_t i = 0; i < t->n_open; i++) {
        oc_span_free(t->open[i].span);
        free(t->open[i].run_id);
        free(t->open[i].step_id);
    }
    free(t->open);
    oc_exporter_free(t->x);
    free(t);
}
