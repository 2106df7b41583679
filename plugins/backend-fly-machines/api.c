/* The Machines API over HTTP: bearer token (never logged), JSON both
 * ways, 429 waited out as Retry-After says, 5xx and resets retried for
 * calls that can be repeated, and every failure named with Fly's message
 * and the request id (fly-request-id) that Fly's support asks for.
 *
 * Two budgets, since they mean different things: a 429 says "not now"
 * (nothing was done, and a storm can last), so it is waited out for up to
 * rate_limit_wait in total; a 5xx or a reset says "something broke", tried
 * `retries` times. Every wait is jittered: clients that were refused
 * together (one app's limit, one Retry-After) must not all come back at the
 * same instant and be refused together again. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#include <nettle/base64.h>

#include "fly-machines.h"

void fl_resp_free(struct fl_resp *r)
{
    json_decref(r->json);
    r->json = NULL;
}

static size_t fl_on_header(char *b, size_t size, size_t n, void *ud)
{
    struct fl_resp *r = ud;
    size_t len = size * n;
    const char *v;
    if (len > 15 && !strncasecmp(b, "fly-request-id:", 15)) {
        v = b + 15;
        while (*v == ' ')
            v++;
        snprintf(r->request_id, sizeof r->request_id, "%.*s", (int)strcspn(v, "\r\n"), v);
    } else if (len > 12 && !strncasecmp(b, "Retry-After:", 12)) {
        r->retry_after = strtol(b + 12, NULL, 10);
    }
    return len;
}

static void fl_setup(CURL *c, void *ud)
{
    (void)ud;
    curl_easy_setopt(c, CURLOPT_USERAGENT, "orch-backend-fly-machines/1.0");
}

/* A uniform draw in [0, n] (not for secrets: only to spread retries). */
static int64_t fl_rand_upto(int64_t n)
{
    static _Thread_local uint64_t x;
    if (!x && (getrandom(&x, sizeof x, 0) != (ssize_t)sizeof x || !x))
        x = (uint64_t)fl_host->now_mono_ns() | 1;
    x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
    return n > 0 ? (int64_t)(x % (uint64_t)(n + 1)) : 0;
}

/* "Full jitter": anywhere in [0, min(cap, base * 2^n)]. */
static int64_t fl_backoff_ms(int n, int64_t base, int64_t cap)
{
    int64_t top = base;
    for (int i = 0; i < n && top < cap; i++)
        top *= 2;
    return fl_rand_upto(top < cap ? top : cap);
}

int fl_retry_pause(struct orch_ctx *ctx, int n)
{
    return pk_pause(fl_host, ctx, fl_backoff_ms(n, 200, 5000), pk_deadline(fl_host, ctx, 0, 0));
}

/* One request of fl_call: what stays the same over its tries. */
struct fl_try {
    struct orch_backend *be;
    struct orch_ctx *ctx;
    const char *method, *path;   /* path: after the API URL, for messages */
    struct pk_http_req rq;
    int64_t deadline;            /* the ctx's or the command's, whichever is first */
    int n_broken, n_limited;     /* the two budgets */
    int64_t first_limited, wait;
    int cut;                     /* a wait the deadline cut short: it, not the answer, ended it */
};

static orch_status fl_try_once(struct fl_try *t, struct fl_resp *r, struct pk_http_resp *hr)
{
    r->request_id[0] = 0;
    r->retry_after = 0;
    orch_status st = pk_http_perform(&t->be->http, &t->rq, hr);
    r->status = hr->status;
    json_decref(r->json);
    r->json = st == ORCH_OK && hr->body.p ? json_loads(hr->body.p, 0, NULL) : NULL;
    return st;
}

