/* GET /v1/runs/{id}/events?follow=true: a run's ledger as a live stream
 * of server-sent events, so a page (the web UI's run page) sees a run move
 * without polling. Each event is `event` (id: its seq, data: the Event of
 * the JSON list); once the run has ended and every event before its end
 * is sent, an `end` event ({state}) closes the stream. Read from the store
 * a page at a time as the client drains it, like a step's log. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "host.h"
#include "http.h"

/* Events read from the store per poll: a reader holds at most this many. */
#define ORCHD_EVENTS_PAGE 500

struct orchd_evtail {
    struct orchd *d;
    char *run_id;
    long long after;
    size_t got; /* events in this poll's page */
    struct orchd_sse sse;
    int done;
};

static int32_t orchd_evtail_cb(void *ud, const struct orch_event_rec *e)
{
    struct orchd_evtail *t = ud;
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)e->seq);
    orchd_sse_event(&t->sse, "event", id, oc_api_event(e));
    if ((long long)e->seq > t->after)
        t->after = (long long)e->seq;
    t->got++;
    return 0;
}

static int32_t orchd_evtail_state(void *ud, const struct orch_run_rec *r)
{
    *(uint32_t *)ud = r->state;
    return 0;
}

static void orchd_evtail_poll(void *cls)
{
    struct orchd_evtail *t = cls;
    struct oc_store *st = t->d->api;
    struct orch_error err;
    oc_error_init(&err);
    uint32_t state = 0;
    t->got = 0;
    ORCHD_API_LOCK(t->d);
    /* The state first: a run seen ended has written its last event, so
     * a short page read after it holds everything. */
    orch_status rc = st->vt->run_get(st->h, t->run_id, orchd_evtail_state, &state, &err);
    if (rc == ORCH_OK)
        rc = st->vt->event_list(st->h, t->run_id, t->after, ORCHD_EVENTS_PAGE, orchd_evtail_cb,
                                t, &err);
    ORCHD_API_UNLOCK(t->d);
    if (rc != ORCH_OK) {
        /* No next poll can do better than this one: end the stream, the
         * client reconnects with Last-Event-ID or ?after. */
        struct oc_log_fields f = {.run_id = t->run_id, .component = "api"};
        oc_log_at(ORCH_LOG_ERROR, &f, "following the run's events: %s", oc_error_text(&err));
        oc_error_clear(&err);
        t->done = 1;
        return;
    }
    int ended = state == ORCH_RUN_SUCCEEDED || state == ORCH_RUN_FAILED ||
                state == ORCH_RUN_CANCELLED || state == 0; /* 0: deleted (retention) */
    if (ended && t->got < ORCHD_EVENTS_PAGE) {
        orchd_sse_event(&t->sse, "end", NULL,
                        json_pack("{s:s}", "state", state ? orch_run_state_name(state) : "deleted"));
        t->done = 1;
    }
}

static ssize_t orchd_evtail_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct orchd_evtail *t = cls;
    (void)pos;
    return orchd_sse_pump(&t->sse, &t->done, orchd_evtail_poll, t, buf, max);
}

static void orchd_evtail_free(void *cls)
{
    struct orchd_evtail *t = cls;
    free(t->run_id);
    orchd_sse_free(&t->sse);
    free(t);
}

void orchd_events_follow(struct orchd_req *rq, long long after)
{
    /* A reconnecting EventSource says where it was. */
    const char *last = orchd_header(rq, "Last-Event-ID");
    if (last && *last) {
        char *end;
        long long v = strtoll(last, &end, 10);
        if (!*end && v > after)
            after = v;
    }
    struct orchd_evtail *t = oc_xcalloc(1, sizeof *t);
    t->d = rq->d;
    t->run_id = oc_xstrdup(rq->params[0]);
    t->after = after;
    rq->status = 200;
    rq->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, orchd_evtail_read, t,
                                                   orchd_evtail_free);
    MHD_add_response_header(rq->stream, "Content-Type", "text/event-stream");
}
