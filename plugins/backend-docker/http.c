/* Requests to the engine: libcurl over the unix socket (or tcp/TLS), driven
 * by a multi handle so a cancel (the ctx's cancel fd) or a deadline ends a
 * transfer at once instead of at the next progress tick. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "docker.h"

int dk_buf_add(struct dk_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = dk_host->realloc(b->data, cap);
        if (!d)
            return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

void dk_buf_free(struct dk_buf *b)
{
    dk_host->free(b->data);
    memset(b, 0, sizeof *b);
}

void dk_resp_free(struct dk_resp *rs)
{
    dk_buf_free(&rs->body);
    dk_host->free(rs->path_stat);
    rs->path_stat = NULL;
}

char *dk_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *s = dk_host->alloc((uint64_t)n + 1);
    if (!s)
        return NULL;
    va_start(ap, fmt);
    vsnprintf(s, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return s;
}

char *dk_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *out = e ? dk_host->strdup(e) : NULL;
    curl_free(e);
    return out;
}

static size_t dk_collect(char *p, size_t size, size_t n, void *ud)
{
    return dk_buf_add(ud, p, size * n) == 0 ? size * n : 0;
}

static size_t dk_on_header(char *p, size_t size, size_t n, void *ud)
{
    struct dk_resp *rs = ud;
    static const char name[] = "X-Docker-Container-Path-Stat:";
    size_t len = size * n;
    if (len > sizeof name - 1 && !strncasecmp(p, name, sizeof name - 1)) {
        const char *v = p + sizeof name - 1;
        size_t vl = len - (sizeof name - 1);
        while (vl && (*v == ' '))
            v++, vl--;
        while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n'))
            vl--;
        dk_host->free(rs->path_stat);
        rs->path_stat = dk_host->alloc(vl + 1);
        if (rs->path_stat) {
            memcpy(rs->path_stat, v, vl);
            rs->path_stat[vl] = 0;
        }
    }
    return len;
}

/* Why the socket could not be reached, in words an operator can act on. */
static orch_status dk_connect_error(struct orch_backend *be, const char *curl_msg,
                                    struct orch_error *err)
{
    if (be->cfg->host)
        return dk_host->error_set(err, ORCH_E_TRANSIENT,
                                  "docker: cannot reach the engine at %s: %s", be->cfg->host,
                                  curl_msg);
    const char *sock = be->cfg->socket;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s", sock);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int rc = fd >= 0 ? connect(fd, (struct sockaddr *)&sa, sizeof sa) : -1;
    int e = errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0)
        return dk_host->error_set(err, ORCH_E_TRANSIENT,
                                  "docker: the engine at %s dropped the connection: %s", sock,
                                  curl_msg);
    if (e == EACCES || e == EPERM)
        return dk_host->error_set(err, ORCH_E_AUTH,
                                  "docker: permission denied on the engine socket %s (run as "
                                  "a member of its group, usually 'docker')",
                                  sock);
    if (e == ENOENT)
        return dk_host->error_set(err, ORCH_E_TRANSIENT,
                                  "docker: no engine socket at %s (is dockerd running? set "
                                  "the backend's 'socket' or 'host' option)",
                                  sock);
    return dk_host->error_set(err, ORCH_E_TRANSIENT,
                              "docker: cannot connect to the engine at %s: %s (is dockerd "
                              "running?)",
                              sock, strerror(e));
}

/* Streamed answers go to the caller's callback only when they are a 2xx:
 * an error answer is the engine's JSON message, collected for the error. */
struct dk_sink {
    CURL *c;
    const struct dk_req *rq;
    struct dk_resp *rs;
    int decided, to_caller;
};

static size_t dk_sink_write(char *p, size_t size, size_t n, void *ud)
{
    struct dk_sink *k = ud;
    if (!k->decided) {
        long code = 0;
        curl_easy_getinfo(k->c, CURLINFO_RESPONSE_CODE, &code);
        k->to_caller = k->rq->write_cb && code >= 200 && code < 300;
        k->decided = 1;
    }
    if (k->to_caller)
        return k->rq->write_cb(p, size, n, k->rq->write_ud);
    return dk_collect(p, size, n, &k->rs->body);
}