/* 0 with *out_ms the wait before the next try, or -1: no next try. */
static int fl_next_wait(struct fl_try *t, int flags, const struct pk_http_resp *hr,
                        const struct fl_resp *r, int64_t *out_ms)
{
    const struct fl_cfg *cfg = t->be->cfg;
    int broken = (flags & FL_IDEMPOTENT) && (hr->curl != CURLE_OK || r->status >= 500);
    int limited = hr->curl == CURLE_OK && r->status == 429;
    int64_t now = fl_host->now_mono_ns(), wait = -1;
    if (limited) {
        /* At least what Retry-After asks, then up to one more such
         * window at random (or, without one, a jittered backoff). */
        if (!t->first_limited)
            t->first_limited = now;
        int64_t ra = r->retry_after > 0 && r->retry_after < 3600 ? r->retry_after * 1000 : 0;
        wait = ra ? ra + fl_rand_upto(ra) : 100 + fl_backoff_ms(t->n_limited, 500, 10000);
        if ((now - t->first_limited) / 1000000 + wait > cfg->rate_limit_wait_ms)
            wait = -1; /* the storm outlasted its budget */
        t->n_limited++;
    } else if (broken && t->n_broken < cfg->retries) {
        wait = fl_backoff_ms(t->n_broken, 200, 5000);
        t->n_broken++;
    }
    if (wait >= 0 && t->deadline && now + wait * 1000000 > t->deadline) {
        wait = -1; /* no point waiting past the deadline */
        t->cut = 1;
    }
    if (wait >= 0)
        fl_host->log(t->ctx, ORCH_LOG_DEBUG, "%s %s: %s; again in %lldms", t->method, t->path,
                     hr->curl != CURLE_OK ? curl_easy_strerror(hr->curl)
                     : limited            ? "429"
                                          : "5xx",
                     (long long)wait);
    *out_ms = wait;
    return wait >= 0 ? 0 : -1;
}

/* The tries of one request: 429 waited out, broken answers of an
 * idempotent request tried again, each wait cut short by a cancel. */
static orch_status fl_tries(struct fl_try *t, int flags, struct fl_resp *r,
                            struct orch_error *err)
{
    char what[600];
    snprintf(what, sizeof what, "%s %s", t->method, t->path);
    struct pk_http_resp hr = {0};
    orch_status st;
    for (;;) {
        st = fl_try_once(t, r, &hr);
        if (st != ORCH_OK || fl_next_wait(t, flags, &hr, r, &t->wait) != 0)
            break; /* the last answer (or failure) stands */
        pk_http_resp_free(&hr);
        if (pk_pause(fl_host, t->ctx, t->wait, t->deadline) != 0) {
            st = t->ctx && fl_host->is_cancelled(t->ctx) ? ORCH_E_CANCELLED : ORCH_E_TIMEOUT;
            break;
        }
    }
    st = pk_http_error(fl_host, err, st, &hr, what);
    /* A 429 (or a 5xx of a call that can be repeated) that would have been
     * waited out but for the deadline: the deadline ended the call, so it
     * is a timeout (a step's timed_out), not the API's refusal. The answer
     * itself is no transport error (st is OK), hence the check here and
     * not in each caller's reading of the status. */
    if (t->cut) {
        if (st != ORCH_OK)
            st = fl_host->error_set(err, ORCH_E_TIMEOUT, "%s: the deadline came before the "
                                    "Machines API would take the call: %s", what,
                                    err->message ? err->message : "no answer");
        else
            st = fl_host->error_set(err, ORCH_E_TIMEOUT, "%s: the deadline came before the "
                                    "Machines API would take the call (HTTP %ld%s%s)", what,
                                    r->status, r->request_id[0] ? ", request id " : "",
                                    r->request_id);
    }
    pk_http_resp_free(&hr);
    return st;
}

