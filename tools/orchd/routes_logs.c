/* A step's log: all of it as text, or (?follow=true) a live stream of
 * server-sent events that ends when the attempt does. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"
#include "http.h"
#include "util.h"

struct orchd_tail {
    struct orchd *d;
    char *run_id, *step;
    uint32_t attempt;        /* 0: the latest, found as it appears */
    int64_t after;
    struct orchd_sse sse;
    int done;
    int64_t started_mono;
};

struct orchd_attempt_find {
    const char *step;
    uint32_t attempt, state;
};

static int32_t orchd_attempt_find_cb(void *ud, const struct orch_attempt_rec *a)
{
    struct orchd_attempt_find *f = ud;
    if (strcmp(a->step_id, f->step))
        return 0;
    if (f->attempt ? a->attempt == f->attempt : a->attempt >= f->attempt) {
        f->attempt = a->attempt;
        f->state = a->state;
    }
    return 0;
}

static int32_t orchd_log_text_cb(void *ud, const struct orch_log_rec *l)
{
    oc_buf_add(ud, l->data, l->len);
    return 0;
}

static int32_t orchd_log_sse_cb(void *ud, const struct orch_log_rec *l)
{
    struct orchd_tail *t = ud;
    size_t n;
    char *text = oc_utf8_lossy(l->data, (size_t)l->len, &n);
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)l->seq);
    orchd_sse_event(&t->sse, "log", id,
                    json_pack("{s:s,s:s%,s:I}", "stream",
                              l->stream == ORCH_STREAM_STDERR ? "stderr" : "stdout", "data",
                              text, n, "seq", (json_int_t)l->seq));
    free(text);
    t->after = l->seq;
    return 0;
}

static int orchd_terminal(uint32_t s)
{
    return s != 0 && s != ORCH_STEP_RUNNING && s != ORCH_STEP_PENDING &&
           s != ORCH_STEP_WAITING;
}

/* One poll of the store: new chunks, and whether the attempt ended. */
static void orchd_tail_poll(struct orchd_tail *t)
{
    struct oc_store *st = t->d->api;
    struct orch_error err;
    oc_error_init(&err);
    struct orchd_attempt_find f = {t->step, t->attempt, 0};
    ORCHD_API_LOCK(t->d);
    st->vt->attempt_list(st->h, t->run_id, orchd_attempt_find_cb, &f, &err);
    oc_error_clear(&err);
    if (f.attempt) {
        t->attempt = f.attempt;
        st->vt->log_read(st->h, t->run_id, t->step, t->attempt, t->after, orchd_log_sse_cb, t,
                         &err);
        oc_error_clear(&err);
    }
    ORCHD_API_UNLOCK(t->d);
    if (orchd_terminal(f.state)) {
        orchd_sse_event(&t->sse, "end", NULL,
                        json_pack("{s:i,s:s}", "attempt", (int)t->attempt, "state",
                                  orch_step_state_name(f.state)));
        t->done = 1;
    }
}

static ssize_t orchd_tail_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct orchd_tail *t = cls;
    (void)pos;
    for (int rounds = 0; orchd_sse_drained(&t->sse); rounds++) {
        if (t->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        orchd_sse_restart(&t->sse);
        orchd_tail_poll(t);
        if (!orchd_sse_drained(&t->sse))
            break;
        if (rounds >= 4) {
            orchd_sse_keepalive(&t->sse);
            break;
        }
        usleep(200000);
    }
    return orchd_sse_copy(&t->sse, buf, max);
}

static void orchd_tail_free(void *cls)
{
    struct orchd_tail *t = cls;
    free(t->run_id);
    free(t->step);
    orchd_sse_free(&t->sse);
    free(t);
}

void orchd_runs_logs(struct orchd_req *rq)
{
    const char *a = orchd_query(rq, "attempt");
    const char *follow = orchd_query(rq, "follow");
    uint32_t attempt = 0;
    if (a) {
        char *end;
        long v = strtol(a, &end, 10);
        if (*end || v < 1) {
            orchd_fail(rq, 400, "invalid", "attempt must be a positive integer, not '%s'", a);
            return;
        }
        attempt = (uint32_t)v;
    }
    struct oc_store *st = rq->d->api;
    struct orch_error err;
    oc_error_init(&err);
    struct orchd_attempt_find f = {rq->params[1], attempt, 0};
    ORCHD_API_LOCK(rq->d);
    orch_status rc = st->vt->attempt_list(st->h, rq->params[0], orchd_attempt_find_cb, &f, &err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc != ORCH_OK) {
        orchd_fail_err(rq, &err);
        oc_error_clear(&err);
        return;
    }
    int streaming = follow && (!strcmp(follow, "true") || !strcmp(follow, "1"));
    if (!streaming) {
        if (!f.attempt) {
            orchd_fail(rq, 404, "not_found", "step %s of run %s has no attempt%s",
                       rq->params[1], rq->params[0], attempt ? " with that number" : " yet");
            return;
        }
        struct oc_buf out = {0};
        ORCHD_API_LOCK(rq->d);
        rc = st->vt->log_read(st->h, rq->params[0], rq->params[1], f.attempt, 0,
                              orchd_log_text_cb, &out, &err);
        ORCHD_API_UNLOCK(rq->d);
        if (rc != ORCH_OK) {
            oc_buf_free(&out);
            orchd_fail_err(rq, &err);
            oc_error_clear(&err);
            return;
        }
        rq->status = 200;
        rq->text = oc_buf_steal(&out);
        return;
    }
    struct orchd_tail *t = oc_xcalloc(1, sizeof *t);
    t->d = rq->d;
    t->run_id = oc_xstrdup(rq->params[0]);
    t->step = oc_xstrdup(rq->params[1]);
    t->attempt = attempt;
    rq->status = 200;
    rq->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, orchd_tail_read, t,
                                                   orchd_tail_free);
    MHD_add_response_header(rq->stream, "Content-Type", "text/event-stream");
}
