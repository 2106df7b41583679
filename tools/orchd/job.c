/* Backend work outside any run, for the instances API: one request in an
 * orch-exec of its own, waited for by the calling thread. A private
 * executor keeps API threads off the engine's pool (which only the engine
 * thread may touch) and a crashing plugin away from the daemon. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "exec/pool.h"
#include "exec/request.h"
#include "host.h"
#include "instances.h"
#include "util.h"

/* How long a cancelled job's plugin has to stop before its executor is
 * killed. */
#define ORCHD_JOB_CANCEL_GRACE_MS 3000
/* The executor's own deadline comes this long after the request's: the
 * backend enforces the request's timeout and says so; this only catches a
 * plugin that does not. */
#define ORCHD_JOB_DEADLINE_SLACK_MS 15000
#define ORCHD_JOB_BEAT_NS (10 * 1000000000LL)

struct orchd_job_state {
    struct orchd_job *j;
    int done;
};

static void orchd_job_stream(void *ud, uint32_t stream, const char *data, size_t len)
{
    struct orchd_job_state *s = ud;
    if (s->j->on_stream)
        s->j->on_stream(s->j->ud, stream, data, len);
}

static void orchd_job_log(void *ud, uint32_t level, const char *line)
{
    struct orchd_job_state *s = ud;
    struct oc_log_fields f = {.component = s->j->component};
    oc_log_at(level, &f, "%s", line);
}

static void orchd_job_done(void *ud, orch_status st, const char *msg, json_t *result)
{
    struct orchd_job_state *s = ud;
    s->j->status = st;
    s->j->message = msg ? oc_xstrdup(msg) : NULL;
    s->j->result = result ? json_incref(result) : NULL;
    s->done = 1;
}

static const struct oc_job_cbs orchd_job_cbs = {
    .on_stream = orchd_job_stream,
    .on_log = orchd_job_log,
    .on_done = orchd_job_done,
};

json_t *orchd_job_ctx(struct orchd *d, int64_t timeout_ms)
{
    struct oc_req_ctx c = {.timeout_ms = timeout_ms};
    return oc_req_ctx(oc_engine_site(d->eng), &c);
}

void orchd_job_run(struct orchd *d, struct orchd_job *j, json_t *req)
{
    struct orchd_job_state s = {j, 0};
    struct oc_pool *pool = oc_pool_new(oc_engine_site(d->eng)->exec_path, 1);
    int64_t deadline = j->timeout_ms > 0 ? oc_now_mono_ns() +
                                               (j->timeout_ms + ORCHD_JOB_DEADLINE_SLACK_MS) *
                                                   1000000LL
                                         : 0;
    uint64_t id;
    if (oc_pool_submit(pool, req, deadline, &orchd_job_cbs, &s, &id) != 0) {
        j->status = ORCH_E_IO;
        j->message = oc_xstrdup("cannot start an orch-exec helper");
        oc_pool_free(pool);
        return;
    }
    int cancel_sent = 0;
    int64_t next_beat = oc_now_mono_ns() + ORCHD_JOB_BEAT_NS;
    while (!s.done) {
        oc_pool_poll(pool, 200);
        if (!cancel_sent && j->cancel && atomic_load(j->cancel)) {
            oc_pool_cancel(pool, id, ORCHD_JOB_CANCEL_GRACE_MS);
            cancel_sent = 1;
        }
        if (j->on_beat && oc_now_mono_ns() >= next_beat) {
            j->on_beat(j->ud);
            next_beat = oc_now_mono_ns() + ORCHD_JOB_BEAT_NS;
        }
    }
    oc_pool_free(pool);
}

void orchd_job_clear(struct orchd_job *j)
{
    free(j->message);
    json_decref(j->result);
    j->message = NULL;
    j->result = NULL;
}
