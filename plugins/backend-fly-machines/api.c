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
#include <time.h>

#include <nettle/base64.h>

#include "fly.h"

void fl_resp_free(struct fl_resp *r)
{
    json_decref(r->json);
    r->json = NULL;
}

struct fl_buf {
    char *p;
    size_t len, cap;
};

static size_t fl_on_body(char *b, size_t size, size_t n, void *ud)
{
    struct fl_buf *x = ud;
    size_t len = size * n;
    if (x->len + len + 1 > x->cap) {
        size_t nc = (x->len + len + 1) * 2;
        char *np = fl_host->realloc(x->p, nc);
        if (!np)
            return 0;
        x->p = np;
        x->cap = nc;
    }
    memcpy(x->p + x->len, b, len);
    x->len += len;
    x->p[x->len] = 0;
    return len;
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

struct fl_progress {
    struct orch_ctx *ctx;
    int64_t deadline;            /* monotonic ns, 0 = none */
};

/* Abort a request when the step is cancelled or past its deadline. */
static int fl_on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    struct fl_progress *p = ud;
    (void)a, (void)b, (void)c, (void)d;
    if (!p->ctx)
        return 0;
    if (fl_host->is_cancelled(p->ctx))
        return 1;
    return p->deadline && fl_host->now_mono_ns() > p->deadline ? 1 : 0;
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

/* Sleep ms, in slices, giving up (non-zero) on a cancel or past the
 * deadline: a long Retry-After must not outlive the step. */
static int fl_pause(struct orch_ctx *ctx, int64_t ms, int64_t deadline)
{
    int64_t end = fl_host->now_mono_ns() + ms * 1000000;
    for (;;) {
        int64_t now = fl_host->now_mono_ns();
        if (ctx && fl_host->is_cancelled(ctx))
            return 1;
        if (deadline && now > deadline)
            return 1;
        if (now >= end)
            return 0;
        int64_t left = (end - now) / 1000000 + 1;
        int64_t slice = left < 100 ? left : 100;
        struct timespec ts = {slice / 1000, (slice % 1000) * 1000000};
        nanosleep(&ts, NULL);
    }
}

int fl_retry_pause(struct orch_ctx *ctx, int n)
{
    return fl_pause(ctx, fl_backoff_ms(n, 200, 5000), ctx ? fl_host->deadline_ns(ctx) : 0);
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
    if (!url || (body && !text)) {
        fl_host->free(url);
        free(text);
        return fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    char nonce_hdr[160] = "";
    if (nonce)
        snprintf(nonce_hdr, sizeof nonce_hdr, "fly-machine-lease-nonce: %s", nonce);
    orch_status rc = ORCH_OK;
    int n_broken = 0, n_limited = 0; /* the two budgets */
    int64_t first_limited = 0;
    for (;;) {
        CURL *c = be->curl;
        curl_easy_reset(c);
        struct curl_slist *h = curl_slist_append(NULL, be->auth);
        h = curl_slist_append(h, "Content-Type: application/json");
        h = curl_slist_append(h, "Expect:");
        if (*nonce_hdr)
            h = curl_slist_append(h, nonce_hdr);
        struct fl_buf buf = {0};
        int64_t cdl = ctx ? fl_host->deadline_ns(ctx) : 0;
        if (ctx && be->deadline_ns && (!cdl || be->deadline_ns < cdl))
            cdl = be->deadline_ns;
        struct fl_progress prog = {ctx, cdl};
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)be->cfg->api_timeout_ms);
        curl_easy_setopt(c, CURLOPT_USERAGENT, "orch-backend-fly-machines/1.0");
        if (text)
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, fl_on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &buf);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, fl_on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, fl_on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &prog);
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        r->request_id[0] = 0;
        r->retry_after = 0;
        CURLcode cc = curl_easy_perform(c);
        curl_slist_free_all(h);
        r->status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        json_decref(r->json);
        r->json = buf.p ? json_loads(buf.p, 0, NULL) : NULL;
        fl_host->free(buf.p);
        /* ctx NULL: clean-up work that must go on after a cancel. */
        int cancelled = ctx && fl_host->is_cancelled(ctx);
        int late = cdl && fl_host->now_mono_ns() > cdl;
        if (cc == CURLE_ABORTED_BY_CALLBACK || cancelled || late) {
            rc = cancelled ? fl_host->error_set(err, ORCH_E_CANCELLED, "%s %s: cancelled",
                                                method, url + strlen(be->base))
                           : fl_host->error_set(err, ORCH_E_TIMEOUT,
                                                "%s %s: the step's deadline passed",
                                                method, url + strlen(be->base));
            break;
        }
        int broken = (flags & FL_IDEMPOTENT) && (cc != CURLE_OK || r->status >= 500);
        int limited = cc == CURLE_OK && r->status == 429;
        int64_t now = fl_host->now_mono_ns(), wait = -1;
        if (limited) {
            /* At least what Retry-After asks, then up to one more such
             * window at random (or, without one, a jittered backoff). */
            if (!first_limited)
                first_limited = now;
            int64_t ra = r->retry_after > 0 && r->retry_after < 3600 ? r->retry_after * 1000 : 0;
            wait = ra ? ra + fl_rand_upto(ra) : 100 + fl_backoff_ms(n_limited, 500, 10000);
            if ((now - first_limited) / 1000000 + wait > be->cfg->rate_limit_wait_ms)
                wait = -1; /* the storm outlasted its budget */
            n_limited++;
        } else if (broken && n_broken < be->cfg->retries) {
            wait = fl_backoff_ms(n_broken, 200, 5000);
            n_broken++;
        }
        if (wait >= 0 && cdl && now + wait * 1000000 > cdl)
            wait = -1; /* no point waiting past the deadline */
        if (wait >= 0) {
            fl_host->log(ctx, ORCH_LOG_DEBUG, "fly: %s %s: %s; again in %lldms", method,
                         url + strlen(be->base),
                         cc != CURLE_OK ? curl_easy_strerror(cc) : limited ? "429" : "5xx",
                         (long long)wait);
            if (fl_pause(ctx, wait, cdl) == 0)
                continue;
            rc = ctx && fl_host->is_cancelled(ctx)
                     ? fl_host->error_set(err, ORCH_E_CANCELLED, "%s %s: cancelled", method,
                                          url + strlen(be->base))
                     : fl_host->error_set(err, ORCH_E_TIMEOUT,
                                          "%s %s: the step's deadline passed", method,
                                          url + strlen(be->base));
            break;
        }
        if (cc != CURLE_OK)
            rc = fl_host->error_set(err, ORCH_E_TRANSIENT, "%s %s: %s", method,
                                    url + strlen(be->base),
                                    *errbuf ? errbuf : curl_easy_strerror(cc));
        break;
    }
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
