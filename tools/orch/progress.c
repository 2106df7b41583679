/* What `orch run` prints while a run goes: one line per step transition and
 * every line of command output prefixed by its step, or with --json one
 * JSON object per line for programs to read. On a terminal the lines are
 * coloured (unless NO_COLOR or --color=never) and a status area of what
 * runs now stays under them (status_area.c; --progress=plain turns it
 * off, and it is off when stdout is not a terminal, so CI logs read as
 * before). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "engine.h"
#include "host.h"
#include "status_area.h"
#include "util.h"

/* Output arrives in arbitrary chunks; lines are printed whole so that
 * concurrent steps' output does not interleave mid-line. A line longer than
 * this is printed in pieces of this size, so a step writing without
 * newlines costs bounded memory (the terminal still shows every byte; the
 * stored log is what log_limit bounds). */
#define CLI_LINE_MAX (64u * 1024)
struct cli_partial {
    char *step;
    uint32_t stream;
    struct oc_buf buf;
    struct cli_partial *next;
};

struct cli_progress {
    int json, colour;
    const char *server;      /* the --server the approve command names */
    struct cli_status *area; /* NULL: plain lines */
    struct cli_partial *partial;
};

/* The area the engine's log lines must step around (one run a process).
 * Other threads log too (the trace exporter's): the lock keeps the area
 * from being freed under a line that steps around it. */
static struct cli_status *cli_live_area;
static pthread_mutex_t cli_live_lock = PTHREAD_MUTEX_INITIALIZER;

static void cli_log_around_area(uint32_t level, const struct oc_log_fields *f, const char *msg)
{
    pthread_mutex_lock(&cli_live_lock);
    if (cli_live_area) {
        fflush(stdout);
        cli_status_hide(cli_live_area);
        fflush(stdout);
        oc_log_stderr(level, f, msg);
        cli_status_show(cli_live_area);
    } else {
        oc_log_stderr(level, f, msg);
    }
    pthread_mutex_unlock(&cli_live_lock);
}

/* --color: always, never, or auto: a terminal without NO_COLOR
 * (https://no-color.org: set and not empty) or TERM=dumb. */
static int cli_colour(const struct cli *c)
{
    if (c->color && strcmp(c->color, "auto"))
        return !strcmp(c->color, "always");
    const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
    return isatty(STDOUT_FILENO) && !(nc && *nc) && term && strcmp(term, "dumb");
}

struct cli_progress *cli_progress_new(const struct cli *c)
{
    struct cli_progress *p = oc_xcalloc(1, sizeof *p);
    p->json = c->json;
    p->server = c->server;
    if (p->json)
        return p;
    p->colour = cli_colour(c);
    const char *mode = c->progress ? c->progress : "auto";
    if (strcmp(mode, "plain"))
        p->area = cli_status_new(!strcmp(mode, "tty"), p->colour);
    if (p->area) {
        pthread_mutex_lock(&cli_live_lock);
        cli_live_area = p->area;
        pthread_mutex_unlock(&cli_live_lock);
        oc_log_set_sink(cli_log_around_area);
    }
    return p;
}

void cli_progress_total(struct cli_progress *p, size_t total)
{
    if (p->area)
        cli_status_total(p->area, total); /* shown with the run's first event */
}

static void cli_partial_flush(struct cli_partial *l)
{
    if (l->buf.len) {
        printf("[%s] %s\n", l->step, l->buf.data);
        oc_buf_free(&l->buf);
    }
}

void cli_progress_end(struct cli_progress *p)
{
    if (p && p->area) {
        /* The sink stays: a line logged by another thread from now on
         * goes to stderr as it would without an area. */
        pthread_mutex_lock(&cli_live_lock);
        cli_live_area = NULL;
        pthread_mutex_unlock(&cli_live_lock);
        cli_status_free(p->area); /* erases it */
        p->area = NULL;
    }
}