static CURL *dk_easy(struct orch_backend *be, const struct dk_req *rq, struct dk_resp *rs,
                     char *url, struct curl_slist **hdrs, char *errbuf, struct dk_sink *sink)
{
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    const struct dk_cfg *cfg = be->cfg;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    if (!cfg->host)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cfg->socket);
    if (cfg->tls_ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->tls_ca);
    if (cfg->tls_cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->tls_cert);
    if (cfg->tls_key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->tls_key);
    *hdrs = curl_slist_append(*hdrs, "Expect:"); /* no 100-continue round trip */
    if (rq->content_type) {
        char h[128];
        snprintf(h, sizeof h, "Content-Type: %s", rq->content_type);
        *hdrs = curl_slist_append(*hdrs, h);
    }
    if (rq->read_cb) {
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_READFUNCTION, rq->read_cb);
        curl_easy_setopt(c, CURLOPT_READDATA, rq->read_ud);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)rq->upload_size);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (rq->body || !strcmp(rq->method, "POST")) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, rq->body ? (const char *)rq->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq->body_len);
        if (strcmp(rq->method, "POST"))
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (!strcmp(rq->method, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else if (strcmp(rq->method, "GET")) {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, rq->method);
    }
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, *hdrs);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, dk_on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
    sink->c = c;
    sink->rq = rq;
    sink->rs = rs;
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, dk_sink_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, sink);
    return c;
}

/* Runs the transfer; ORCH_OK with *result set, or CANCELLED/TIMEOUT. */
static orch_status dk_perform(struct orch_backend *be, const struct dk_req *rq, CURL *c,
                              CURLcode *result)
{
    CURLM *m = curl_multi_init();
    if (!m)
        return ORCH_E_NOMEM;
    curl_multi_add_handle(m, c);
    int64_t now = dk_host->now_mono_ns();
    int64_t tmo = rq->timeout_ms ? rq->timeout_ms : be->cfg->api_timeout_ms;
    int64_t deadline = tmo > 0 ? now + tmo * 1000000 : 0;
    int64_t ctx_deadline = rq->ctx && !rq->ignore_cancel ? dk_host->deadline_ns(rq->ctx) : 0;
    if (ctx_deadline && (!deadline || ctx_deadline < deadline))
        deadline = ctx_deadline;
    int cancel_fd = rq->ctx && !rq->ignore_cancel ? dk_host->cancel_fd(rq->ctx) : -1;
    orch_status st = ORCH_OK;
    *result = CURLE_OK;
    for (;;) {
        int running = 0;
        curl_multi_perform(m, &running);
        if (!running)
            break;
        if (rq->ctx && !rq->ignore_cancel && dk_host->is_cancelled(rq->ctx)) {
            st = ORCH_E_CANCELLED;
            break;
        }
        now = dk_host->now_mono_ns();
        if (deadline && now >= deadline) {
            st = ORCH_E_TIMEOUT;
            break;
        }
        int wait = 1000;
        if (deadline && (deadline - now) / 1000000 < wait)
            wait = (int)((deadline - now) / 1000000) + 1;
        struct curl_waitfd extra = {.fd = cancel_fd, .events = CURL_WAIT_POLLIN};
        curl_multi_poll(m, cancel_fd >= 0 ? &extra : NULL, cancel_fd >= 0 ? 1 : 0, wait, NULL);
    }
    if (st == ORCH_OK) {
        int left;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &left)))
            if (msg->msg == CURLMSG_DONE)
                *result = msg->data.result;
    }
    curl_multi_remove_handle(m, c);
    curl_multi_cleanup(m);
    return st;
}

