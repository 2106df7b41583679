/* A run followed from its ledger: `orch runs logs --follow RUN` (the
 * store's ledger) and `orch --server URL runs start W --follow` / `runs
 * logs --follow RUN` (the API's GET /v1/runs/{id}/events?after=SEQ). Each
 * ledger event becomes the progress event orch run prints (progress.c), so
 * the lines, the status area on a terminal, colour and --json are those of
 * orch run, drawn by the same code. An attempt's log is printed as it
 * grows (the store's) or when the attempt ends (the API's), above its
 * "ok"/"!!" line. Everything taken from the
 * ledger or a log is cleaned of control bytes first: a step's output or id
 * cannot move the cursor or recolour the terminal. */
#define _GNU_SOURCE
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "util.h"

#define CLI_FOLLOW_POLL_MS 200

static volatile sig_atomic_t cli_follow_stop;

static void cli_follow_on_sigint(int sig)
{
    (void)sig;
    cli_follow_stop = 1;
}

/* s with every control byte but newline and tab as '?'; malloc'd. */
static char *cli_clean(const char *s, size_t len, int keep_newlines)
{
    char *out = oc_xmalloc(len + 1);
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        int ok = ch >= 0x20 && ch != 0x7f;
        if (keep_newlines && (ch == '\n' || ch == '\t'))
            ok = 1;
        out[i] = ok ? s[i] : '?';
    }
    out[len] = 0;
    return out;
}

static char *cli_clean_str(const char *s)
{
    return s ? cli_clean(s, strlen(s), 0) : NULL;
}

struct cli_follow {
    const struct cli_follow_src *src;
    struct cli_progress *p;
    const char *run_id;
    json_t *began;           /* step -> its attempt's start (ns, real time) */
    json_t *tails;           /* running step -> [attempt, log seq printed to] */
    char final;              /* 's', 'f', 0 while the run goes on */
    int raw;                 /* --json: the bytes as they are (JSON escapes them) */
};

static int64_t cli_ev_time(json_t *e)
{
    int64_t ns = 0;
    const char *ts = json_string_value(json_object_get(e, "ts"));
    return ts && oc_parse_utc_time(ts, &ns) == 0 ? ns : 0;
}

struct cli_log_feed {
    struct cli_follow *f;
    const char *step;
};

static void cli_follow_log_chunk(void *ud, uint32_t stream, const char *data, size_t len)
{
    struct cli_log_feed *k = ud;
    char *clean = k->f->raw ? NULL : cli_clean(data, len, 1);
    struct oc_progress ev = {.type = OC_EV_STEP_OUTPUT, .run_id = k->f->run_id,
                             .step_id = k->step, .stream = stream,
                             .data = clean ? clean : data, .len = len};
    cli_progress_cb(k->f->p, &ev);
    free(clean);
}

/* What the attempt logged since last time; end: it ended (its tail is
 * dropped). */
static void cli_follow_log(struct cli_follow *f, const char *step, uint32_t attempt, int end)
{
    json_t *t = json_object_get(f->tails, step);
    int64_t seq = 0;
    if (t && (uint32_t)json_integer_value(json_array_get(t, 0)) == attempt)
        seq = json_integer_value(json_array_get(t, 1));
    struct cli_log_feed k = {f, step};
    f->src->log(f->src->ud, step, attempt, &seq, cli_follow_log_chunk, &k);
    if (end)
        json_object_del(f->tails, step);
    else
        json_object_set_new(f->tails, step, json_pack("[I,I]", (json_int_t)attempt, seq));
}

/* The running attempts' new lines, when the source can read them live. */
static void cli_follow_tails(struct cli_follow *f)
{
    if (!f->src->live)
        return;
    const char *step;
    json_t *t;
    void *tmp;
    json_object_foreach_safe(f->tails, tmp, step, t) {
        cli_follow_log(f, step, (uint32_t)json_integer_value(json_array_get(t, 0)), 0);
    }
}

static uint32_t cli_step_state_of(const char *type)
{
    static const struct {
        const char *type;
        uint32_t state;
    } map[] = {{"step.succeeded", ORCH_STEP_SUCCEEDED}, {"step.failed", ORCH_STEP_FAILED},
               {"step.skipped", ORCH_STEP_SKIPPED},     {"step.cancelled", ORCH_STEP_CANCELLED},
               {"step.timed_out", ORCH_STEP_TIMED_OUT}};
    for (size_t i = 0; i < sizeof map / sizeof *map; i++)
        if (!strcmp(type, map[i].type))
            return map[i].state;
    return 0;
}

static uint32_t cli_run_state_of(const char *name)
{
    for (uint32_t i = ORCH_RUN_QUEUED; i <= ORCH_RUN_CANCELLED; i++)
        if (name && !strcmp(name, orch_run_state_name(i)))
            return i;
    return ORCH_RUN_FAILED;
}

