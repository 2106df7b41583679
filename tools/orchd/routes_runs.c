/* /v1/runs, approvals, logs and dead letters. Reads go to the API's store
 * connection; changes are store writes (core/runctl.c) the engine acts on,
 * and a wake-up so it acts at once. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_json.h"
#include "host.h"
#include "http.h"
#include "logread.h"
#include "run_ledger.h"
#include "runctl.h"
#include "util.h"

static int32_t orchd_collect_run(void *ud, const struct orch_run_rec *r)
{
    json_array_append_new(ud, oc_api_run(r));
    return 0;
}

static int32_t orchd_one_run(void *ud, const struct orch_run_rec *r)
{
    *(json_t **)ud = oc_api_run(r);
    return 0;
}

static const char *orchd_who(struct orchd_req *rq)
{
    return rq->token ? rq->token->name : "anonymous";
}

/* Inputs are JSON values, checked by their declared types in the core
 * (oc_inputs_check): a number is a JSON number, a string input also takes
 * a number or a boolean as its text. */
static json_t *orchd_inputs(struct orchd_req *rq, json_t *given)
{
    if (given && !json_is_object(given)) {
        orchd_fail(rq, 400, "invalid", "inputs must be an object of NAME: value");
        return NULL;
    }
    return given ? json_incref(given) : json_object();
}

static json_t *orchd_run_detail(struct orchd_req *rq, const char *id,
                                struct orch_error *err);

/* ?wait=DURATION on POST /v1/runs: at most this long. A handler holds its
 * connection's thread while it waits (thread per connection), and the
 * server drops a connection idle for 120 s: a longer wait is refused. */
#define ORCHD_RUN_WAIT_MAX_MS 120000

static int32_t orchd_state_cb(void *ud, const struct orch_run_rec *r)
{
    *(uint32_t *)ud = r->state;
    return 0;
}

/* Wait (reading the run's state every 100 ms) until the run ends or parks
 * for a decision, wait_ms passes or the daemon stops. 1: it ended. */
static int orchd_run_wait(struct orchd_req *rq, const char *id, int64_t wait_ms)
{
    int64_t end = oc_now_mono_ns() + wait_ms * 1000000;
    for (;;) {
        uint32_t state = 0;
        struct orch_error err;
        oc_error_init(&err);
        ORCHD_API_LOCK(rq->d);
        rq->d->api->vt->run_get(rq->d->api->h, id, orchd_state_cb, &state, &err);
        ORCHD_API_UNLOCK(rq->d);
        oc_error_clear(&err);
        if (state == ORCH_RUN_SUCCEEDED || state == ORCH_RUN_FAILED ||
            state == ORCH_RUN_CANCELLED)
            return 1;
        if (state == ORCH_RUN_WAITING || rq->d->stop || oc_now_mono_ns() >= end)
            return 0; /* parked: only a decision moves it on */
        usleep(100000);
    }
}

/* 200 with the run ended within the wait, else 202 with it as it is. */
static void orchd_reply_waited(struct orchd_req *rq, const char *id, int existing,
                               int64_t wait_ms)
{
    int ended = orchd_run_wait(rq, id, wait_ms);
    struct orch_error err;
    oc_error_init(&err);
    json_t *run = orchd_run_detail(rq, id, &err);
    if (run)
        orchd_reply(rq, ended ? 200 : 202, json_pack("{s:o,s:b,s:b}", "run", run, "existing",
                                                     existing, "finished", ended));
    else
        orchd_fail_err(rq, &err);
    oc_error_clear(&err);
}