void cli_progress_free(struct cli_progress *p)
{
    if (!p)
        return;
    cli_progress_end(p);
    while (p->partial) {
        struct cli_partial *l = p->partial;
        p->partial = l->next;
        cli_partial_flush(l);
        free(l->step);
        free(l);
    }
    fflush(stdout);
    free(p);
}

static struct cli_partial *cli_partial_get(struct cli_progress *p,
                                           const char *step, uint32_t stream)
{
    for (struct cli_partial *l = p->partial; l; l = l->next)
        if (l->stream == stream && !strcmp(l->step, step))
            return l;
    struct cli_partial *l = oc_xcalloc(1, sizeof *l);
    l->step = oc_xstrdup(step);
    l->stream = stream;
    l->next = p->partial;
    p->partial = l;
    return l;
}

/* Bytes of ev's step and stream held back for a whole line. */
static size_t cli_partial_pending(struct cli_progress *p, const struct oc_progress *ev)
{
    for (struct cli_partial *l = p->partial; l; l = l->next)
        if (l->stream == ev->stream && !strcmp(l->step, ev->step_id))
            return l->buf.len;
    return 0;
}

static void cli_print_output(struct cli_progress *p, const struct oc_progress *ev)
{
    struct cli_partial *l = cli_partial_get(p, ev->step_id, ev->stream);
    const char *s = ev->data, *end = ev->data + ev->len;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        if (!nl) {
            oc_buf_add(&l->buf, s, (size_t)(end - s));
            if (l->buf.len >= CLI_LINE_MAX)
                cli_partial_flush(l);
            break;
        }
        oc_buf_add(&l->buf, s, (size_t)(nl - s));
        printf("[%s] %s\n", ev->step_id, l->buf.data ? l->buf.data : "");
        oc_buf_free(&l->buf);
        s = nl + 1;
    }
}

static void cli_flush_step(struct cli_progress *p, const char *step)
{
    for (struct cli_partial *l = p->partial; l; l = l->next)
        if (!strcmp(l->step, step))
            cli_partial_flush(l);
}

static const char *cli_ev_name(enum oc_progress_type t)
{
    switch (t) {
    case OC_EV_RUN_STARTED: return "run.started";
    case OC_EV_STEP_STARTED: return "step.started";
    case OC_EV_STEP_FINISHED: return "step.finished";
    case OC_EV_STEP_RETRY: return "step.retry";
    case OC_EV_STEP_OUTPUT: return "step.output";
    case OC_EV_INSTANCE: return "instance";
    case OC_EV_RUN_FINISHED: return "run.finished";
    case OC_EV_STEP_EXPANDED: return "step.expanded";
    case OC_EV_RUN_CONCURRENCY: return "run.concurrency";
    case OC_EV_STEP_WAITING: return "step.waiting";
    case OC_EV_STEP_DECIDED: return "step.decided";
    }
    return "?";
}

static void cli_progress_json(const struct oc_progress *ev)
{
    json_t *j = json_pack("{s:s,s:s?,s:s?}", "event", cli_ev_name(ev->type),
                          "run_id", ev->run_id, "step", ev->step_id);
    if (ev->type == OC_EV_STEP_FINISHED)
        json_object_set_new(j, "state", json_string(orch_step_state_name(ev->state)));
    if (ev->type == OC_EV_STEP_EXPANDED)
        json_object_set_new(j, "instances", json_integer((json_int_t)ev->count));
    if (ev->type == OC_EV_RUN_FINISHED)
        json_object_set_new(j, "state", json_string(orch_run_state_name(ev->state)));
    if (ev->decided_by)
        json_object_set_new(j, "by", json_string(ev->decided_by));
    if (ev->attempt)
        json_object_set_new(j, "attempt", json_integer(ev->attempt));
    if (ev->message)
        json_object_set_new(j, "message", json_string(ev->message));
    if (ev->type == OC_EV_STEP_OUTPUT) {
        json_object_set_new(j, "stream", json_string(ev->stream == ORCH_STREAM_STDERR
                                                         ? "stderr" : "stdout"));
        json_object_set_new(j, "data", json_stringn(ev->data, ev->len));
    }
    if (ev->type == OC_EV_INSTANCE) {
        static const char *const names[] = {
            [OC_INST_EV_CREATING] = "creating", [OC_INST_EV_CREATED] = "created",
            [OC_INST_EV_DESTROYING] = "destroying", [OC_INST_EV_DESTROYED] = "destroyed",
            [OC_INST_EV_FAILED] = "failed"};
        if (ev->state < sizeof names / sizeof *names && names[ev->state])
            json_object_set_new(j, "state", json_string(names[ev->state]));
        json_object_set_new(j, "instance", ev->instance_id ? json_string(ev->instance_id)
                                                           : json_null());
        json_object_set_new(j, "backend", ev->backend ? json_string(ev->backend) : json_null());
    }
    if (ev->type == OC_EV_RUN_FINISHED && ev->data)
        json_object_set_new(j, "outputs", json_loadb(ev->data, ev->len, 0, NULL));
    if (ev->duration_ns)
        json_object_set_new(j, "duration_ms", json_integer(ev->duration_ns / 1000000));
    cli_json_printed();
    json_dumpf(j, stdout, JSON_COMPACT);
    fputc('\n', stdout);
    json_decref(j);
}