/* A step's event: its start remembered, its end with the log first. */
static void cli_follow_step(struct cli_follow *f, const char *type, json_t *d,
                            struct oc_progress *ev, int64_t ts)
{
    uint32_t state = cli_step_state_of(type);
    json_t *began = json_object_get(f->began, ev->step_id);
    if (!strcmp(type, "step.started")) {
        ev->type = OC_EV_STEP_STARTED;
        ev->began_ns = ts;
        json_object_set_new(f->began, ev->step_id, json_integer(ts));
        json_object_set_new(f->tails, ev->step_id, json_pack("[I,I]", (json_int_t)ev->attempt,
                                                             (json_int_t)0));
    } else if (!strcmp(type, "step.retrying") || state) {
        if (state != ORCH_STEP_SKIPPED)
            cli_follow_log(f, ev->step_id, ev->attempt, 1);
        ev->type = state ? OC_EV_STEP_FINISHED : OC_EV_STEP_RETRY;
        ev->state = state;
        if (began && ts)
            ev->duration_ns = ts - json_integer_value(began);
    } else if (!strcmp(type, "approval.waiting")) {
        ev->type = OC_EV_STEP_WAITING;
        ev->message = "waiting for approval";
    } else if (!strcmp(type, "approval.decided")) {
        ev->type = OC_EV_STEP_DECIDED;
        ev->message = json_is_true(json_object_get(d, "approved")) ? "approved" : "rejected";
    } else if (!strcmp(type, "step.expanded")) {
        ev->type = OC_EV_STEP_EXPANDED;
        ev->count = (size_t)json_integer_value(json_object_get(d, "count"));
    } else {
        return;
    }
    cli_progress_cb(f->p, ev);
}

/* The run's own events; 0 when the event is not one printed. */
static int cli_follow_run(struct cli_follow *f, const char *type, json_t *d,
                          struct oc_progress *ev, int64_t ts)
{
    if (!strcmp(type, "run.started") || !strcmp(type, "run.resumed")) {
        ev->type = OC_EV_RUN_STARTED;
        ev->message = type[4] == 's' ? "started" : "resumed";
        if (type[4] == 's')
            ev->began_ns = ts;
    } else if (!strcmp(type, "run.finished")) {
        ev->type = OC_EV_RUN_FINISHED;
        ev->state = cli_run_state_of(json_string_value(json_object_get(d, "state")));
        f->final = ev->state == ORCH_RUN_SUCCEEDED ? 's' : 'f';
        json_t *began = json_object_get(f->began, "");
        if (began && ts)
            ev->duration_ns = ts - json_integer_value(began);
    } else {
        return 0;
    }
    if (ev->began_ns)
        json_object_set_new(f->began, "", json_integer(ev->began_ns)); /* "" is the run */
    return 1;
}

static void cli_follow_event(struct cli_follow *f, json_t *e)
{
    const char *type = json_string_value(json_object_get(e, "type"));
    json_t *d = json_object_get(e, "data");
    if (!type)
        return;
    char *step = cli_clean_str(json_string_value(json_object_get(d, "step")));
    const char *err = json_string_value(json_object_get(d, "error"));
    char *msg = cli_clean_str(err);
    struct oc_progress ev = {.run_id = f->run_id, .step_id = step, .message = msg,
                             .attempt = (uint32_t)json_integer_value(json_object_get(d, "attempt")),
                             .decided_by = json_string_value(json_object_get(d, "by")),
                             .exit_code = -1};
    char *by = cli_clean_str(ev.decided_by);
    ev.decided_by = by && *by ? by : NULL;
    int64_t ts = cli_ev_time(e);
    if (!strncmp(type, "run.", 4)) {
        char *outputs = NULL;
        if (!strcmp(type, "run.finished") && json_object_get(d, "outputs")) {
            outputs = json_dumps(json_object_get(d, "outputs"), JSON_COMPACT);
            ev.data = outputs; /* printed as JSON text: escapes stay escaped */
            ev.len = outputs ? strlen(outputs) : 0;
        }
        if (cli_follow_run(f, type, d, &ev, ts))
            cli_progress_cb(f->p, &ev);
        free(outputs);
    } else if (step) {
        cli_follow_step(f, type, d, &ev, ts);
    }
    free(step);
    free(msg);
    free(by);
}

static void cli_follow_nap(void)
{
    struct timespec ts = {0, CLI_FOLLOW_POLL_MS * 1000000L};
    nanosleep(&ts, NULL);
}

int cli_follow(struct cli *c, const char *run_id, size_t total,
               const struct cli_follow_src *src)
{
    struct cli_follow f = {src, cli_progress_new(c), run_id, json_object(), json_object(), 0,
                           c->json};
    cli_progress_total(f.p, total);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cli_follow_on_sigint;
    sigemptyset(&sa.sa_mask);
    cli_follow_stop = 0;
    sigaction(SIGINT, &sa, &old);
    int64_t after = 0;
    int rc = CLI_EXIT_OK;
    while (!f.final && !cli_follow_stop) {
        json_t *evs = src->events(src->ud, after, &rc);
        if (!evs)
            break; /* said */
        size_t i;
        json_t *e;
        json_array_foreach(evs, i, e) {
            after = json_integer_value(json_object_get(e, "seq"));
            cli_follow_event(&f, e);
        }
        if (!f.final)
            cli_follow_tails(&f);
        if (!json_array_size(evs) && !f.final)
            cli_follow_nap();
        json_decref(evs);
    }
    sigaction(SIGINT, &old, NULL);
    cli_progress_free(f.p);
    json_decref(f.began);
    json_decref(f.tails);
    if (cli_follow_stop)
        return 128 + SIGINT;
    if (rc != CLI_EXIT_OK)
        return rc;
    return f.final == 's' ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
