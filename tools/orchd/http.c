/* The API server: libmicrohttpd, one thread per connection (so a streamed
 * log can wait without holding others up), bodies capped, bearer tokens
 * checked in constant time, every answer JSON. */
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

const struct orchd_route orchd_routes[] = {
    {"GET", "/health", 0, orchd_health, "ok or degraded (the health document's status)"},
    {"GET", "/health/live", 0, orchd_health_live, "liveness"},
    {"GET", "/health/ready", 0, orchd_health_ready, "readiness"},
    {"GET", "/health/env", OC_ROLE_READ, orchd_health_env, "environment presence"},
    {"GET", "/v1/health", OC_ROLE_READ, orchd_health_full, "the health document"},
    {"GET", "/metrics", OC_ROLE_READ, orchd_metrics, "Prometheus metrics"},
    {"GET", "/v1/openapi.yaml", 0, orchd_openapi_yaml_get, "this API's OpenAPI document"},
    {"GET", "/v1/openapi.json", 0, orchd_openapi_json_get, "this API's OpenAPI document"},
    {"GET", "/v1/workflows", OC_ROLE_READ, orchd_workflows_list, "list workflows"},
    {"GET", "/v1/workflows/{name}", OC_ROLE_READ, orchd_workflows_get, "a workflow's DAG"},
    {"POST", "/v1/runs", OC_ROLE_WRITE, orchd_runs_start, "start a run"},
    {"GET", "/v1/runs", OC_ROLE_READ, orchd_runs_list, "list runs"},
    {"GET", "/v1/runs/{id}", OC_ROLE_READ, orchd_runs_get, "a run with its steps"},
    {"POST", "/v1/runs/{id}/cancel", OC_ROLE_WRITE, orchd_runs_cancel, "cancel a run"},
    {"POST", "/v1/runs/{id}/resume", OC_ROLE_WRITE, orchd_runs_resume,
     "re-queue a failed or cancelled run"},
    {"GET", "/v1/runs/{id}/events", OC_ROLE_READ, orchd_runs_events, "a run's ledger"},
    {"POST", "/v1/runs/{id}/steps/{step}/approve", OC_ROLE_WRITE, orchd_runs_approve,
     "approve a waiting step"},
    {"POST", "/v1/runs/{id}/steps/{step}/reject", OC_ROLE_WRITE, orchd_runs_reject,
     "reject a waiting step"},
    {"GET", "/v1/runs/{id}/steps/{step}/logs", OC_ROLE_READ, orchd_runs_logs,
     "a step's log, or a live stream"},
    {"GET", "/v1/dead-letters", OC_ROLE_READ, orchd_dead_letters, "failed runs"},
    {"POST", "/v1/dead-letters/{id}/requeue", OC_ROLE_WRITE, orchd_dead_letter_requeue,
     "re-queue a failed run"},
    {"POST", "/v1/instances", OC_ROLE_WRITE, orchd_instances_create,
     "create an instance on a backend"},
    {"GET", "/v1/instances", OC_ROLE_READ, orchd_instances_list,
     "instances of the ownership ledger, with backend status"},
    {"GET", "/v1/instances/{id}", OC_ROLE_READ, orchd_instances_get, "an instance"},
    {"DELETE", "/v1/instances/{id}", OC_ROLE_WRITE, orchd_instances_destroy,
     "destroy an instance"},
    {"POST", "/v1/instances/{id}/exec", OC_ROLE_WRITE, orchd_instances_exec,
     "run a command on an instance"},
    {"GET", "/v1/instances/{id}/executions", OC_ROLE_READ, orchd_executions_list,
     "an instance's executions"},
    {"GET", "/v1/instances/{id}/executions/{exec}", OC_ROLE_READ, orchd_executions_get,
     "an execution, with its output"},
    {"GET", "/v1/instances/{id}/executions/{exec}/output", OC_ROLE_READ,
     orchd_executions_output, "an execution's output, or a live stream"},
    {"DELETE", "/v1/instances/{id}/executions/{exec}", OC_ROLE_WRITE, orchd_executions_cancel,
     "cancel an execution"},
    {"GET", "/v1/plugins", OC_ROLE_READ, orchd_plugins_list, "plugins and load errors"},
    {"GET", "/v1/control", OC_ROLE_READ, orchd_control_get, "control flags"},
    {"POST", "/v1/control", OC_ROLE_ADMIN, orchd_control_set, "pause, resume, proof, drain"},
    {"POST", "/v1/hooks/{name}", -1, orchd_hook, "webhook trigger (HMAC-signed)"},
    {NULL, NULL, 0, NULL, NULL},
};
/* The number of routes (the table ends with an empty row): the metrics'
 * and the auth log's per-route counters are sized by it. */
const size_t orchd_routes_count = sizeof orchd_routes / sizeof orchd_routes[0] - 1;

void orchd_reply(struct orchd_req *rq, unsigned status, json_t *j)
{
    json_decref(rq->json);
    rq->status = status;
    rq->json = j;
}

