/* Requests to the engine: the kit's HTTP client (orch/kit_http.h) over the
 * unix socket (or tcp/TLS), so a cancel (the ctx's cancel fd) or a
 * deadline ends a transfer at once instead of at the next progress tick. */
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

void dk_resp_free(struct dk_resp *rs)
{
    pk_http_resp_free(&rs->http);
    dk_host->free(rs->path_stat);
    rs->path_stat = NULL;
}

char *dk_escape(const char *s)
{
    char *e = curl_easy_escape(NULL, s, 0);
    char *out = e ? dk_host->strdup(e) : NULL;
    curl_free(e);
    return out;
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
                                  "cannot reach the engine at %s: %s", be->cfg->host,
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
                                  "the engine at %s dropped the connection: %s", sock,
                                  curl_msg);
    if (e == EACCES || e == EPERM)
        return dk_host->error_set(err, ORCH_E_AUTH,
                                  "permission denied on the engine socket %s (run as "
                                  "a member of its group, usually 'docker')",
                                  sock);
    if (e == ENOENT)
        return dk_host->error_set(err, ORCH_E_TRANSIENT,
                                  "no engine socket at %s (is dockerd running? set "
                                  "the backend's 'socket' or 'host' option)",
                                  sock);
    return dk_host->error_set(err, ORCH_E_TRANSIENT,
                              "cannot connect to the engine at %s: %s (is dockerd "
                              "running?)",
                              sock, strerror(e));
}

/* The engine's own options: its socket, or TLS to a tcp host. */
static void dk_setup(CURL *c, void *ud)
{
    const struct dk_cfg *cfg = ud;
    if (!cfg->host)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, cfg->socket);
    if (cfg->tls_ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, cfg->tls_ca);
    if (cfg->tls_cert)
        curl_easy_setopt(c, CURLOPT_SSLCERT, cfg->tls_cert);
    if (cfg->tls_key)
        curl_easy_setopt(c, CURLOPT_SSLKEY, cfg->tls_key);
}

/* The transfer's failure as an orch error: the engine's socket gets words
 * of its own, an early stop of a stream the caller's status; the rest is
 * the kit's mapping. */
static orch_status dk_transfer_error(struct orch_backend *be, const struct dk_req *rq,
                                     orch_status st, const struct pk_http_resp *hr,
                                     struct orch_error *err)
{
    const char *why = hr->error[0] ? hr->error : curl_easy_strerror(hr->curl);
    char what[600];
    snprintf(what, sizeof what, "%s %s", rq->method, rq->path);
    if (st != ORCH_OK)
        return pk_http_error(dk_host, err, st, hr, what);
    switch (hr->curl) {
    case CURLE_OK:
        return ORCH_OK;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        return dk_connect_error(be, why, err);
    case CURLE_WRITE_ERROR:
        if (rq->stopped_early && *rq->stopped_early)
            return ORCH_OK;
        /* fall through */
    case CURLE_ABORTED_BY_CALLBACK:
        st = rq->abort_status ? rq->abort_status : ORCH_E_IO;
        if (!err->message)
            dk_host->error_set(err, st, "%s: transfer aborted", what);
        return st;
    case CURLE_READ_ERROR:
        return dk_host->error_set(err, ORCH_E_IO, "%s: reading the upload failed", what);
    default:
        return pk_http_error(dk_host, err, st, hr, what);
    }
}

orch_status dk_http(struct orch_backend *be, const struct dk_req *rq, struct dk_resp *rs,
                    struct orch_error *err)
{
    memset(rs, 0, sizeof *rs);
    rs->http.body.h = dk_host;
    /* Short URLs stay on the stack: destroy must work when memory is short. */
    char small[1024];
    char *url = small;
    int n = rq->unversioned ? snprintf(small, sizeof small, "%s%s", be->base_url, rq->path)
                            : snprintf(small, sizeof small, "%s/v%s%s", be->base_url, be->api,
                                       rq->path);
    if (n < 0 || (size_t)n >= sizeof small)
        url = rq->unversioned ? dk_printf("%s%s", be->base_url, rq->path)
                              : dk_printf("%s/v%s%s", be->base_url, be->api, rq->path);
    struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:"); /* no 100-continue */
    if (rq->content_type) {
        char h[128];
        snprintf(h, sizeof h, "Content-Type: %s", rq->content_type);
        hdrs = curl_slist_append(hdrs, h);
    }
    /* One client per request: calls of one backend may overlap (a stream
     * and its status checks). */
    struct pk_http client;
    if (!url || !hdrs || pk_http_init(&client, dk_host) != 0) {
        if (url != small)
            dk_host->free(url);
        curl_slist_free_all(hdrs);
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    int64_t tmo = rq->timeout_ms ? rq->timeout_ms : be->cfg->api_timeout_ms;
    /* A POST always carries a body, if an empty one (Content-Length: 0). */
    const void *body = rq->body || strcmp(rq->method, "POST") ? rq->body : "";
    struct pk_http_req hq = {
        .method = rq->method, .url = url, .headers = hdrs,
        .body = body, .body_len = rq->body_len,
        .read_cb = rq->read_cb, .read_ud = rq->read_ud, .upload_size = rq->upload_size,
        .write_cb = rq->write_cb, .write_ud = rq->write_ud,
        .header_cb = dk_on_header, .header_ud = rs,
        .ctx = rq->ignore_cancel ? NULL : rq->ctx,
        .deadline_ns = pk_deadline(dk_host, NULL, dk_host->now_mono_ns(), tmo),
        .setup = dk_setup, .setup_ud = (void *)be->cfg};
    orch_status st = pk_http_perform(&client, &hq, &rs->http);
    rs->code = rs->http.status;
    st = dk_transfer_error(be, rq, st, &rs->http, err);
    pk_http_cleanup(&client);
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
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
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
        if (rs.http.body.len) {
            json_error_t je;
            *out = json_loadb(rs.http.body.p, rs.http.body.len, 0, &je);
            /* A non-JSON error body (a proxy's page) still says something. */
            if (!*out)
                *out = json_pack("{s:s%}", "message", rs.http.body.p,
                                 rs.http.body.len > 300 ? (size_t)300 : rs.http.body.len);
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
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
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
