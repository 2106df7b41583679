/* Commands run on instances through the API. An execution runs in the
 * request's thread (synchronous) or a thread of its own (asynchronous);
 * its output is kept in memory, up to a cap, for polling and for live
 * streams. Executions are not persisted: after a restart of the daemon
 * they are gone (the instance and its ledger row are not). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_json.h"
#include "exec/result.h"
#include "errors.h"
#include "host.h"
#include "instances.h"
#include "util.h"

#define ORCHD_EXEC_MAX_RUNNING 32
#define ORCHD_EXEC_KEEP 256                        /* finished ones kept */
#define ORCHD_EXEC_KEEP_NS (3600 * 1000000000LL)  /* ... for at most an hour */
#define ORCHD_EXEC_OUTPUT_CAP (4u << 20)          /* bytes of output kept */

struct orchd_exec {
    struct orchd *d;
    struct orchd_execs *xs;
    char *id, *instance, *backend, *by;
    json_t *command;          /* {"argv": [...]} or {"shell": "..."} */
    int refs;                 /* everything below: under xs->lock */
    /* Output records, in arrival order: [u8 stream][u32 len][bytes]. */
    struct oc_buf out;
    uint64_t dropped;
    int done;
    const char *state;        /* running, exited, timed_out, cancelled, error */
    int exit_code, signal;
    char *error;
    int64_t started_ns, ended_ns;
    atomic_int cancel;
};

struct orchd_execs {
    pthread_mutex_t lock;
    pthread_cond_t changed;   /* output, an end, or the running count */
    struct orchd_exec **v;
    size_t n;
    int running, stopping;
};

struct orchd_execs *orchd_execs_new(void)
{
    struct orchd_execs *xs = oc_xcalloc(1, sizeof *xs);
    pthread_mutex_init(&xs->lock, NULL);
    pthread_cond_init(&xs->changed, NULL);
    return xs;
}

static void orchd_exec_free(struct orchd_exec *x)
{
    free(x->id);
    free(x->instance);
    free(x->backend);
    free(x->by);
    free(x->error);
    json_decref(x->command);
    oc_buf_free(&x->out);
    free(x);
}

/* Under xs->lock. */
static void orchd_exec_unref_locked(struct orchd_exec *x)
{
    if (--x->refs == 0)
        orchd_exec_free(x);
}

void orchd_exec_unref(struct orchd_exec *x)
{
    struct orchd_execs *xs = x->xs;
    pthread_mutex_lock(&xs->lock);
    orchd_exec_unref_locked(x);
    pthread_mutex_unlock(&xs->lock);
}

int orchd_execs_running(struct orchd_execs *xs)
{
    pthread_mutex_lock(&xs->lock);
    int n = xs->running;
    pthread_mutex_unlock(&xs->lock);
    return n;
}

int orchd_execs_busy(struct orchd_execs *xs, const char *instance)
{
    int busy = 0;
    pthread_mutex_lock(&xs->lock);
    for (size_t i = 0; i < xs->n && !busy; i++)
        busy = !xs->v[i]->done && !strcmp(xs->v[i]->instance, instance);
    pthread_mutex_unlock(&xs->lock);
    return busy;
}

void orchd_execs_stop(struct orchd_execs *xs)
{
    if (!xs)
        return;
    pthread_mutex_lock(&xs->lock);
    xs->stopping = 1;
    for (size_t i = 0; i < xs->n; i++)
        if (!xs->v[i]->done)
            atomic_store(&xs->v[i]->cancel, 1);
    while (xs->running > 0)
        pthread_cond_wait(&xs->changed, &xs->lock);
    pthread_mutex_unlock(&xs->lock);
}

void orchd_execs_free(struct orchd_execs *xs)
{
    if (!xs)
        return;
    for (size_t i = 0; i < xs->n; i++)
        orchd_exec_unref_locked(xs->v[i]);
    free(xs->v);
    pthread_cond_destroy(&xs->changed);
    pthread_mutex_destroy(&xs->lock);
    free(xs);
}