orch_status dk_http(struct orch_backend *be, const struct dk_req *rq, struct dk_resp *rs,
                    struct orch_error *err)
{
    memset(rs, 0, sizeof *rs);
    /* Short URLs stay on the stack: destroy must work when memory is short. */
    char small[1024];
    char *url = small;
    int n = rq->unversioned ? snprintf(small, sizeof small, "%s%s", be->base_url, rq->path)
                            : snprintf(small, sizeof small, "%s/v%s%s", be->base_url, be->api,
                                       rq->path);
    if (n < 0 || (size_t)n >= sizeof small)
        url = rq->unversioned ? dk_printf("%s%s", be->base_url, rq->path)
                              : dk_printf("%s/v%s%s", be->base_url, be->api, rq->path);
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hdrs = NULL;
    struct dk_sink sink = {0};
    CURL *c = url ? dk_easy(be, rq, rs, url, &hdrs, errbuf, &sink) : NULL;
    if (!c) {
        if (url != small)
            dk_host->free(url);
        curl_slist_free_all(hdrs);
        return dk_host->error_set(err, ORCH_E_NOMEM, "docker: out of memory");
    }
    CURLcode res;
    orch_status st = dk_perform(be, rq, c, &res);
    if (st == ORCH_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &rs->code);
        const char *why = errbuf[0] ? errbuf : curl_easy_strerror(res);
        switch (res) {
        case CURLE_OK:
            break;
        case CURLE_COULDNT_CONNECT:
        case CURLE_COULDNT_RESOLVE_HOST:
            st = dk_connect_error(be, why, err);
            break;
        case CURLE_WRITE_ERROR:
            if (rq->stopped_early && *rq->stopped_early)
                break;
            /* fall through */
        case CURLE_ABORTED_BY_CALLBACK:
            st = rq->abort_status ? rq->abort_status : ORCH_E_IO;
            if (!err->message)
                dk_host->error_set(err, st, "docker: %s %s: transfer aborted", rq->method,
                                   rq->path);
            break;
        case CURLE_READ_ERROR:
            st = dk_host->error_set(err, ORCH_E_IO, "docker: %s %s: reading the upload failed",
                                    rq->method, rq->path);
            break;
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_PEER_FAILED_VERIFICATION:
            st = dk_host->error_set(err, ORCH_E_AUTH, "docker: TLS with %s failed: %s",
                                    be->cfg->host ? be->cfg->host : "the engine", why);
            break;
        default:
            st = dk_host->error_set(err, ORCH_E_TRANSIENT, "docker: %s %s: %s", rq->method,
                                    rq->path, why);
            break;
        }
    } else if (st == ORCH_E_CANCELLED) {
        dk_host->error_set(err, st, "docker: %s %s: cancelled", rq->method, rq->path);
    } else if (st == ORCH_E_TIMEOUT) {
        dk_host->error_set(err, st, "docker: %s %s: no answer in time", rq->method, rq->path);
    } else {
        dk_host->error_set(err, st, "docker: out of memory");
    }
    curl_easy_cleanup(c);
    curl_slist_free_all(hdrs);
    if (url != small)
        dk_host->free(url);
    if (st != ORCH_OK)
        dk_resp_free(rs);
    return st;
}

orch_status dk_call(struct orch_backend *be, struct orch_ctx *ctx, const char *method,
                    const char *path, json_t *body, long *code, json_t **out,
                    struct orch_error *err)
{
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (body && !text)
        return dk_host->error_set(err, ORCH_E_NOMEM, "docker: out of memory");
    struct dk_req rq = {.method = method, .path = path, .ctx = ctx,
                        .content_type = text ? "application/json" : NULL,
                        .body = text, .body_len = text ? strlen(text) : 0};
    struct dk_resp rs;
    orch_status st = dk_http(be, &rq, &rs, err);
    free(text); /* jansson's allocator */
    if (st != ORCH_OK)
        return st;
    *code = rs.code;
    if (out) {
        *out = NULL;
        if (rs.body.len) {
            json_error_t je;
            *out = json_loadb(rs.body.data, rs.body.len, 0, &je);
            /* A non-JSON error body (a proxy's page) still says something. */
            if (!*out)
                *out = json_pack("{s:s%}", "message", rs.body.data,
                                 rs.body.len > 300 ? (size_t)300 : rs.body.len);
        }
    }
    dk_resp_free(&rs);
    return ORCH_OK;
}

orch_status dk_get_named(struct orch_backend *be, struct orch_ctx *ctx, const char *fmt,
                         const char *name, long *code, json_t **out, struct orch_error *err)
{
    char *esc = dk_escape(name);
    char *path = esc ? dk_printf(fmt, esc) : NULL;
    dk_host->free(esc);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "docker: out of memory");
    orch_status st = dk_call(be, ctx, "GET", path, NULL, code, out, err);
    dk_host->free(path);
    return st;
}

orch_status dk_engine_error(struct orch_error *err, long code, json_t *body, const char *fmt,
                            ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *msg = json_string_value(json_object_get(body, "message"));
    orch_status st;
    switch (code) {
    case 400: st = ORCH_E_INVALID_ARG; break;
    case 401:
    case 403: st = ORCH_E_AUTH; break;
    case 404: st = ORCH_E_NOT_FOUND; break;
    case 409: st = ORCH_E_CONFLICT; break;
    case 429: st = ORCH_E_RATE_LIMITED; break;
    case 502:
    case 503:
    case 504: st = ORCH_E_TRANSIENT; break;
    default: st = code >= 300 && code < 400 ? ORCH_E_PROTOCOL : ORCH_E_FAILED; break;
    }
    /* Engine messages are one line; keep them so. */
    char clean[600];
    snprintf(clean, sizeof clean, "%s", msg ? msg : "no message");
    for (char *p = clean; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return dk_host->error_set(err, st, "%s: %s (engine said HTTP %ld)", what, clean, code);
}
