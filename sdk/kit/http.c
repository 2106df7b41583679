/* The kit's HTTP client (orch/kit_http.h): one libcurl transfer at a time
 * in a multi handle, so the wait can watch the ctx's cancel fd and end at
 * the deadline. */
#define _GNU_SOURCE
#include <orch/kit_http.h>

#include <string.h>

int pk_http_init(struct pk_http *c, const struct orch_host *h)
{
    memset(c, 0, sizeof *c);
    c->h = h;
    c->easy = curl_easy_init();
    c->multi = c->easy ? curl_multi_init() : NULL;
    if (!c->multi) {
        pk_http_cleanup(c);
        return -1;
    }
    return 0;
}

void pk_http_cleanup(struct pk_http *c)
{
    if (c->multi)
        curl_multi_cleanup(c->multi);
    if (c->easy)
        curl_easy_cleanup(c->easy);
    c->multi = NULL;
    c->easy = NULL;
}

void pk_http_resp_free(struct pk_http_resp *rs)
{
    if (rs->body.h)
        pk_buf_free(&rs->body);
    rs->cut = 0;
}

/* Where a body goes: the caller's callback for a 2xx answer, else the
 * response (an error answer is read for its message). Decided at the first
 * bytes, when the status is known. */
struct pk_sink {
    CURL *easy;
    const struct pk_http_req *rq;
    struct pk_http_resp *rs;
    int decided, to_caller;
};

static size_t pk_sink_write(char *p, size_t size, size_t n, void *ud)
{
    struct pk_sink *k = ud;
    size_t len = size * n;
    if (!k->decided) {
        long code = 0;
        curl_easy_getinfo(k->easy, CURLINFO_RESPONSE_CODE, &code);
        k->to_caller = k->rq->write_cb && code >= 200 && code < 300;
        k->decided = 1;
    }
    if (k->to_caller) {
        size_t took = k->rq->write_cb(p, size, n, k->rq->write_ud);
        if (took != len)
            k->rs->write_stopped = 1;
        return took;
    }
    if (k->rq->body_max && k->rs->body.len + len > k->rq->body_max) {
        k->rs->cut = 1;
        return len; /* a body that large: its start says enough */
    }
    return pk_add_mem(&k->rs->body, p, len) == 0 ? len : 0;
}

static void pk_http_method(CURL *e, const struct pk_http_req *rq)
{
    int post = !strcmp(rq->method, "POST");
    if (rq->read_cb) {
        curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, rq->read_cb);
        curl_easy_setopt(e, CURLOPT_READDATA, rq->read_ud);
        curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->upload_size);
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (rq->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, (const char *)rq->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        if (!post)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (!strcmp(rq->method, "HEAD")) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "GET")) {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, rq->method);
    }
}

static void pk_http_setopts(CURL *e, const struct pk_http_req *rq, struct pk_http_resp *rs,
                            struct pk_sink *sink)
{
    curl_easy_reset(e);
    curl_easy_setopt(e, CURLOPT_URL, rq->url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, rs->error);
    if (rq->headers)
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, rq->headers);
    if (rq->timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, rq->timeout_ms);
    if (rq->connect_timeout_ms > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, rq->connect_timeout_ms);
    pk_http_method(e, rq);
    if (rq->header_cb) {
        curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, rq->header_cb);
        curl_easy_setopt(e, CURLOPT_HEADERDATA, rq->header_ud);
    }
    *sink = (struct pk_sink){.easy = e, .rq = rq, .rs = rs};
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, pk_sink_write);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, sink);
    if (rq->setup)
        rq->setup(e, rq->setup_ud);
}

/* Drives the transfer to its end, a cancel or the deadline. */
static orch_status pk_http_drive(struct pk_http *c, const struct pk_http_req *rq)
{
    const struct orch_host *h = c->h;
    int64_t deadline = pk_deadline(h, rq->ctx, 0, 0);
    if (rq->deadline_ns && (!deadline || rq->deadline_ns < deadline))
        deadline = rq->deadline_ns;
    int cancel_fd = rq->ctx ? h->cancel_fd(rq->ctx) : -1;
    for (;;) {
        int running = 0;
        if (curl_multi_perform(c->multi, &running) != CURLM_OK)
            return ORCH_E_NOMEM;
        if (!running)
            return ORCH_OK;
        if (rq->ctx && h->is_cancelled(rq->ctx))
            return ORCH_E_CANCELLED;
        int64_t now = h->now_mono_ns();
        if (deadline && now >= deadline)
            return ORCH_E_TIMEOUT;
        int wait = 1000;
        if (deadline && (deadline - now) / 1000000 < wait)
            wait = (int)((deadline - now) / 1000000) + 1;
        struct curl_waitfd extra = {.fd = cancel_fd, .events = CURL_WAIT_POLLIN};
        curl_multi_poll(c->multi, cancel_fd >= 0 ? &extra : NULL, cancel_fd >= 0 ? 1 : 0, wait,
                        NULL);
    }
}

orch_status pk_http_perform(struct pk_http *c, const struct pk_http_req *rq,
                            struct pk_http_resp *rs)
{
    memset(rs, 0, sizeof *rs);
    rs->body.h = c->h;
    struct pk_sink sink;
    pk_http_setopts(c->easy, rq, rs, &sink);
    if (curl_multi_add_handle(c->multi, c->easy) != CURLM_OK)
        return ORCH_E_NOMEM;
    orch_status st = pk_http_drive(c, rq);
    rs->curl = CURLE_OK;
    if (st == ORCH_OK) {
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(c->multi, &left)))
            if (msg->msg == CURLMSG_DONE)
                rs->curl = msg->data.result;
        curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &rs->status);
        if (rs->curl == CURLE_WRITE_ERROR && rs->body.failed)
            st = ORCH_E_NOMEM;
    }
    curl_multi_remove_handle(c->multi, c->easy);
    /* rs may go before the client does: curl keeps no pointer into it. */
    curl_easy_setopt(c->easy, CURLOPT_ERRORBUFFER, NULL);
    return st;
}

orch_status pk_http_error(const struct orch_host *h, struct orch_error *err, orch_status st,
                          const struct pk_http_resp *rs, const char *what)
{
    switch (st) {
    case ORCH_OK:
        break;
    case ORCH_E_CANCELLED:
        return h->error_set(err, st, "%s: cancelled", what);
    case ORCH_E_TIMEOUT:
        return h->error_set(err, st, "%s: no answer in time", what);
    case ORCH_E_NOMEM:
        return h->error_set(err, st, "%s: out of memory", what);
    default:
        return h->error_set(err, st, "%s: failed", what);
    }
    if (rs->curl == CURLE_OK)
        return ORCH_OK;
    const char *why = rs->error[0] ? rs->error : curl_easy_strerror(rs->curl);
    switch (rs->curl) {
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CACERT_BADFILE:
        return h->error_set(err, ORCH_E_AUTH, "%s: TLS failed: %s", what, why);
    default:
        return h->error_set(err, ORCH_E_TRANSIENT, "%s: %s", what, why);
    }
}