/* Under xs->lock: forget finished executions beyond what is kept. */
static void orchd_execs_prune(struct orchd_execs *xs, int64_t now)
{
    size_t finished = 0;
    for (size_t i = xs->n; i-- > 0;)
        finished += xs->v[i]->done;
    size_t w = 0;
    for (size_t i = 0; i < xs->n; i++) {
        struct orchd_exec *x = xs->v[i];
        /* The oldest come first: they go while too many are kept. */
        if (x->done && (finished > ORCHD_EXEC_KEEP || now - x->ended_ns > ORCHD_EXEC_KEEP_NS)) {
            finished--;
            orchd_exec_unref_locked(x);
            continue;
        }
        xs->v[w++] = x;
    }
    xs->n = w;
}

struct orchd_exec *orchd_exec_new(struct orchd *d, json_t *row, json_t *command,
                                  const char *by, const char **refused)
{
    struct orchd_execs *xs = d->execs;
    pthread_mutex_lock(&xs->lock);
    if (xs->stopping || xs->running >= ORCHD_EXEC_MAX_RUNNING) {
        *refused = xs->stopping ? "the daemon is stopping" : "too many executions running";
        pthread_mutex_unlock(&xs->lock);
        return NULL;
    }
    orchd_execs_prune(xs, orchd_now(d));
    struct orchd_exec *x = oc_xcalloc(1, sizeof *x);
    x->d = d;
    x->xs = xs;
    x->id = oc_new_id("x-");
    x->instance = oc_xstrdup(json_string_value(json_object_get(row, "id")));
    x->backend = oc_xstrdup(json_string_value(json_object_get(row, "backend")));
    x->by = oc_xstrdup(by);
    x->command = json_incref(command);
    x->state = "running";
    x->started_ns = orchd_now(d);
    x->refs = 2; /* the registry and the caller */
    xs->v = oc_xrealloc(xs->v, (xs->n + 1) * sizeof *xs->v);
    xs->v[xs->n++] = x;
    xs->running++;
    pthread_mutex_unlock(&xs->lock);
    return x;
}

struct orchd_exec *orchd_exec_find(struct orchd *d, const char *instance, const char *id)
{
    struct orchd_execs *xs = d->execs;
    struct orchd_exec *found = NULL;
    pthread_mutex_lock(&xs->lock);
    for (size_t i = 0; i < xs->n && !found; i++)
        if (!strcmp(xs->v[i]->id, id) && !strcmp(xs->v[i]->instance, instance)) {
            found = xs->v[i];
            found->refs++;
        }
    pthread_mutex_unlock(&xs->lock);
    return found;
}

void orchd_exec_cancel(struct orchd_exec *x)
{
    atomic_store(&x->cancel, 1);
}

static void orchd_exec_on_stream(void *ud, uint32_t stream, const char *data, size_t len)
{
    struct orchd_exec *x = ud;
    pthread_mutex_lock(&x->xs->lock);
    if (x->out.len + len + 5 > ORCHD_EXEC_OUTPUT_CAP) {
        x->dropped += len;
    } else {
        unsigned char hdr[5] = {(unsigned char)stream, (unsigned char)len,
                                (unsigned char)(len >> 8), (unsigned char)(len >> 16),
                                (unsigned char)(len >> 24)};
        oc_buf_add(&x->out, hdr, 5);
        oc_buf_add(&x->out, data, len);
        pthread_cond_broadcast(&x->xs->changed);
    }
    pthread_mutex_unlock(&x->xs->lock);
}

static void orchd_exec_on_beat(void *ud)
{
    struct orchd_exec *x = ud;
    orchd_inst_touch(x->d, x->instance);
}

/* The record at *pos of x's output; 0 at the end. Under xs->lock. */
static int orchd_exec_record(struct orchd_exec *x, size_t *pos, uint32_t *stream,
                             const char **data, size_t *len)
{
    if (*pos + 5 > x->out.len)
        return 0;
    const unsigned char *h = (const unsigned char *)x->out.data + *pos;
    *stream = h[0];
    *len = (size_t)h[1] | (size_t)h[2] << 8 | (size_t)h[3] << 16 | (size_t)h[4] << 24;
    *data = (const char *)h + 5;
    *pos += 5 + *len;
    return 1;
}

