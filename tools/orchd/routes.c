/* The API's route table (method, pattern, role, handler, summary: the one
 * list docs/api/openapi.yaml must match) and the router: match a path,
 * check the caller's token against the route's role (auth.c), call the handler,
 * count the answer; and the answer's body as text. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "authlog.h"
#include "host.h"
#include "http.h"
#include "instances.h"
#include "metrics.h"
#include "util.h"

const struct orchd_route orchd_routes[] = {
    {"GET", "/health", 0, orchd_health, "ok or degraded (the health document's status)"},
    {"GET", "/health/live", 0, orchd_health_live, "liveness"},
    {"GET", "/health/ready", 0, orchd_health_ready, "readiness"},
    {"GET", "/health/env", ORCHD_ROLE_READ, orchd_health_env, "environment presence"},
    {"GET", "/v1/health", ORCHD_ROLE_READ, orchd_health_full, "the health document"},
    {"GET", "/metrics", ORCHD_ROLE_READ, orchd_metrics, "Prometheus metrics"},
    {"GET", "/v1/openapi.yaml", 0, orchd_openapi_yaml_get, "this API's OpenAPI document"},
    {"GET", "/v1/openapi.json", 0, orchd_openapi_json_get, "this API's OpenAPI document"},
    {"POST", "/v1/session", 0, orchd_session_login,
     "log in: check a token and keep it in the UI's HttpOnly session cookie"},
    {"DELETE", "/v1/session", 0, orchd_session_logout, "log out: clear the session cookie"},
    {"GET", "/v1/whoami", 0, orchd_whoami,
     "the caller's token name and role (null before a login)"},
    {"GET", "/v1/workflows", ORCHD_ROLE_READ, orchd_workflows_list, "list workflows"},
    {"GET", "/v1/workflows/{name}", ORCHD_ROLE_READ, orchd_workflows_get, "a workflow's DAG"},
    {"POST", "/v1/runs", ORCHD_ROLE_WRITE, orchd_runs_start, "start a run"},
    {"GET", "/v1/runs", ORCHD_ROLE_READ, orchd_runs_list, "list runs"},
    {"GET", "/v1/runs/{id}", ORCHD_ROLE_READ, orchd_runs_get, "a run with its steps"},
    {"POST", "/v1/runs/{id}/cancel", ORCHD_ROLE_WRITE, orchd_runs_cancel, "cancel a run"},
    {"POST", "/v1/runs/{id}/resume", ORCHD_ROLE_WRITE, orchd_runs_resume,
     "re-queue a failed or cancelled run"},
    {"GET", "/v1/runs/{id}/events", ORCHD_ROLE_READ, orchd_runs_events, "a run's ledger"},
    {"GET", "/v1/runs/{id}/artifacts", ORCHD_ROLE_READ, orchd_runs_artifacts,
     "a run's artifacts: name, size, sha256, step"},
    {"GET", "/v1/runs/{id}/artifacts/{name*}", ORCHD_ROLE_READ, orchd_runs_artifact,
     "an artifact's bytes, checked against its sha256 (byte ranges)"},
    {"GET", "/v1/artifacts/namespaces/{ns}", ORCHD_ROLE_READ, orchd_artns_list,
     "a shared artifact namespace's versions: name, version, state, size, sha256, writer"},
    {"GET", "/v1/artifacts/namespaces/{ns}/{name*}", ORCHD_ROLE_READ, orchd_artns_get,
     "a version's bytes (the latest stored, or ?version=N), checked against its sha256"},
    {"POST", "/v1/runs/{id}/steps/{step}/approve", ORCHD_ROLE_WRITE, orchd_runs_approve,
     "approve a waiting step"},
    {"POST", "/v1/runs/{id}/steps/{step}/reject", ORCHD_ROLE_WRITE, orchd_runs_reject,
     "reject a waiting step"},
    {"GET", "/v1/runs/{id}/steps/{step}/logs", ORCHD_ROLE_READ, orchd_runs_logs,
     "a step's log, or a live stream"},
    {"GET", "/v1/dead-letters", ORCHD_ROLE_READ, orchd_dead_letters, "failed runs"},
    {"POST", "/v1/dead-letters/{id}/requeue", ORCHD_ROLE_WRITE, orchd_dead_letter_requeue,
     "re-queue a failed run"},
    {"DELETE", "/v1/dead-letters/{id}", ORCHD_ROLE_WRITE, orchd_dead_letter_discard,
     "discard a failed run for good"},
    {"POST", "/v1/instances", ORCHD_ROLE_WRITE, orchd_instances_create,
     "create an instance on a backend"},
    {"GET", "/v1/instances", ORCHD_ROLE_READ, orchd_instances_list,
     "instances of the ownership ledger, with backend status"},
    {"GET", "/v1/instances/{id}", ORCHD_ROLE_READ, orchd_instances_get, "an instance"},
    {"DELETE", "/v1/instances/{id}", ORCHD_ROLE_WRITE, orchd_instances_destroy,
     "destroy an instance"},
    {"POST", "/v1/instances/{id}/exec", ORCHD_ROLE_WRITE, orchd_instances_exec,
     "run a command on an instance"},
    {"GET", "/v1/instances/{id}/executions", ORCHD_ROLE_READ, orchd_executions_list,
     "an instance's executions"},
    {"GET", "/v1/instances/{id}/executions/{exec}", ORCHD_ROLE_READ, orchd_executions_get,
     "an execution, with its output"},
    {"GET", "/v1/instances/{id}/executions/{exec}/output", ORCHD_ROLE_READ,
     orchd_executions_output, "an execution's output, or a live stream"},
    {"DELETE", "/v1/instances/{id}/executions/{exec}", ORCHD_ROLE_WRITE, orchd_executions_cancel,
     "cancel an execution"},
    {"GET", "/v1/ticks", ORCHD_ROLE_READ, orchd_ticks_list, "the tick ledger, newest first"},
    {"GET", "/v1/plugins", ORCHD_ROLE_READ, orchd_plugins_list, "plugins and load errors"},
    {"GET", "/v1/control", ORCHD_ROLE_READ, orchd_control_get, "control flags"},
    {"POST", "/v1/control", ORCHD_ROLE_ADMIN, orchd_control_set, "pause, resume, proof, drain"},
    {"POST", "/v1/admin/reload", ORCHD_ROLE_ADMIN, orchd_admin_reload,
     "re-read and apply the config file"},
    {"POST", "/v1/hooks/{name}", -1, orchd_hook, "webhook trigger (HMAC-signed)"},
    {NULL, NULL, 0, NULL, NULL},
};
/* The number of routes (the table ends with an empty row): the metrics'
 * and the auth log's per-route counters are sized by it. */
const size_t orchd_routes_count = sizeof orchd_routes / sizeof orchd_routes[0] - 1;

/* Match path against pattern, capturing {x} segments (and a last {x*},
 * the rest of the path) into params (which point into copy). */
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
            /* {x*} at the end takes the rest of the path, slashes and all
             * (an artifact's name may have them). */
            int rest = pe[-1] == '*' && !pe[1];
            size_t len = se && !rest ? (size_t)(se - s) : strlen(s);
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
            if (orchd_auth(rq, r->role) != 0) {
                /* answered */
            } else if (r->role && atomic_load(&rq->d->starting)) {
                /* Every route with a role reads or writes the store. */
                char *why = orchd_starting_why(rq->d);
                orchd_fail(rq, 503, "starting", "%s", why);
                free(why);
            } else {
                r->fn(rq);
            }
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
                   (long long)orchd_cfg_of(rq->cfg)->max_body);
    else if (!orchd_ui_serve(rq))
        orchd_route(rq);
    orchd_metrics_http(d, rq->route, rq->status);
}
