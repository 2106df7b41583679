/* The API server: libmicrohttpd, one thread per connection (so a streamed
 * log can wait without holding others up), bodies capped, a request id on
 * every answer, the listening socket (TCP or unix). Routing and the token
 * check are routes.c's, the handlers' request and answer helpers
 * reply.c's. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "authlog.h"
#include "host.h"
#include "http.h"
#include "instances.h"
#include "json_limit.h"
#include "metrics.h"
#include "util.h"

struct orchd_server {
    struct orchd *d;
    struct MHD_Daemon *mhd;
    int unix_fd;
    char *unix_path;
};

/* Per-request state kept across libmicrohttpd's calls while the body
 * arrives. */
struct orchd_conn {
    struct oc_buf body;
    int too_large;
};

/* The caller's X-Request-Id when it is a sane token (1-128 of
 * [A-Za-z0-9._:-]: it goes into logs and a header), else a fresh random
 * one, so every log line of a request can be found from its answer. */
static void orchd_request_id(struct orchd_req *rq, char *out, size_t n)
{
    const char *in = orchd_header(rq, "X-Request-Id");
    size_t len = in ? strlen(in) : 0;
    int ok = len >= 1 && len < n && len <= 128;
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)in[i]) || strchr("._:-", in[i]);
    if (ok) {
        memcpy(out, in, len + 1);
        return;
    }
    char *id = oc_new_id("q-");
    snprintf(out, n, "%s", id);
    free(id);
}

static enum MHD_Result orchd_send(struct orchd_req *rq)
{
    struct MHD_Response *resp = rq->stream;
    if (!resp) {
        const char *ctype;
        char *text = orchd_answer_text(rq, &ctype);
        resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
        MHD_add_response_header(resp, "Content-Type", ctype);
    }
    if (rq->status == 401)
        MHD_add_response_header(resp, "WWW-Authenticate", "Bearer");
    if (rq->status == 405 && rq->ui)
        MHD_add_response_header(resp, "Allow", "GET, HEAD");
    if (rq->set_cookie)
        MHD_add_response_header(resp, "Set-Cookie", rq->set_cookie);
    /* The UI's files may be kept but are checked each time (no-cache); an
     * API answer is never kept (no-store). */
    if (rq->ui)
        orchd_ui_headers(resp);
    else
        MHD_add_response_header(resp, "Cache-Control", "no-store");
    MHD_add_response_header(resp, "X-Request-Id", rq->request_id);
    enum MHD_Result r = MHD_queue_response(rq->conn, rq->status, resp);
    MHD_destroy_response(resp);
    return r;
}

static enum MHD_Result orchd_handle(void *cls, struct MHD_Connection *conn, const char *url,
                                    const char *method, const char *version,
                                    const char *upload, size_t *upload_size, void **con_cls)
{
    struct orchd *d = cls;
    (void)version;
    struct orchd_conn *cc = *con_cls;
    if (!cc) {
        cc = oc_xcalloc(1, sizeof *cc);
        *con_cls = cc;
        return MHD_YES;
    }
    struct orchd_conf *conf = orchd_conf_get(d);
    if (*upload_size) {
        if (cc->body.len + *upload_size > (size_t)orchd_cfg_of(conf->cfg)->max_body)
            cc->too_large = 1; /* keep reading, answer once it is in */
        else
            oc_buf_add(&cc->body, upload, *upload_size);
        *upload_size = 0;
        orchd_conf_put(conf);
        return MHD_YES;
    }
    struct orchd_req rq = {.d = d, .cfg = conf->cfg, .conf = conf, .conn = conn,
                           .method = method, .path = url,
                           .body = cc->body.data ? cc->body.data : "",
                           .body_len = cc->body.len};
    int64_t t0 = oc_now_mono_ns();
    orchd_request_id(&rq, rq.request_id, sizeof rq.request_id);
    orchd_log_request(rq.request_id);
    orchd_dispatch(&rq, cc->too_large);
    char remote[96];
    orchd_remote_addr(&rq, remote, sizeof remote);
    struct orchd_access a = {.request_id = rq.request_id, .method = method,
                             .route = rq.route ? rq.route->pattern : "unmatched",
                             .token = rq.token ? rq.token->name : NULL, .remote = remote,
                             .status = rq.status,
                             .duration_ms = (double)(oc_now_mono_ns() - t0) / 1e6};
    orchd_log_access(&a);
    orchd_log_request(NULL);
    enum MHD_Result r = orchd_send(&rq);
    json_decref(rq.json);
    free(rq.text);
    free(rq.set_cookie);
    orchd_conf_put(conf);
    return r;
}