/* s in SGR colour sgr when the output takes colour. */
static void cli_put(const struct cli_progress *p, const char *sgr, const char *s)
{
    if (p->colour)
        printf("\x1b[%sm%s\x1b[0m", sgr, s);
    else
        fputs(s, stdout);
}

/* A waiting step's line in the area: the command that approves it. */
static void cli_area_waiting(struct cli_progress *p, const struct oc_progress *ev)
{
    struct oc_buf cmd = {0};
    oc_buf_addf(&cmd, "orch %s%s%sruns approve %s %s", p->server ? "--server " : "",
                p->server ? p->server : "", p->server ? " " : "",
                ev->run_id ? ev->run_id : "RUN", ev->step_id);
    cli_status_step_waiting(p->area, ev->step_id, cmd.data);
    oc_buf_free(&cmd);
}

/* What the event changes in the status area. */
static void cli_area_event(struct cli_progress *p, const struct oc_progress *ev)
{
    struct cli_status *a = p->area;
    if (ev->type == OC_EV_RUN_STARTED)
        cli_status_run_began(a, ev->began_ns);
    else if (ev->type == OC_EV_STEP_WAITING)
        cli_area_waiting(p, ev);
    else if (ev->type == OC_EV_STEP_DECIDED)
        cli_status_step_decided(a, ev->step_id);
    else if (ev->type == OC_EV_STEP_STARTED)
        cli_status_step_started(a, ev->step_id, ev->attempt ? ev->attempt : 1, ev->began_ns);
    else if (ev->type == OC_EV_STEP_RETRY)
        cli_status_step_ended(a, ev->step_id, 'r');
    else if (ev->type == OC_EV_STEP_EXPANDED)
        cli_status_more_steps(a, ev->count);
    else if (ev->type == OC_EV_STEP_FINISHED)
        cli_status_step_ended(a, ev->step_id,
                              ev->state == ORCH_STEP_SUCCEEDED ? 's'
                              : ev->state == ORCH_STEP_SKIPPED ? 'k'
                              : ev->state == ORCH_STEP_WAITING ? 'w'
                                                               : 'f');
}

static void cli_progress_line(struct cli_progress *p, const struct oc_progress *ev);

void cli_print_outputs_of(json_t *doc)
{
    /* One a line: NAME = value as JSON text, so a value with a newline or
     * a control character stays on its line and cannot move the cursor. */
    const char *name;
    json_t *v;
    json_object_foreach(json_object_get(doc, "outputs"), name, v) {
        char *text = json_dumps(v, JSON_ENCODE_ANY);
        printf("output    %s = %s\n", name, text ? text : "");
        free(text);
    }
}