void orchd_runs_start(struct orchd_req *rq)
{
    const char *w = orchd_query(rq, "wait");
    int64_t wait_ms = -1;
    if (w && (oc_parse_duration_ms(w, &wait_ms) != 0 || wait_ms < 0 ||
              wait_ms > ORCHD_RUN_WAIT_MAX_MS)) {
        orchd_fail(rq, 400, "invalid", "wait must be a duration of at most 120s (e.g. 30s), "
                                       "not '%s'", w);
        return;
    }
    json_t *b = orchd_body_object(rq);
    if (!b)
        return;
    const char *wf = json_string_value(json_object_get(b, "workflow"));
    const char *key = json_string_value(json_object_get(b, "idempotency_key"));
    if (!key)
        key = orchd_header(rq, "Idempotency-Key");
    static const char *const fields[] = {"workflow", "inputs", "idempotency_key", NULL};
    if (orchd_body_fields(rq, b, fields)) {
        json_decref(b);
        return;
    }
    if (!wf) {
        orchd_fail(rq, 400, "invalid", "'workflow' (a string) is required");
        json_decref(b);
        return;
    }
    json_t *in = orchd_inputs(rq, json_object_get(b, "inputs"));
    if (!in) {
        json_decref(b);
        return;
    }
    struct orch_error err;
    oc_error_init(&err);
    char *id = NULL;
    ORCHD_API_LOCK(rq->d);
    /* The caller's W3C trace context: the run becomes a child of its span. */
    orch_status rc = oc_run_enqueue(rq->d->api, rq->cfg, wf, in, key, "api",
                                    orchd_header(rq, "traceparent"), &id, &err);
    json_t *run = NULL;
    if (id) {
        struct orch_error e2;
        oc_error_init(&e2);
        rq->d->api->vt->run_get(rq->d->api->h, id, orchd_one_run, &run, &e2);
        oc_error_clear(&e2);
    }
    ORCHD_API_UNLOCK(rq->d);
    if (rc == ORCH_OK)
        orchd_wake(rq->d);
    if ((rc == ORCH_OK || rc == ORCH_E_EXISTS) && id && wait_ms >= 0) {
        json_decref(run);
        orchd_reply_waited(rq, id, rc == ORCH_E_EXISTS, wait_ms);
    } else if (rc == ORCH_OK) {
        orchd_reply(rq, 201, json_pack("{s:o,s:b}", "run", run ? run : json_null(),
                                       "existing", 0));
    } else if (rc == ORCH_E_EXISTS && id) {
        orchd_reply(rq, 200, json_pack("{s:o,s:b}", "run", run ? run : json_null(),
                                       "existing", 1));
    } else {
        json_decref(run);
        orchd_fail_err(rq, &err);
    }
    free(id);
    oc_error_clear(&err);
    json_decref(in);
    json_decref(b);
}

static uint32_t orchd_state_from_name(const char *s)
{
    for (uint32_t i = ORCH_RUN_QUEUED; i <= ORCH_RUN_CANCELLED; i++)
        if (!strcmp(s, orch_run_state_name(i)))
            return i;
    return 0;
}

static void orchd_list_by(struct orchd_req *rq, uint32_t state, const char *key)
{
    struct orch_run_filter f = {.struct_size = sizeof f, .state = state, .limit = 100};
    const char *s = orchd_query(rq, "state");
    if (s && !(f.state = orchd_state_from_name(s))) {
        orchd_fail(rq, 400, "invalid", "state must be queued, running, waiting, succeeded, "
                   "failed or cancelled, not '%s'", s);
        return;
    }
    f.workflow = orchd_query(rq, "workflow");
    const char *l = orchd_query(rq, "limit");
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (*end || v < 1 || v > 1000) {
            orchd_fail(rq, 400, "invalid", "limit must be 1..1000, not '%s'", l);
            return;
        }
        f.limit = (uint32_t)v;
    }
    json_t *runs = json_array();
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(rq->d);
    orch_status rc = rq->d->api->vt->run_list(rq->d->api->h, &f, orchd_collect_run, runs, &err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc != ORCH_OK) {
        json_decref(runs);
        orchd_fail_err(rq, &err);
    } else {
        orchd_reply(rq, 200, json_pack("{s:o}", key, runs));
    }
    oc_error_clear(&err);
}

void orchd_runs_list(struct orchd_req *rq)
{
    orchd_list_by(rq, 0, "runs");
}

void orchd_dead_letters(struct orchd_req *rq)
{
    orchd_list_by(rq, ORCH_RUN_FAILED, "dead_letters");
}

static int32_t orchd_collect_attempt(void *ud, const struct orch_attempt_rec *a)
{
    json_t *steps = ud;
    json_t *step = json_object_get(steps, a->step_id);
    if (!step) {
        step = json_pack("{s:s,s:[]}", "id", a->step_id, "attempts");
        json_object_set_new(steps, a->step_id, step);
    }
    json_array_append_new(json_object_get(step, "attempts"), oc_api_attempt(a));
    json_object_set_new(step, "state", json_string(orch_step_state_name(a->state)));
    json_object_set_new(step, "attempt_count", json_integer(a->attempt));
    return 0;
}

/* Each attempt's log_bytes_dropped (and log_limit when its log was cut),
 * from the ledger's step.log_truncated events. */
