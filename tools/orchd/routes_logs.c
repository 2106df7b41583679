/* A step's log: all of it as text, or (?follow=true) a live stream of
 * server-sent events that ends when the attempt does. Both read the store
 * a page at a time as the client drains the answer, so serving a log of
 * any size to any number of readers costs a page each (docs/security.md,
 * "Bounded logs"). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "http.h"
#include "logread.h"
#include "util.h"

/* Bytes of log read from the store per page: per reader, the most orchd
 * holds of a log (plus one row: the engine writes rows of about 64 KiB). */
#define ORCHD_LOG_PAGE (64u * 1024)

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

/* The plain answer: pages of raw log bytes. */
struct orchd_log_text {
    struct orchd *d;
    char *run_id, *step;
    uint32_t attempt;
    int64_t after;
    struct oc_buf page;
    size_t sent;
    int more;                /* rows may remain after this page */
};

static int32_t orchd_log_text_cb(void *ud, const struct orch_log_rec *l)
{
    struct orchd_log_text *x = ud;
    oc_buf_add(&x->page, l->data, (size_t)l->len);
    return 0;
}

static orch_status orchd_log_text_fill(struct orchd_log_text *x, struct orch_error *err)
{
    x->page.len = 0;
    x->sent = 0;
    ORCHD_API_LOCK(x->d);
    orch_status rc = oc_log_page(x->d->api, x->run_id, x->step, x->attempt, &x->after,
                                 ORCHD_LOG_PAGE, orchd_log_text_cb, x, &x->more, err);
    ORCHD_API_UNLOCK(x->d);
    return rc;
}

static ssize_t orchd_log_text_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct orchd_log_text *x = cls;
    (void)pos;
    while (x->sent == x->page.len) {
        if (!x->more)
            return MHD_CONTENT_READER_END_OF_STREAM;
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = orchd_log_text_fill(x, &err);
        if (rc != ORCH_OK) {
            /* The status line is gone: all that is left is to cut the answer short. */
            struct oc_log_fields f = {.run_id = x->run_id, .step_id = x->step,
                                      .attempt = x->attempt, .component = "api"};
            oc_log_at(ORCH_LOG_ERROR, &f, "reading the log: %s", oc_error_text(&err));
            oc_error_clear(&err);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
    }
    size_t n = x->page.len - x->sent;
    if (n > max)
        n = max;
    memcpy(buf, x->page.data + x->sent, n);
    x->sent += n;
    return (ssize_t)n;
}

static void orchd_log_text_free(void *cls)
{
    struct orchd_log_text *x = cls;
    free(x->run_id);
    free(x->step);
    oc_buf_free(&x->page);
    free(x);
}

static int32_t orchd_log_sse_cb(void *ud, const struct orch_log_rec *l)
{
    struct orchd_tail *t = ud;
    size_t n;
    char *text = oc_utf8_lossy(l->data, (size_t)l->len, &n);
    char id[32];
    snprintf(id, sizeof id, "%lld", (long long)l->seq);
    orchd_sse_event(&t->sse, "log", id,
                    json_pack("{s:s,s:i,s:s,s:s%,s:I}", "step", t->step, "attempt",
                              (int)t->attempt, "stream",
                              l->stream == ORCH_STREAM_STDERR ? "stderr" : "stdout", "data",
                              text, n, "seq", (json_int_t)l->seq));
    free(text);
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
    int more = 0;
    if (f.attempt) {
        t->attempt = f.attempt;
        if (oc_log_page(st, t->run_id, t->step, t->attempt, &t->after, ORCHD_LOG_PAGE,
                        orchd_log_sse_cb, t, &more, &err) != ORCH_OK)
            more = 1; /* not known to be all: no end yet, the next poll tries again */
        oc_error_clear(&err);
    }
    ORCHD_API_UNLOCK(t->d);
    /* The state was read first and the engine writes the whole log before
     * an attempt's final row: once a page comes back short, it is all. */
    if (!more && orchd_terminal(f.state)) {
        orchd_sse_event(&t->sse, "end", NULL,
                        json_pack("{s:i,s:s}", "attempt", (int)t->attempt, "state",
                                  orch_step_state_name(f.state)));
        t->done = 1;
    }
}

static void orchd_tail_poll_cb(void *cls)
{
    orchd_tail_poll(cls);
}

static ssize_t orchd_tail_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct orchd_tail *t = cls;
    (void)pos;
    return orchd_sse_pump(&t->sse, &t->done, orchd_tail_poll_cb, t, buf, max);
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
    int streaming;
    if (orchd_query_bool(rq, "follow", 0, &streaming))
        return;
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
    if (!streaming) {
        if (!f.attempt) {
            orchd_fail(rq, 404, "not_found", "step %s of run %s has no attempt%s",
                       rq->params[1], rq->params[0], attempt ? " with that number" : " yet");
            return;
        }
        struct orchd_log_text *x = oc_xcalloc(1, sizeof *x);
        x->d = rq->d;
        x->run_id = oc_xstrdup(rq->params[0]);
        x->step = oc_xstrdup(rq->params[1]);
        x->attempt = f.attempt;
        /* The first page before the status line, so a store error is a 5xx. */
        if ((rc = orchd_log_text_fill(x, &err)) != ORCH_OK) {
            orchd_log_text_free(x);
            orchd_fail_err(rq, &err);
            oc_error_clear(&err);
            return;
        }
        rq->status = 200;
        rq->stream = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024,
                                                       orchd_log_text_read, x,
                                                       orchd_log_text_free);
        MHD_add_response_header(rq->stream, "Content-Type", "text/plain; charset=utf-8");
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
