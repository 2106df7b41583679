/* orch health: a daemon's health document (GET /v1/health, a read token)
 * for a person, or with --public only GET /health's ok/degraded, which
 * needs no token (the container image's HEALTHCHECK). Exit status 0 when
 * ok, 1 when degraded, 2 when the daemon cannot be asked. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char cli_health_usage[] =
    "usage: orch --server URL health [--public]\n"
    "  --public  only ok or degraded, from GET /health (no token needed)\n"
    "exit status: 0 ok, 1 degraded, 2 the daemon could not be asked\n";

static const char *cli_yes(json_t *j, const char *key)
{
    return json_is_true(json_object_get(j, key)) ? "yes" : "no";
}

/* A number of milliseconds in the document as "1.2s", or "-" when absent. */
static void cli_ms(char *buf, size_t n, json_t *v)
{
    if (json_is_number(v))
        cli_fmt_duration(buf, n, (int64_t)(json_number_value(v) * 1e6));
    else
        snprintf(buf, n, "-");
}

static void cli_print_health(json_t *doc)
{
    char a[32], b[32];
    json_t *problems = json_object_get(doc, "problems"), *v;
    size_t i;
    printf("status     %s\n", json_string_value(json_object_get(doc, "status")));
    json_array_foreach(problems, i, v)
        printf("  - %s\n", json_string_value(v));
    cli_ms(a, sizeof a, json_object_get(doc, "uptime_ms"));
    const char *role = json_string_value(json_object_get(doc, "role"));
    printf("worker     %s (orchd %s, up %s%s%s)\n",
           json_string_value(json_object_get(doc, "worker")),
           json_string_value(json_object_get(doc, "version")), a,
           role && strcmp(role, "worker") ? ", " : "", role && strcmp(role, "worker") ? role : "");
    json_t *st = json_object_get(doc, "store");
    printf("store      %s: %s", json_string_value(json_object_get(st, "uses")),
           json_is_true(json_object_get(st, "reachable")) ? "reachable" : "UNREACHABLE");
    if (json_is_true(json_object_get(st, "reachable")))
        printf(" in %.1f ms", json_number_value(json_object_get(st, "latency_ms")));
    json_t *schema = json_object_get(st, "schema");
    if (schema)
        printf(", schema %lld of %lld%s",
               (long long)json_integer_value(json_object_get(schema, "version")),
               (long long)json_integer_value(json_object_get(schema, "supported")),
               json_is_true(json_object_get(schema, "current")) ? "" : " (run orch migrate)");
    printf("\n");
    json_t *c = json_object_get(doc, "control");
    if (c)
        printf("control    paused %s, proof %s, draining %s\n", cli_yes(c, "paused"),
               cli_yes(c, "proof"), cli_yes(c, "draining"));
    json_t *q = json_object_get(doc, "queue");
    if (q) {
        cli_ms(a, sizeof a, json_object_get(q, "oldest_age_ms"));
        printf("queue      %lld queued (oldest %s), %lld delayed\n",
               (long long)json_integer_value(json_object_get(q, "depth")), a,
               (long long)json_integer_value(json_object_get(q, "delayed")));
        printf("runs       %lld running, %lld waiting for approval, %lld dead letters\n",
               (long long)json_integer_value(json_object_get(doc, "running")),
               (long long)json_integer_value(json_object_get(doc, "waiting_for_approval")),
               (long long)json_integer_value(json_object_get(doc, "dead_letters")));
    }
    json_array_foreach(json_object_get(doc, "leases"), i, v) {
        cli_ms(a, sizeof a, json_object_get(v, "last_renewal_age_ms"));
        cli_ms(b, sizeof b, json_object_get(v, "expires_in_ms"));
        json_t *name = json_object_get(v, "name");
        printf("lease      %s held by %s", name ? json_string_value(name) : "runs",
               json_string_value(json_object_get(v, "owner")));
        if (json_object_get(v, "runs"))
            printf(" (%lld runs)", (long long)json_integer_value(json_object_get(v, "runs")));
        printf(", renewed %s ago, expires in %s\n", a, b);
    }
    json_t *s = json_object_get(doc, "scheduler");
    cli_ms(a, sizeof a, json_object_get(s, "last_tick_age_ms"));
    cli_ms(b, sizeof b, json_object_get(s, "slowest_recent_tick_ms"));
    printf("scheduler  last tick %s ago, slowest of the last %lld ticks %s\n", a,
           (long long)json_integer_value(json_object_get(s, "recent_ticks")), b);
    json_t *p = json_object_get(doc, "executor_pool"), *r = json_object_get(doc, "runs_driven");
    printf("executors  %lld of %lld busy; runs driven here %lld of at most %lld\n",
           (long long)json_integer_value(json_object_get(p, "busy")),
           (long long)json_integer_value(json_object_get(p, "capacity")),
           (long long)json_integer_value(json_object_get(r, "active")),
           (long long)json_integer_value(json_object_get(r, "max")));
    json_t *pl = json_object_get(doc, "plugins");
    printf("plugins    %lld loaded, %lld failed to load\n",
           (long long)json_integer_value(json_object_get(pl, "loaded")),
           (long long)json_integer_value(json_object_get(pl, "errors")));
    const char *name;
    json_object_foreach(json_object_get(doc, "secrets"), name, v)
        printf("secret     %s %s\n", name, json_is_true(v) ? "set" : "NOT SET");
}

int cmd_health(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(cli_health_usage, stdout);
        return CLI_EXIT_OK;
    }
    int public = argc == 1 && !strcmp(argv[0], "--public");
    if (argc > 1 || (argc == 1 && !public)) {
        fputs(cli_health_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (!c->server) {
        cli_err("health asks a daemon: give --server URL or set ORCH_SERVER");
        return CLI_EXIT_USAGE;
    }
    struct cli_http_res res;
    if (cli_http(c, "GET", public ? "/health" : "/v1/health", NULL, &res) != 0)
        return CLI_EXIT_USAGE;
    /* 503 is the daemon's answer when degraded, with the document. */
    const char *status = json_string_value(json_object_get(res.json, "status"));
    if ((res.status != 200 && res.status != 503) || !status) {
        int rc = cli_http_fail(c, &res);
        cli_http_res_free(&res);
        return rc == CLI_EXIT_FAILED ? CLI_EXIT_USAGE : rc;
    }
    int ok = !strcmp(status, "ok");
    if (c->json)
        cli_print_json(json_incref(res.json));
    else if (public)
        printf("%s\n", status);
    else
        cli_print_health(res.json);
    cli_http_res_free(&res);
    return ok ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