static void orchd_exec_finish(struct orchd_exec *x, struct orchd_job *job)
{
    struct orchd_execs *xs = x->xs;
    pthread_mutex_lock(&xs->lock);
    if (job->status == ORCH_OK) {
        x->state = "exited";
        struct oc_res_exec res;
        oc_res_exec_read(job->result, &res);
        x->exit_code = res.exit_code;
        x->signal = res.signal;
    } else {
        x->state = job->status == ORCH_E_TIMEOUT     ? "timed_out"
                   : atomic_load(&x->cancel) ||
                           job->status == ORCH_E_CANCELLED ? "cancelled"
                                                           : "error";
        x->exit_code = -1;
        x->error = oc_xstrdup(job->message ? job->message : orch_strerror(job->status));
    }
    x->ended_ns = orchd_now(x->d);
    x->done = 1;
    xs->running--;
    pthread_cond_broadcast(&xs->changed);
    pthread_mutex_unlock(&xs->lock);
}

struct orchd_exec_task {
    struct orchd_exec *x;
    json_t *req;
    int64_t timeout_ms;
};

static void *orchd_exec_work(void *arg)
{
    struct orchd_exec_task *t = arg;
    struct orchd_exec *x = t->x;
    struct orchd_job job = {.component = x->backend,
                            .timeout_ms = t->timeout_ms,
                            .cancel = &x->cancel,
                            .on_stream = orchd_exec_on_stream,
                            .on_beat = orchd_exec_on_beat,
                            .ud = x};
    orchd_job_run(x->d, &job, t->req);
    /* Its last use: the idle clock starts when the command ends. */
    orchd_inst_touch(x->d, x->instance);
    orchd_exec_finish(x, &job);
    orchd_job_clear(&job);
    orchd_exec_unref(x);
    free(t);
    return NULL;
}

int orchd_exec_start(struct orchd_exec *x, json_t *req, int64_t timeout_ms, int async)
{
    struct orchd_exec_task *t = oc_xcalloc(1, sizeof *t);
    t->x = x;
    t->req = req;
    t->timeout_ms = timeout_ms;
    pthread_mutex_lock(&x->xs->lock);
    x->refs++; /* the work's */
    pthread_mutex_unlock(&x->xs->lock);
    if (!async) {
        orchd_exec_work(t);
        return 0;
    }
    pthread_t th;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&th, &attr, orchd_exec_work, t);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        struct orchd_job job = {.status = ORCH_E_IO, .message = (char *)"cannot start a thread"};
        orchd_exec_finish(x, &job);
        json_decref(req);
        free(t);
        orchd_exec_unref(x);
        return -1;
    }
    return 0;
}

/* stdout and stderr of x so far, as text. Under xs->lock. */
static void orchd_exec_output(struct orchd_exec *x, json_t *j)
{
    struct oc_buf s[2] = {{0}, {0}};
    size_t pos = 0, len;
    uint32_t stream;
    const char *data;
    while (orchd_exec_record(x, &pos, &stream, &data, &len))
        oc_buf_add(&s[stream == ORCH_STREAM_STDERR], data, len);
    static const char *const names[] = {"stdout", "stderr"};
    for (int i = 0; i < 2; i++) {
        size_t n;
        char *text = oc_utf8_lossy(s[i].data ? s[i].data : "", s[i].len, &n);
        json_object_set_new(j, names[i], json_stringn(text, n));
        free(text);
        oc_buf_free(&s[i]);
    }
    json_object_set_new(j, "output_truncated", json_boolean(x->dropped > 0));
}

json_t *orchd_exec_json(struct orchd_exec *x, int with_output)
{
    pthread_mutex_lock(&x->xs->lock);
    json_t *j = json_pack("{s:s,s:s,s:O,s:s,s:s,s:o}", "id", x->id, "instance", x->instance,
                          "command", x->command, "state", x->state, "by", x->by, "started",
                          oc_api_time(x->started_ns));
    if (x->done) {
        json_object_set_new(j, "exit_code", json_integer(x->exit_code));
        if (x->signal)
            json_object_set_new(j, "signal", json_integer(x->signal));
        if (x->error)
            json_object_set_new(j, "error", json_string(x->error));
        json_object_set_new(j, "ended", oc_api_time(x->ended_ns));
        json_object_set_new(j, "duration_ms",
                            json_integer((x->ended_ns - x->started_ns) / 1000000));
    }
    if (with_output)
        orchd_exec_output(x, j);
    pthread_mutex_unlock(&x->xs->lock);
    return j;
}