static void orchd_note_log_truncations(json_t *steps, json_t *cuts)
{
    const char *id;
    json_t *step, *a;
    size_t i;
    json_object_foreach(steps, id, step) {
        json_array_foreach(json_object_get(step, "attempts"), i, a) {
            json_t *cut = oc_log_truncation_of(
                cuts, id, (uint32_t)json_integer_value(json_object_get(a, "attempt")));
            json_object_set_new(a, "log_bytes_dropped",
                                json_integer(json_integer_value(json_object_get(cut, "dropped"))));
            if (cut)
                json_object_set(a, "log_limit", json_object_get(cut, "log_limit"));
        }
    }
}

/* The run as GET /v1/runs/{id} shows it: its steps in the workflow's
 * order (their attempts), its outputs; NULL with err set (not found, or
 * the store could not be read). */
static json_t *orchd_run_detail(struct orchd_req *rq, const char *id, struct orch_error *err)
{
    json_t *run = NULL, *steps = json_object();
    struct oc_store *st = rq->d->api;
    ORCHD_API_LOCK(rq->d);
    orch_status rc = st->vt->run_get(st->h, id, orchd_one_run, &run, err);
    if (rc == ORCH_OK && run)
        rc = st->vt->attempt_list(st->h, id, orchd_collect_attempt, steps, err);
    /* Outputs, links, its concurrency group and cut logs: one walk. */
    struct oc_run_ledger led = {0};
    if (rc == ORCH_OK && run)
        rc = oc_run_ledger_read(st, id, &led, err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc == ORCH_OK && run) {
        json_object_set(run, "outputs", led.outputs ? led.outputs : json_null());
        json_object_update(run, led.links);
        if (led.concurrency)
            json_object_set(run, "concurrency_group", led.concurrency); /* why it waits */
        orchd_note_log_truncations(steps, led.cuts);
    }
    oc_run_ledger_clear(&led);
    if (rc == ORCH_OK && !run) {
        oc_error_clear(err);
        oc_error_set(err, ORCH_E_NOT_FOUND, "no run %s", id);
        rc = ORCH_E_NOT_FOUND;
    }
    if (rc != ORCH_OK) {
        json_decref(steps);
        json_decref(run);
        return NULL;
    }
    /* In the workflow's order, steps without attempts yet as pending. */
    json_t *list = json_array();
    const struct oc_workflow *wf =
        oc_config_workflow(rq->cfg, json_string_value(json_object_get(run, "workflow")));
    for (size_t i = 0; wf && i < wf->n_steps; i++) {
        json_t *s = json_object_get(steps, wf->steps[i].id);
        if (s) {
            json_array_append(list, s);
            json_object_del(steps, wf->steps[i].id);
        } else {
            json_array_append_new(list, json_pack("{s:s,s:s,s:i,s:[]}", "id", wf->steps[i].id,
                                                  "state", "pending", "attempt_count", 0,
                                                  "attempts"));
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(steps, k, v)
        json_array_append(list, v); /* steps of an older version of the file */
    json_decref(steps);
    json_object_set_new(run, "steps", list);
    return run;
}

void orchd_runs_get(struct orchd_req *rq)
{
    struct orch_error err;
    oc_error_init(&err);
    json_t *run = orchd_run_detail(rq, rq->params[0], &err);
    if (run)
        orchd_reply(rq, 200, json_pack("{s:o}", "run", run));
    else
        orchd_fail_err(rq, &err);
    oc_error_clear(&err);
}

static void orchd_accepted(struct orchd_req *rq, orch_status rc, struct orch_error *err,
                           const char *what)
{
    if (rc == ORCH_OK) {
        orchd_wake(rq->d);
        orchd_reply(rq, 202, json_pack("{s:s,s:s}", "run_id", rq->params[0], "accepted", what));
    } else {
        orchd_fail_err(rq, err);
    }
    oc_error_clear(err);
}

void orchd_runs_cancel(struct orchd_req *rq)
{
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(rq->d);
    orch_status rc = oc_run_cancel_request(rq->d->api, rq->params[0], &err);
    ORCHD_API_UNLOCK(rq->d);
    orchd_accepted(rq, rc, &err, "cancel");
}

void orchd_runs_resume(struct orchd_req *rq)
{
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(rq->d);
    orch_status rc = oc_run_requeue(rq->d->api, rq->params[0], orchd_who(rq), &err);
    ORCHD_API_UNLOCK(rq->d);
    orchd_accepted(rq, rc, &err, "requeue");
}

void orchd_dead_letter_requeue(struct orchd_req *rq)
{
    orchd_runs_resume(rq);
}

/* DELETE /v1/dead-letters/{id}[?reason=TEXT]: done at once (no engine acts
 * on it), so 200 with the run's new state. */
void orchd_dead_letter_discard(struct orchd_req *rq)
{
    const char *reason = orchd_query(rq, "reason");
    json_t *text = reason ? json_string(reason) : NULL; /* NULL: not UTF-8 */
    json_decref(text);
    if (reason && (strlen(reason) > 1000 || !text)) {
        orchd_fail(rq, 400, "invalid", "reason must be UTF-8 text of at most 1000 bytes");
        return;
    }
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(rq->d);
    orch_status rc = oc_run_discard(rq->d->api, rq->params[0], orchd_who(rq), reason, &err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc == ORCH_OK)
        orchd_reply(rq, 200, json_pack("{s:s,s:s}", "run_id", rq->params[0], "state",
                                       "cancelled"));
    else
        orchd_fail_err(rq, &err);
    oc_error_clear(&err);
}

static void orchd_decide(struct orchd_req *rq, int approve)
{
    json_t *b = orchd_body_object(rq);
    if (!b)
        return;
    json_t *input = json_object_get(b, "input");
    json_t *comment = json_object_get(b, "comment");
    static const char *const fields[] = {"input", "comment", NULL};
    if (orchd_body_fields(rq, b, fields)) {
        json_decref(b);
        return;
    }
    if ((input && !json_is_object(input)) || (comment && !json_is_string(comment))) {
        orchd_fail(rq, 400, "invalid", "input must be an object and comment a string");
        json_decref(b);
        return;
    }
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(rq->d);
    orch_status rc = oc_run_decide(rq->d->api, rq->params[0], rq->params[1], approve, input,
                                   orchd_who(rq), json_string_value(comment), &err);
    ORCHD_API_UNLOCK(rq->d);
    orchd_accepted(rq, rc, &err, approve ? "approve" : "reject");
    json_decref(b);
}

void orchd_runs_approve(struct orchd_req *rq)
{
    orchd_decide(rq, 1);
}

void orchd_runs_reject(struct orchd_req *rq)
{
    orchd_decide(rq, 0);
}

static int32_t orchd_collect_event(void *ud, const struct orch_event_rec *e)
{
    json_array_append_new(ud, oc_api_event(e));
    return 0;
}

void orchd_runs_events(struct orchd_req *rq)
{
    const char *after = orchd_query(rq, "after");
    char *end = NULL;
    long long from = after ? strtoll(after, &end, 10) : 0;
    if (after && (!*after || *end || from < 0)) {
        orchd_fail(rq, 400, "invalid", "after must be a sequence number (a whole number >= 0)");
        return;
    }
    int follow;
    if (orchd_query_bool(rq, "follow", 0, &follow))
        return;
    json_t *evs = json_array(), *run = NULL;
    struct orch_error err;
    oc_error_init(&err);
    struct oc_store *st = rq->d->api;
    if (follow) { /* a live stream of a run that exists */
        json_decref(evs);
        ORCHD_API_LOCK(rq->d);
        orch_status rc = st->vt->run_get(st->h, rq->params[0], orchd_one_run, &run, &err);
        ORCHD_API_UNLOCK(rq->d);
        if (rc == ORCH_OK && !run)
            rc = oc_error_set(&err, ORCH_E_NOT_FOUND, "no run %s", rq->params[0]);
        json_decref(run);
        if (rc != ORCH_OK)
            orchd_fail_err(rq, &err);
        else
            orchd_events_follow(rq, from);
        oc_error_clear(&err);
        return;
    }
    ORCHD_API_LOCK(rq->d);
    orch_status rc = st->vt->event_list(st->h, rq->params[0], from, 1000, orchd_collect_event,
                                        evs, &err);
    /* A run always has events: none means no such run (an empty page past
     * the end of a real run's ledger is still 200). */
    if (rc == ORCH_OK && !json_array_size(evs)) {
        rc = st->vt->run_get(st->h, rq->params[0], orchd_one_run, &run, &err);
        if (rc == ORCH_OK && !run)
            rc = oc_error_set(&err, ORCH_E_NOT_FOUND, "no run %s", rq->params[0]);
        json_decref(run);
    }
    ORCHD_API_UNLOCK(rq->d);
    if (rc != ORCH_OK) {
        json_decref(evs);
        orchd_fail_err(rq, &err);
    } else {
        orchd_reply(rq, 200, json_pack("{s:o}", "events", evs));
    }
    oc_error_clear(&err);
}
