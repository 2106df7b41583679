/* The HTTP layer shared by the route files. */
#ifndef ORCHD_HTTP_H
#define ORCHD_HTTP_H

#include <microhttpd.h>

#include "orchd.h"
#include "util.h"

#define ORCHD_MAX_PARAMS 4

struct orchd_req {
    struct orchd *d;
    /* The config snapshot this request uses from start to end (conf.h);
     * cfg == conf->cfg. */
    const struct oc_config *cfg;
    const struct orchd_conf *conf;
    struct MHD_Connection *conn;
    const char *method;
    const char *path;
    const char *params[ORCHD_MAX_PARAMS]; /* the {x} parts of the route, in order */
    char *body;                           /* NUL-terminated */
    size_t body_len;
    const struct orchd_token *token;         /* who called; NULL without auth */
    const struct orchd_route *route;      /* the route matched, or NULL */
    int by_cookie;                        /* the token came from the UI's session cookie */
    /* A request built without a connection (conn NULL: the fuzz harness):
     * NAME, VALUE, ... NULL, read by orchd_query and orchd_header. */
    const char *const *query_kv;
    const char *const *header_kv;
    /* The answer: */
    unsigned status;
    json_t *json;                         /* owned */
    char *text;                           /* owned; with content_type */
    const char *content_type;
    char *set_cookie;                     /* owned: a Set-Cookie header to send */
    int ui;                               /* a /ui/ answer: the UI's security headers */
    struct MHD_Response *stream;          /* a streamed answer */
    char request_id[132];                 /* X-Request-Id: the caller's or a new one */
};

typedef void (*orchd_handler)(struct orchd_req *rq);

struct orchd_route {
    const char *method;
    const char *pattern;                  /* "/v1/runs/{id}" */
    int role;                             /* 0 = public, ORCHD_ROLE_*, -1 = HMAC (webhooks) */
    orchd_handler fn;
    const char *summary;
};

/* routes.c: the table (ends with an empty row) and its length without
 * that row. */
extern const struct orchd_route orchd_routes[];
extern const size_t orchd_routes_count;

/* Count the request and route it to its handler (413 when too_large: it
 * passed server.max_body); the answer is left in rq. */
void orchd_dispatch(struct orchd_req *rq, int too_large);

/* reply.c: answers. */
/* The answer's body when it is not a stream, and its content type;
 * malloc'd (a handler's text is handed over). */
char *orchd_answer_text(struct orchd_req *rq, const char **ctype);
void orchd_reply(struct orchd_req *rq, unsigned status, json_t *j);
void orchd_fail(struct orchd_req *rq, unsigned status, const char *code, const char *fmt, ...)
    ORCH_PRINTF(4, 5);
/* From a store/core error: 404, 409, 400 or 500 by its code. */
void orchd_fail_err(struct orchd_req *rq, const struct orch_error *err);
/* The body as a JSON object; NULL after a 400 answer. An empty body is {}. */
json_t *orchd_body_object(struct orchd_req *rq);
/* Checks of a body's fields; each answers 400 naming the field and returns
 * -1 when it fails. allowed ends with NULL. */
int orchd_body_fields(struct orchd_req *rq, json_t *b, const char *const *allowed);
int orchd_body_strings(struct orchd_req *rq, json_t *b, const char *field);
/* "30s", "5m", or a number of seconds; *ms untouched when absent. */
int orchd_body_duration(struct orchd_req *rq, json_t *b, const char *field, int64_t *ms);
const char *orchd_query(struct orchd_req *rq, const char *key);
/* A true/false (or 1/0) query parameter, dflt when absent. -1 after
 * answering 400 naming the parameter for any other spelling. */
int orchd_query_bool(struct orchd_req *rq, const char *key, int dflt, int *out);
const char *orchd_header(struct orchd_req *rq, const char *key);
/* Run f with the API's store connection held. */
#define ORCHD_API_LOCK(d) pthread_mutex_lock(&(d)->api_lock)
#define ORCHD_API_UNLOCK(d) pthread_mutex_unlock(&(d)->api_lock)

