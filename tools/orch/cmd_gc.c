/* orch gc [--dry-run]: the CLI's reconcile. The file's retention: is
 * applied (core/retention.c, the rule orchd's sweep applies too) and each
 * run removed is reported; then instances whose ledger row says destroyed
 * but that their backend still holds (found by list_owned through their
 * orch labels) are destroyed and reported, as orchd's reconcile loop does
 * for a store it serves. --dry-run lists what retention would remove and
 * touches nothing (no instance is looked for either: finding one is
 * destroying it). */
#include <stdio.h>
#include <string.h>

#include "api_json.h"
#include "cli.h"
#include "host.h"
#include "retention.h"
#include "util.h"

static int cli_usage_gc(FILE *f, int rc)
{
    fputs("usage: orch gc [--dry-run] [--now TIME] FILE   (or orch -c FILE gc ...)\n"
          "Apply FILE's retention: delete the ended runs older than its limits\n"
          "(succeeded, failed, cancelled) with their attempts, events, logs and\n"
          "artifact blobs, and remove the blobs of runs past artifacts:; then\n"
          "destroy the instances that the store's ledger says are destroyed but\n"
          "that a backend of FILE still holds (found by their orch labels). Each\n"
          "run is listed, then the counts (runs, attempts, events, log bytes,\n"
          "blobs, bytes reclaimed); --json prints them as one object.\n"
          "  --dry-run   list what retention would remove; remove nothing\n"
          "  --now TIME  judge the runs' age as if the clock read TIME (UTC,\n"
          "              2027-01-02T03:04:05Z): with --dry-run, what a later gc takes\n"
          "exit status: 0 done (also when nothing was left), 1 a run could not be\n"
          "removed, a destroy failed or did not end in time, or the store cannot\n"
          "delete runs, 2 bad usage, config or store.\n",
          f);
    return rc;
}

struct gc_out {
    struct cli *c;
    int dry;
    json_t *runs; /* --json: each run acted on */
};

static void gc_on_run(void *ud, const struct oc_retention_item *it)
{
    struct gc_out *g = ud;
    json_t *ended = oc_api_time(it->ended_ns);
    const char *action = it->verdict == OC_RET_DELETE ? "delete" : "expire_artifacts";
    if (g->c->json) {
        json_t *o = json_pack("{s:s,s:s,s:s,s:O,s:s,s:I,s:I}", "run", it->run_id, "workflow",
                              it->workflow, "state", orch_run_state_name(it->state), "ended",
                              ended, "action", action, "blobs", (json_int_t)it->blobs,
                              "blob_bytes", (json_int_t)it->blob_bytes);
        if (it->purge)
            json_object_update_new(o, json_pack("{s:I,s:I,s:I,s:I}", "attempts",
                                            (json_int_t)it->purge->attempts, "events",
                                            (json_int_t)it->purge->events, "log_chunks",
                                            (json_int_t)it->purge->log_chunks, "log_bytes",
                                            (json_int_t)it->purge->log_bytes));
        if (it->error)
            json_object_set_new(o, "error", json_string(it->error));
        json_array_append_new(g->runs, o);
    } else if (it->error) {
        printf("gc: kept run %s (%s, %s): %s\n", it->run_id, it->workflow,
               orch_run_state_name(it->state), it->error);
    } else if (it->verdict == OC_RET_DELETE) {
        printf("gc: %s run %s (%s, %s, ended %s)", g->dry ? "would delete" : "deleted",
               it->run_id, it->workflow, orch_run_state_name(it->state),
               json_string_value(ended));
        if (it->purge)
            printf(": %llu attempts, %llu events, %llu log bytes",
                   (unsigned long long)it->purge->attempts,
                   (unsigned long long)it->purge->events,
                   (unsigned long long)it->purge->log_bytes);
        printf("%s%llu blobs (%llu bytes)\n", it->purge ? ", " : ": ",
               (unsigned long long)it->blobs, (unsigned long long)it->blob_bytes);
    } else {
        printf("gc: %s %llu artifacts of run %s (%s, %s, ended %s): %llu bytes\n",
               g->dry ? "would expire" : "expired", (unsigned long long)it->blobs, it->run_id,
               it->workflow, orch_run_state_name(it->state), json_string_value(ended),
               (unsigned long long)it->blob_bytes);
    }
    json_decref(ended);
}

static void gc_print_report(const struct oc_retention_report *r, int dry)
{
    printf("gc: retention: %llu run%s %s (%llu attempts, %llu events, %llu log chunks of "
           "%llu bytes, %llu instance rows), %llu blobs of %llu bytes, artifacts of %llu "
           "more run%s expired; %llu bytes reclaimed%s%s\n",
           (unsigned long long)r->runs, r->runs == 1 ? "" : "s",
           dry ? "would be deleted" : "deleted", (unsigned long long)r->attempts,
           (unsigned long long)r->events, (unsigned long long)r->log_chunks,
           (unsigned long long)r->log_bytes, (unsigned long long)r->instances,
           (unsigned long long)(r->blobs + r->artifacts), (unsigned long long)r->blob_bytes,
           (unsigned long long)r->artifact_runs, r->artifact_runs == 1 ? "" : "s",
           (unsigned long long)r->reclaimed_bytes, dry ? " (dry run: nothing removed)" : "",
           r->errors ? "; some runs were kept (see above)" : "");
}

