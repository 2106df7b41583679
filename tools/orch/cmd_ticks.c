/* orch ticks: the tick ledger (what each scheduler tick of each daemon
 * did), from the store of -c FILE (or the embedded default), or with
 * --server from that daemon's GET /v1/ticks. Printed oldest first, as a
 * log reads; --json gives the API's document (newest first). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host.h"
#include "tick_ledger.h"
#include "util.h"

static const char cli_ticks_usage[] =
    "usage: orch [--server URL | -c FILE] ticks [--since WHEN] [--limit N]\n"
    "  --since WHEN  a duration ago (90s, 10m, 2h) or a UTC time\n"
    "                (2026-12-03T14:00:00Z); default: all kept\n"
    "  --limit N     the newest N ticks at most (1..10000, default 20)\n";

static int cli_ticks_bad(const char *fmt, const char *v)
{
    cli_err(fmt, v);
    fputs(cli_ticks_usage, stderr);
    return CLI_EXIT_USAGE;
}

static void cli_print_ticks(json_t *doc)
{
    json_t *ticks = json_object_get(doc, "ticks");
    printf("%-24s %10s %7s %10s %5s %8s %6s %6s  %s\n", "STARTED", "DURATION", "CLAIMED",
           "DISPATCHED", "FIRED", "REQUEUED", "REAPED", "ERRORS", "OWNER");
    for (size_t i = json_array_size(ticks); i-- > 0;) {
        json_t *t = json_array_get(ticks, i);
        /* "2026-12-03T15:06:23.789123456Z" shown to the millisecond. */
        const char *started = json_string_value(json_object_get(t, "started"));
        char when[40], took[32];
        snprintf(when, sizeof when, "%.23sZ", started ? started : "?");
#define N(k) (long long)json_integer_value(json_object_get(t, k))
        /* Most ticks take well under a millisecond: shown to the microsecond. */
        if (N("duration_ns") < 1000000000)
            snprintf(took, sizeof took, "%.3fms", (double)N("duration_ns") / 1e6);
        else
            cli_fmt_duration(took, sizeof took, N("duration_ns"));
        printf("%-24s %10s %7lld %10lld %5lld %8lld %6lld %6lld  %s\n", when, took,
               N("claimed"), N("dispatched"), N("fired"), N("requeued"), N("reaped"),
               N("errors"), json_string_value(json_object_get(t, "owner")));
#undef N
    }
    if (json_is_true(json_object_get(doc, "more")))
        fprintf(stderr, "orch: older ticks in range were left out (--limit)\n");
}

struct cli_ticks_read {
    int64_t since_ns;
    uint32_t limit;
    json_t **out;
};

static int cli_ticks_read(struct oc_store *st, void *ud)
{
    struct cli_ticks_read *q = ud;
    struct orch_error err;
    oc_error_init(&err);
    int rc = CLI_EXIT_OK;
    if (oc_tick_list_json(st, q->since_ns, q->limit, q->out, &err) != ORCH_OK) {
        cli_err("ticks: %s", oc_error_text(&err));
        rc = err.code == ORCH_E_UNSUPPORTED ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    oc_error_clear(&err);
    return rc;
}

static int cli_ticks_local(struct cli *c, const char *since, uint32_t limit, json_t **out)
{
    struct cli_ticks_read q = {.limit = limit, .out = out};
    if (since && oc_tick_since_parse(since, oc_now_real_ns(), &q.since_ns) != 0)
        return cli_ticks_bad("--since must be a duration ago (90s, 10m, 2h) or a UTC time "
                             "(2026-12-03T14:00:00Z) not in the future, not '%s'", since);
    return cli_with_store(c, cli_ticks_read, &q);
}

static int cli_ticks_remote(struct cli *c, const char *since, uint32_t limit, json_t **out)
{
    char *path;
    if (since) {
        char *q = cli_seg(since);
        path = oc_xasprintf("/v1/ticks?limit=%u&since=%s", limit, q);
        free(q);
    } else {
        path = oc_xasprintf("/v1/ticks?limit=%u", limit);
    }
    int rc = cli_http_call(c, "GET", path, NULL, out);
    free(path);
    return rc;
}

int cmd_ticks(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(cli_ticks_usage, stdout);
        return CLI_EXIT_OK;
    }
    const char *since = NULL;
    uint32_t limit = 20;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--since") && i + 1 < argc) {
            since = argv[++i];
        } else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            char *end;
            unsigned long v = strtoul(argv[++i], &end, 10);
            if (!*argv[i] || *end || v < 1 || v > OC_TICKS_MAX)
                return cli_ticks_bad("--limit must be 1..10000, not '%s'", argv[i]);
            limit = (uint32_t)v;
        } else {
            return cli_ticks_bad("ticks: unexpected '%s'", argv[i]);
        }
    }
    json_t *doc = NULL;
    int rc = c->server ? cli_ticks_remote(c, since, limit, &doc)
                       : cli_ticks_local(c, since, limit, &doc);
    if (rc == CLI_EXIT_OK) {
        if (c->json)
            cli_print_json(json_incref(doc));
        else
            cli_print_ticks(doc);
    }
    json_decref(doc);
    return rc;
}