/* sse.c: a server-sent event stream's queue. */
struct orchd_sse {
    struct oc_buf pending;
    size_t sent;
};
/* Queue "event: EVENT [id: ID] data: JSON"; takes data. */
void orchd_sse_event(struct orchd_sse *s, const char *event, const char *id, json_t *data);
int orchd_sse_drained(const struct orchd_sse *s);
void orchd_sse_restart(struct orchd_sse *s); /* when drained: empty for new events */
void orchd_sse_keepalive(struct orchd_sse *s);
/* Hand up to max bytes of what is queued to the reader. */
ssize_t orchd_sse_copy(struct orchd_sse *s, char *buf, size_t max);
void orchd_sse_free(struct orchd_sse *s);
/* A polled stream's reader: while nothing is queued, poll(cls) (which
 * queues events and sets *done after the last), five times 200 ms apart,
 * then a keep-alive; the end of the stream once *done and all is sent. */
ssize_t orchd_sse_pump(struct orchd_sse *s, const int *done, void (*poll)(void *), void *cls,
                       char *buf, size_t max);
/* events_follow.c: GET /v1/runs/{id}/events?follow=true, after seq after. */
void orchd_events_follow(struct orchd_req *rq, long long after);

/* ticks.c */
void orchd_ticks_list(struct orchd_req *rq);

/* routes_runs.c */
void orchd_runs_start(struct orchd_req *rq);
void orchd_runs_list(struct orchd_req *rq);
void orchd_runs_get(struct orchd_req *rq);
void orchd_runs_cancel(struct orchd_req *rq);
void orchd_runs_resume(struct orchd_req *rq);
void orchd_runs_approve(struct orchd_req *rq);
void orchd_runs_reject(struct orchd_req *rq);
void orchd_runs_events(struct orchd_req *rq);
void orchd_runs_logs(struct orchd_req *rq);
void orchd_dead_letters(struct orchd_req *rq);
void orchd_dead_letter_requeue(struct orchd_req *rq);
void orchd_dead_letter_discard(struct orchd_req *rq);
/* routes_artifacts.c */
void orchd_runs_artifacts(struct orchd_req *rq);
void orchd_runs_artifact(struct orchd_req *rq);
/* routes_artifacts.c: an artifact's bytes as every artifact route answers
 * them (spooled, checked, Content-Length, ranges, ETag, Repr-Digest);
 * open_fn finds it, under the API lock. NOT_FOUND is 404, INVALID_ARG
 * 400, anything else 500. */
struct oc_run_artifact;
typedef orch_status (*orchd_art_open_fn)(struct orchd_req *rq, struct oc_run_artifact **a,
                                         struct orch_error *err);
void orchd_artifact_send(struct orchd_req *rq, orchd_art_open_fn open_fn);
/* routes_artifact_ns.c: GET /v1/artifacts/namespaces/{ns}[/{name*}]. */
void orchd_artns_list(struct orchd_req *rq);
void orchd_artns_get(struct orchd_req *rq);
/* health.c */
void orchd_health(struct orchd_req *rq);
void orchd_health_full(struct orchd_req *rq);
void orchd_health_live(struct orchd_req *rq);
void orchd_health_ready(struct orchd_req *rq);
void orchd_health_env(struct orchd_req *rq);
/* routes_openapi.c */
void orchd_openapi_yaml_get(struct orchd_req *rq);
void orchd_openapi_json_get(struct orchd_req *rq);
/* session.c: the UI's login, logout and who-am-I */
void orchd_session_login(struct orchd_req *rq);
void orchd_session_logout(struct orchd_req *rq);
void orchd_whoami(struct orchd_req *rq);
/* ui.c: the web UI's embedded files under /ui/; 1 when the path is the
 * UI's (and answered), 0 when it is the API's. */
int orchd_ui_serve(struct orchd_req *rq);
/* The headers every /ui/ answer carries (CSP, nosniff, referrer). */
void orchd_ui_headers(struct MHD_Response *resp);
/* routes_catalog.c */
void orchd_workflows_list(struct orchd_req *rq);
void orchd_workflows_get(struct orchd_req *rq);
void orchd_plugins_list(struct orchd_req *rq);
/* routes_control.c */
void orchd_control_get(struct orchd_req *rq);
void orchd_control_set(struct orchd_req *rq);
void orchd_admin_reload(struct orchd_req *rq);
/* routes_hooks.c */
void orchd_hook(struct orchd_req *rq);

#endif