void orchd_fail(struct orchd_req *rq, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = oc_xvasprintf(fmt, ap);
    va_end(ap);
    orchd_reply(rq, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
    free(msg);
}

void orchd_fail_err(struct orchd_req *rq, const struct orch_error *err)
{
    switch (err->code) {
    case ORCH_E_NOT_FOUND:
        orchd_fail(rq, 404, "not_found", "%s", oc_error_text(err));
        break;
    case ORCH_E_CONFLICT:
    case ORCH_E_EXISTS:
        orchd_fail(rq, 409, "conflict", "%s", oc_error_text(err));
        break;
    case ORCH_E_INVALID_ARG:
    case ORCH_E_CONFIG:
        orchd_fail(rq, 400, "invalid", "%s", oc_error_text(err));
        break;
    default:
        orchd_fail(rq, 500, "internal", "%s", oc_error_text(err));
        break;
    }
}

json_t *orchd_body_object(struct orchd_req *rq)
{
    if (!rq->body_len)
        return json_object();
    json_error_t je;
    /* Before jansson, whose parser recurses once per level. */
    if (oc_json_nesting_check(rq->body, rq->body_len, OC_MAX_NESTING, &je) != 0) {
        orchd_fail(rq, 400, "too_deep", "the body is %s: line %d column %d", je.text, je.line,
                   je.column);
        return NULL;
    }
    json_t *j = json_loadb(rq->body, rq->body_len, 0, &je);
    if (!j) {
        orchd_fail(rq, 400, "bad_json", "the body is not JSON: %s at line %d column %d",
                   je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        orchd_fail(rq, 400, "bad_json", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

int orchd_body_fields(struct orchd_req *rq, json_t *b, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k))
            i++;
        if (allowed[i])
            continue;
        struct oc_buf names = {0};
        for (i = 0; allowed[i]; i++)
            oc_buf_addf(&names, "%s%s", i ? ", " : "", allowed[i]);
        orchd_fail(rq, 400, "invalid", "unknown field '%s' (%s)", k, names.data);
        oc_buf_free(&names);
        return -1;
    }
    return 0;
}

int orchd_body_strings(struct orchd_req *rq, json_t *b, const char *field)
{
    json_t *m = json_object_get(b, field);
    const char *k;
    json_t *v;
    if (m && !json_is_object(m)) {
        orchd_fail(rq, 400, "invalid", "%s must be an object of NAME: \"text\"", field);
        return -1;
    }
    json_object_foreach(m, k, v) {
        if (!json_is_string(v)) {
            orchd_fail(rq, 400, "invalid", "%s.%s must be a string", field, k);
            return -1;
        }
    }
    return 0;
}

int orchd_body_duration(struct orchd_req *rq, json_t *b, const char *field, int64_t *ms)
{
    json_t *v = json_object_get(b, field);
    if (!v)
        return 0;
    if (json_is_number(v) && json_number_value(v) > 0) {
        *ms = (int64_t)(json_number_value(v) * 1000);
        return 0;
    }
    if (json_is_string(v) && oc_parse_duration_ms(json_string_value(v), ms) == 0 && *ms > 0)
        return 0;
    orchd_fail(rq, 400, "invalid", "%s must be a positive duration (\"30s\", \"5m\") or a "
               "number of seconds", field);
    return -1;
}

/* A value of a request built without a connection: exact names for query
 * arguments, any case for headers, as libmicrohttpd looks them up. */
static const char *orchd_kv_lookup(const char *const *kv, const char *key, int any_case)
{
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
        if (any_case ? !strcasecmp(kv[i], key) : !strcmp(kv[i], key))
            return kv[i + 1];
    return NULL;
}

const char *orchd_query(struct orchd_req *rq, const char *key)
{
    if (!rq->conn)
        return orchd_kv_lookup(rq->query_kv, key, 0);
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

int orchd_query_bool(struct orchd_req *rq, const char *key, int dflt, int *out)
{
    const char *v = orchd_query(rq, key);
    if (!v)
        *out = dflt;
    else if (!strcmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0"))
        *out = 0;
    else {
        orchd_fail(rq, 400, "invalid", "query parameter %s must be true or false, not '%.64s'", key, v);
        return -1;
    }
    return 0;
}

const char *orchd_header(struct orchd_req *rq, const char *key)
{
    if (!rq->conn)
        return orchd_kv_lookup(rq->header_kv, key, 1);
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, key);
}

/* Match path against pattern, capturing {x} segments into params (which
 * point into copy). */
static int orchd_match(const char *pattern, char *copy, const char **params)
{
    size_t np = 0;
    const char *p = pattern;
    char *s = copy;
    while (*p && *s) {
        if (*p == '{') {
            const char *pe = strchr(p, '}');
            char *se = strchr(s, '/');
            if (!pe || np == ORCHD_MAX_PARAMS)
                return 0;
            size_t len = se ? (size_t)(se - s) : strlen(s);
            if (!len)
                return 0;
            params[np++] = s;
            s += len;
            p = pe + 1;
            if (*s == '/' && *p == '/') {
                *s++ = 0;
                p++;
            } else if (*s || *p) {
                return 0;
            }
            continue;
        }
        if (*p != *s)
            return 0;
        p++;
        s++;
    }
    return !*p && !*s;
}

/* 0 = allowed; otherwise 401 or 403 already answered. */
static int orchd_auth(struct orchd_req *rq, int role)
{
    const struct oc_daemon_cfg *dc = &rq->d->cfg->daemon;
    if (role == 0 || role == -1)
        return 0;
    if (!dc->n_tokens)
        return 0; /* loopback-only dev mode, checked at start */
    const char *h = orchd_header(rq, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) || !h[7]) {
        orchd_auth_failed(rq, ORCHD_AUTH_MISSING, NULL);
        orchd_fail(rq, 401, "unauthorized", "an Authorization: Bearer TOKEN header is required");
        return -1;
    }
    unsigned char hash[32];
    orchd_sha256(h + 7, strlen(h + 7), hash);
    const struct oc_token *found = NULL;
    for (size_t i = 0; i < dc->n_tokens; i++)
        /* Every token is compared, in constant time: no early exit. */
        if (orchd_consttime_eq(hash, dc->tokens[i].sha256, 32))
            found = &dc->tokens[i];
    if (!found) {
        orchd_auth_failed(rq, ORCHD_AUTH_INVALID, NULL);
        orchd_fail(rq, 401, "unauthorized", "the bearer token is not valid");
        return -1;
    }
    rq->token = found;
    if (found->role < role) {
        orchd_auth_failed(rq, ORCHD_AUTH_FORBIDDEN, found->name);
        static const char *const names[] = {"", "read", "write", "admin"};
        orchd_fail(rq, 403, "forbidden", "token '%s' has role %s; this needs %s", found->name,
                   names[found->role], names[role]);
        return -1;
    }
    return 0;
}

static void orchd_route(struct orchd_req *rq)
{
    int path_known = 0;
    for (const struct orchd_route *r = orchd_routes; r->method; r++) {
        /* The match writes NULs into its copy to end the captured parts. */
        char *work = oc_xstrdup(rq->path);
        const char *params[ORCHD_MAX_PARAMS] = {0};
        int hit = orchd_match(r->pattern, work, params);
        path_known |= hit;
        if (hit && !strcmp(r->method, rq->method)) {
            memcpy(rq->params, params, sizeof params);
            rq->route = r;
            if (orchd_auth(rq, r->role) == 0)
                r->fn(rq);
            free(work);
            return;
        }
        free(work);
    }
    if (path_known)
        orchd_fail(rq, 405, "method_not_allowed", "%s is not allowed on %s", rq->method,
                   rq->path);
    else
        orchd_fail(rq, 404, "not_found", "no route %s", rq->path);
}

void orchd_dispatch(struct orchd_req *rq, int too_large)
{
    struct orchd *d = rq->d;
    if (too_large)
        orchd_fail(rq, 413, "too_large", "the body is larger than server.max_body (%lld bytes)",
                   (long long)d->cfg->daemon.max_body);
    else
        orchd_route(rq);
    orchd_metrics_http(d, rq->route, rq->status);
}

char *orchd_answer_text(struct orchd_req *rq, const char **ctype)
{
    if (rq->text) {
        char *text = rq->text;
        rq->text = NULL;
        *ctype = rq->content_type ? rq->content_type : "text/plain; charset=utf-8";
        return text;
    }
    *ctype = "application/json";
    char *j = rq->json ? json_dumps(rq->json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *text = oc_xasprintf("%s\n", j ? j : "{}");
    free(j);
    return text;
}

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
    if (*upload_size) {
        if (cc->body.len + *upload_size > (size_t)d->cfg->daemon.max_body)
            cc->too_large = 1; /* keep reading, answer once it is in */
        else
            oc_buf_add(&cc->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    struct orchd_req rq = {.d = d, .conn = conn, .method = method, .path = url,
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

static int orchd_loopback(const char *listen)
{
    return !strncmp(listen, "unix:", 5) || !strncmp(listen, "127.", 4) ||
           !strncmp(listen, "localhost:", 10) || !strncmp(listen, "[::1]:", 6);
}

struct orchd_server *orchd_server_start(struct orchd *d, const char *addr, char **err)
{
    if (!d->cfg->daemon.n_tokens && !orchd_loopback(addr)) {
        *err = oc_xasprintf("server.listen %s is not a loopback address and no server.tokens "
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
            *err = oc_xasprintf("server.listen: socket path too long: %s", addr + 5);
            orchd_authlog_free(d);
            free(s);
            return NULL;
        }
        strcpy(sa.sun_path, addr + 5);
        unlink(sa.sun_path);
        s->unix_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (s->unix_fd < 0 || bind(s->unix_fd, (struct sockaddr *)&sa, sizeof sa) != 0 ||
            listen(s->unix_fd, 64) != 0) {
            *err = oc_xasprintf("server.listen %s: %s", addr, strerror(errno));
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
            *err = oc_xasprintf("server.listen '%s' is not HOST:PORT (IPv4) or unix:PATH",
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
        *err = oc_xasprintf("server.listen %s: cannot start the HTTP server (address in use?)",
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