json_t *orchd_execs_of(struct orchd *d, const char *instance)
{
    struct orchd_execs *xs = d->execs;
    json_t *arr = json_array();
    pthread_mutex_lock(&xs->lock);
    struct orchd_exec **v = oc_xcalloc(xs->n + 1, sizeof *v);
    size_t n = 0;
    for (size_t i = 0; i < xs->n; i++)
        if (!strcmp(xs->v[i]->instance, instance)) {
            v[n++] = xs->v[i];
            xs->v[i]->refs++;
        }
    pthread_mutex_unlock(&xs->lock);
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, orchd_exec_json(v[i], 0));
        orchd_exec_unref(v[i]);
    }
    free(v);
    return arr;
}

char *orchd_exec_text(struct orchd_exec *x)
{
    struct oc_buf b = {0};
    pthread_mutex_lock(&x->xs->lock);
    size_t pos = 0, len;
    uint32_t stream;
    const char *data;
    while (orchd_exec_record(x, &pos, &stream, &data, &len))
        oc_buf_add(&b, data, len);
    pthread_mutex_unlock(&x->xs->lock);
    return oc_buf_steal(&b);
}

/* A live stream: server-sent events "output" {stream, data} as the command
 * writes, then "end" with the outcome. */
struct orchd_exec_tail {
    struct orchd_exec *x;
    size_t pos;
    struct orchd_sse sse;
    int done;
};

/* Under xs->lock: what arrived since t->pos, as events. */
static void orchd_exec_tail_fill(struct orchd_exec_tail *t)
{
    struct orchd_exec *x = t->x;
    size_t len;
    uint32_t stream;
    const char *data;
    while (t->sse.pending.len < 65536 && orchd_exec_record(x, &t->pos, &stream, &data, &len)) {
        size_t n;
        char *text = oc_utf8_lossy(data, len, &n);
        orchd_sse_event(&t->sse, "output", NULL,
                        json_pack("{s:s,s:s%}", "stream",
                                  stream == ORCH_STREAM_STDERR ? "stderr" : "stdout", "data",
                                  text, n));
        free(text);
    }
    if (x->done && t->pos >= x->out.len) {
        orchd_sse_event(&t->sse, "end", NULL,
                        json_pack("{s:s,s:i,s:s?}", "state", x->state, "exit_code",
                                  x->exit_code, "error", x->error));
        t->done = 1;
    }
}

static ssize_t orchd_exec_tail_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct orchd_exec_tail *t = cls;
    struct orchd_execs *xs = t->x->xs;
    (void)pos;
    if (orchd_sse_drained(&t->sse)) {
        if (t->done)
            return MHD_CONTENT_READER_END_OF_STREAM;
        orchd_sse_restart(&t->sse);
        pthread_mutex_lock(&xs->lock);
        orchd_exec_tail_fill(t);
        if (orchd_sse_drained(&t->sse)) {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until);
            until.tv_sec += 5;
            pthread_cond_timedwait(&xs->changed, &xs->lock, &until);
            orchd_exec_tail_fill(t);
        }
        pthread_mutex_unlock(&xs->lock);
        if (orchd_sse_drained(&t->sse))
            orchd_sse_keepalive(&t->sse);
    }
    return orchd_sse_copy(&t->sse, buf, max);
}

static void orchd_exec_tail_free(void *cls)
{
    struct orchd_exec_tail *t = cls;
    orchd_exec_unref(t->x);
    orchd_sse_free(&t->sse);
    free(t);
}

struct MHD_Response *orchd_exec_stream(struct orchd_exec *x)
{
    struct orchd_exec_tail *t = oc_xcalloc(1, sizeof *t);
    t->x = x; /* takes the caller's reference */
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 4096, orchd_exec_tail_read, t, orchd_exec_tail_free);
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    return r;
}