static void orchd_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                            enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct orchd_conn *cc = *con_cls;
    if (cc) {
        oc_buf_free(&cc->body);
        free(cc);
    }
    *con_cls = NULL;
}

struct orchd_server *orchd_server_start(struct orchd *d, const char *addr, char **err)
{
    if (!orchd_cfg_of(d->cfg)->n_tokens && !orchd_listen_is_loopback(addr)) {
        *err = oc_xasprintf("listen address %s is not a loopback address and no server.tokens "
                            "are configured: refusing to serve an open API", addr);
        return NULL;
    }
    struct orchd_server *s = oc_xcalloc(1, sizeof *s);
    s->d = d;
    s->unix_fd = -1;
    orchd_authlog_init(d);
    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_ERROR_LOG;
    if (!strncmp(addr, "unix:", 5)) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        if (strlen(addr + 5) >= sizeof sa.sun_path) {
            *err = oc_xasprintf("listen address: socket path too long: %s", addr + 5);
            orchd_authlog_free(d);
            free(s);
            return NULL;
        }
        strcpy(sa.sun_path, addr + 5);
        unlink(sa.sun_path);
        s->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->unix_fd < 0 || bind(s->unix_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            listen(s->unix_fd, 64) != 0) {
            *err = oc_xasprintf("listen address %s: %s", addr, strerror(errno));
            if (s->unix_fd >= 0)
                close(s->unix_fd);
            orchd_authlog_free(d);
            free(s);
            return NULL;
        }
        s->unix_path = oc_xstrdup(sa.sun_path);
        s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, orchd_handle, d,
                                  MHD_OPTION_LISTEN_SOCKET, s->unix_fd,
                                  MHD_OPTION_NOTIFY_COMPLETED, orchd_completed, NULL,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    } else {
        const char *colon = strrchr(addr, ':');
        struct sockaddr_in sa = {.sin_family = AF_INET};
        char host[64] = "";
        long port = colon ? strtol(colon + 1, NULL, 10) : 0;
        if (colon && (size_t)(colon - addr) < sizeof host)
            memcpy(host, addr, (size_t)(colon - addr));
        if (!strcmp(host, "localhost"))
            strcpy(host, "127.0.0.1");
        if (!colon || port < 0 || port > 65535 ||
            inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &sa.sin_addr) != 1) {
            *err = oc_xasprintf("listen address '%s' is not HOST:PORT (IPv4) or unix:PATH",
                                addr);
            orchd_authlog_free(d);
            free(s);
            return NULL;
        }
        sa.sin_port = htons((uint16_t)port);
        s->mhd = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, orchd_handle, d,
                                  MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                                  MHD_OPTION_NOTIFY_COMPLETED, orchd_completed, NULL,
                                  MHD_OPTION_CONNECTION_TIMEOUT, 120u, MHD_OPTION_END);
    }
    if (!s->mhd) {
        *err = oc_xasprintf("listen address %s: cannot start the HTTP server (address in use?)",
                            addr);
        if (s->unix_fd >= 0)
            close(s->unix_fd);
        orchd_authlog_free(d);
        free(s->unix_path);
        free(s);
        return NULL;
    }
    return s;
}

void orchd_server_stop(struct orchd_server *s)
{
    if (!s)
        return;
    MHD_stop_daemon(s->mhd);
    orchd_authlog_free(s->d);
    if (s->unix_fd >= 0)
        close(s->unix_fd);
    if (s->unix_path)
        unlink(s->unix_path);
    free(s->unix_path);
    free(s);
}