orch_status fl_call(struct orch_backend *be, struct orch_ctx *ctx, const char *method,
                    json_t *body, int flags, const char *nonce, struct fl_resp *r,
                    struct orch_error *err, const char *path_fmt, ...)
{
    memset(r, 0, sizeof *r);
    va_list ap;
    va_start(ap, path_fmt);
    char *path = NULL;
    int pn = vasprintf(&path, path_fmt, ap);
    va_end(ap);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    char *url = pn >= 0 ? fl_printf("%s/v1%s", be->base, path) : NULL;
    free(path);
    char nonce_hdr[160] = "";
    if (nonce)
        snprintf(nonce_hdr, sizeof nonce_hdr, "fly-machine-lease-nonce: %s", nonce);
    struct curl_slist *h = curl_slist_append(NULL, be->auth);
    h = h ? curl_slist_append(h, "Content-Type: application/json") : NULL;
    h = h ? curl_slist_append(h, "Expect:") : NULL;
    if (h && *nonce_hdr)
        h = curl_slist_append(h, nonce_hdr);
    orch_status rc;
    if (!url || !h || (body && !text)) {
        rc = fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    } else {
        /* ctx NULL: clean-up work that must go on after a cancel, with no
         * deadline either. be->deadline_ns: a command's own timeout. */
        struct fl_try t = {
            .be = be, .ctx = ctx, .method = method, .path = url + strlen(be->base),
            .rq = {.method = method, .url = url, .headers = h, .body = text,
                   .body_len = text ? strlen(text) : 0, .header_cb = fl_on_header,
                   .header_ud = r, .ctx = ctx, .deadline_ns = ctx ? be->deadline_ns : 0,
                   .timeout_ms = (long)be->cfg->api_timeout_ms, .connect_timeout_ms = 10000,
                   .setup = fl_setup}};
        t.deadline = pk_deadline(fl_host, ctx, 0, 0);
        if (t.rq.deadline_ns && (!t.deadline || t.rq.deadline_ns < t.deadline))
            t.deadline = t.rq.deadline_ns;
        rc = fl_tries(&t, flags, r, err);
    }
    curl_slist_free_all(h);
    fl_host->free(url);
    free(text);
    return rc;
}

orch_status fl_fail(const struct fl_resp *r, const char *what, struct orch_error *err)
{
    const char *msg = json_string_value(json_object_get(r->json, "error"));
    if (!msg) /* some answers (a held lease's 409) say "message" */
        msg = json_string_value(json_object_get(r->json, "message"));
    if (!msg)
        msg = r->status >= 500 ? "the API is unavailable (no JSON error body)" : "no message";
    /* Fly answers 422 both for a request it refuses and for a machine that
     * failed to start: only the first is the caller's to fix. */
    int start_failed = r->status == 422 && strstr(msg, "failed to start");
    orch_status code = start_failed                           ? ORCH_E_TRANSIENT
                       : r->status == 404                     ? ORCH_E_NOT_FOUND
                       : r->status == 401 || r->status == 403 ? ORCH_E_AUTH
                       : r->status == 429                     ? ORCH_E_RATE_LIMITED
                       : r->status == 408                     ? ORCH_E_TIMEOUT
                       : r->status == 409 || r->status == 412 ? ORCH_E_CONFLICT
                       : r->status == 400 || r->status == 422 ? ORCH_E_INVALID_ARG
                       : r->status >= 500                     ? ORCH_E_TRANSIENT
                                                              : ORCH_E_PROTOCOL;
    return fl_host->error_set(err, code, "%s: HTTP %ld: %s%s%s%s", what, r->status, msg,
                              r->request_id[0] ? " (request id " : "", r->request_id,
                              r->request_id[0] ? ")" : "");
}

char *fl_b64(const void *data, size_t len)
{
    char *out = fl_host->alloc(BASE64_ENCODE_RAW_LENGTH(len) + 1);
    if (!out)
        return NULL;
    base64_encode_raw(out, len, data);
    out[BASE64_ENCODE_RAW_LENGTH(len)] = 0;
    return out;
}

int fl_unb64(const char *text, char **out, size_t *len)
{
    size_t n = strlen(text), got = 0;
    char *buf = fl_host->alloc(BASE64_DECODE_LENGTH(n) + 1);
    if (!buf)
        return -1;
    struct base64_decode_ctx b;
    base64_decode_init(&b);
    if (!base64_decode_update(&b, &got, (uint8_t *)buf, n, text) || !base64_decode_final(&b)) {
        fl_host->free(buf);
        return -1;
    }
    *out = buf;
    *len = got;
    return 0;
}