/* The retention part; 0, or 1 when a run could not go or the store cannot
 * delete runs. *out: the --json object of it, or NULL without retention:. */
static int gc_retention(struct cli *c, struct oc_registry *reg, struct oc_store *st,
                        const struct oc_config *cfg, int dry, int64_t now_ns, json_t **out)
{
    *out = NULL;
    if (!cfg->retention.set)
        return 0;
    struct gc_out g = {c, dry, json_array()};
    struct oc_retention_opts o = {.now_ns = now_ns, .dry_run = dry, .fn = gc_on_run,
                                  .ud = &g};
    struct oc_retention_report rep;
    struct orch_error err;
    oc_error_init(&err);
    int bad = 0;
    if (oc_retention_sweep(reg, st, &cfg->retention, &o, &rep, &err) != ORCH_OK) {
        cli_err("gc: retention: %s", oc_error_text(&err));
        bad = 1;
    }
    oc_error_clear(&err);
    if (c->json) {
        *out = oc_retention_report_json(&rep);
        json_object_set_new(*out, "dry_run", json_boolean(dry));
        json_object_set(*out, "list", g.runs);
    } else {
        gc_print_report(&rep, dry);
    }
    json_decref(g.runs);
    return bad || rep.errors;
}

int cmd_gc(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_usage_gc(stdout, CLI_EXIT_OK);
    const char *file = c->config;
    int dry = 0;
    int64_t now_ns = oc_now_real_ns();
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dry-run")) {
            dry = 1;
            continue;
        }
        /* args.c hands --now=TIME over as --now TIME. */
        if (!strcmp(argv[i], "--now") && i + 1 < argc) {
            if (oc_parse_utc_time(argv[++i], &now_ns) != 0) {
                cli_err("gc: --now wants a UTC time such as 2027-01-02T03:04:05Z, not '%s'",
                        argv[i]);
                return cli_usage_gc(stderr, CLI_EXIT_USAGE);
            }
            continue;
        }
        if (argv[i][0] == '-' || file) {
            cli_err("gc: unexpected argument '%s' (one FILE, or -c FILE)", argv[i]);
            return cli_usage_gc(stderr, CLI_EXIT_USAGE);
        }
        file = argv[i];
    }
    if (!file) {
        cli_err("gc: which config? (its backends reach the instances)");
        return cli_usage_gc(stderr, CLI_EXIT_USAGE);
    }
    struct oc_registry *reg = cli_registry(NULL);
    struct oc_config *cfg = cli_load_config(file, reg);
    struct oc_store *st = cfg ? cli_open_store(c, reg, cfg) : NULL;
    struct oc_engine *e = NULL;
    struct orch_error err;
    oc_error_init(&err);
    int rc = CLI_EXIT_USAGE;
    if (st) {
        struct oc_engine_opts o = {
            .concurrency = cfg->concurrency,
            .state_dir = c->state_dir ? c->state_dir : cfg->state_dir,
            .env_passthrough = cfg->env_passthrough,
            .n_env_passthrough = cfg->n_env_passthrough,
        };
        e = oc_engine_new(reg, st, &o, &err);
        if (!e)
            cli_err("%s", oc_error_text(&err));
    }
    json_t *ret = NULL;
    int ret_bad = e ? gc_retention(c, reg, st, cfg, dry, now_ns, &ret) : 0;
    size_t submitted = 0, reaped = 0, failed = 0;
    if (e && dry) {
        rc = ret_bad ? CLI_EXIT_FAILED : CLI_EXIT_OK;
        if (c->json)
            cli_print_json(json_pack("{s:o*}", "retention", ret));
        else
            printf("gc: leftover instances are not looked for with --dry-run\n");
        ret = NULL;
    } else if (e && oc_engine_reap_leftovers(e, cfg, &submitted, &err) < 0) {
        cli_err("gc: %s", oc_error_text(&err));
    } else if (e) {
        int late = oc_engine_reap_wait(e, 300000, &reaped, &failed);
        rc = failed || late || ret_bad ? CLI_EXIT_FAILED : CLI_EXIT_OK;
        if (c->json) {
            cli_print_json(json_pack("{s:I,s:I,s:b,s:o*}", "leftovers_reaped",
                                     (json_int_t)reaped, "failed", (json_int_t)failed,
                                     "timed_out", late != 0, "retention", ret));
            ret = NULL;
        } else {
            printf("gc: %zu leftover instance%s destroyed%s%s\n", reaped,
                   reaped == 1 ? "" : "s", failed ? ", some could not be (see above)" : "",
                   late ? ", some did not finish in time" : "");
        }
    }
    json_decref(ret);
    oc_error_clear(&err);
    oc_engine_free(e);
    oc_store_close(st);
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}