/* The run's outputs, as orch runs show prints them. */
static void cli_print_outputs(const char *json, size_t len)
{
    json_t *o = json ? json_loadb(json, len, 0, NULL) : NULL;
    json_t *doc = json_pack("{s:o?}", "outputs", o);
    cli_print_outputs_of(doc);
    json_decref(doc);
}

void cli_progress_cb(void *ud, const struct oc_progress *ev)
{
    struct cli_progress *p = ud;
    if (p->json) {
        cli_progress_json(ev);
        fflush(stdout);
        return;
    }
    if (!p->area) {
        cli_progress_line(p, ev);
        return;
    }
    /* Output without a whole line prints nothing: nothing to step around. */
    if (ev->type == OC_EV_STEP_OUTPUT && !memchr(ev->data, '\n', ev->len) &&
        cli_partial_pending(p, ev) + ev->len < CLI_LINE_MAX) {
        cli_print_output(p, ev);
        return;
    }
    cli_status_hide(p->area);
    cli_area_event(p, ev);
    cli_progress_line(p, ev);
    /* A chatty step's lines do not redraw the area for each chunk: the
     * ticker shows it again within a quarter of a second. */
    cli_status_show_at(p->area, ev->type == OC_EV_STEP_OUTPUT ? 0 : 1);
}

static void cli_progress_line(struct cli_progress *p, const struct oc_progress *ev)
{
    char dur[32] = "";
    if (ev->duration_ns)
        cli_fmt_duration(dur, sizeof dur, ev->duration_ns);
    switch (ev->type) {
    case OC_EV_RUN_STARTED:
        printf("run %s %s\n", ev->run_id, ev->message ? ev->message : "started");
        break;
    case OC_EV_STEP_STARTED:
        if (ev->attempt > 1)
            printf("-> %s started (attempt %u)\n", ev->step_id, ev->attempt);
        else
            printf("-> %s started\n", ev->step_id);
        break;
    case OC_EV_STEP_OUTPUT:
        cli_print_output(p, ev);
        break;
    case OC_EV_STEP_RETRY:
        cli_flush_step(p, ev->step_id);
        cli_put(p, "33", "->");
        printf(" %s attempt %u failed, will retry: %s\n", ev->step_id,
               ev->attempt, ev->message ? ev->message : "");
        break;
    case OC_EV_STEP_FINISHED:
        cli_flush_step(p, ev->step_id);
        if (ev->state == ORCH_STEP_SUCCEEDED)
            cli_put(p, "32", "ok");
        else if (ev->state == ORCH_STEP_SKIPPED)
            cli_put(p, "2", "--");
        else
            cli_put(p, "31", "!!");
        printf(" %s %s%s%s%s%s\n", ev->step_id, orch_step_state_name(ev->state),
               *dur ? " in " : "", dur, ev->message ? ": " : "",
               ev->message ? ev->message : "");
        break;
    case OC_EV_STEP_EXPANDED:
        printf("=> %s: %zu instance%s\n", ev->step_id, ev->count, ev->count == 1 ? "" : "s");
        break;
    case OC_EV_STEP_WAITING:
        printf("-> %s %s\n", ev->step_id, ev->message ? ev->message : "waiting");
        break;
    case OC_EV_STEP_DECIDED:
        printf("   %s %s by %s\n", ev->step_id, ev->message ? ev->message : "decided",
               ev->decided_by ? ev->decided_by : "someone");
        break;
    case OC_EV_RUN_CONCURRENCY: /* "waiting for concurrency group K (limit N)", ... */
        printf("%s\n", ev->message ? ev->message : "");
        break;
    case OC_EV_INSTANCE:
        if (ev->state == OC_INST_EV_CREATING) /* the rest: in the ledger and traces */
            printf("   %s\n", ev->message ? ev->message : "creating instance");
        break;
    case OC_EV_RUN_FINISHED:
        printf("run %s %s%s%s%s%s\n", ev->run_id, orch_run_state_name(ev->state),
               *dur ? " in " : "", dur, ev->message ? ": " : "",
               ev->message ? ev->message : "");
        cli_print_outputs(ev->data, ev->len);
        break;
    }
    fflush(stdout);
}
