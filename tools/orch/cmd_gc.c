/* orch gc: the CLI's reconcile. Instances whose ledger row says destroyed
 * but that their backend still holds (found by list_owned through their
 * orch labels) are destroyed and reported, as orchd's reconcile loop does
 * for a store it serves. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "host.h"

static int cli_usage_gc(FILE *f, int rc)
{
    fputs("usage: orch gc FILE   (or orch -c FILE gc)\n"
          "Destroy the instances that the store's ledger says are destroyed but\n"
          "that a backend of FILE still holds (found by their orch labels), and\n"
          "say how many. Backends that cannot list their instances are skipped.\n"
          "exit status: 0 done (also when nothing was left), 1 a destroy failed\n"
          "or did not end in time, 2 bad usage, config or store.\n",
          f);
    return rc;
}

int cmd_gc(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_usage_gc(stdout, CLI_EXIT_OK);
    const char *file = c->config;
    for (int i = 0; i < argc; i++) {
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
    size_t submitted = 0, reaped = 0, failed = 0;
    if (e && oc_engine_reap_leftovers(e, cfg, &submitted, &err) < 0) {
        cli_err("gc: %s", oc_error_text(&err));
    } else if (e) {
        int late = oc_engine_reap_wait(e, 300000, &reaped, &failed);
        rc = failed || late ? CLI_EXIT_FAILED : CLI_EXIT_OK;
        if (c->json)
            cli_print_json(json_pack("{s:I,s:I,s:b}", "leftovers_reaped", (json_int_t)reaped,
                                     "failed", (json_int_t)failed, "timed_out", late != 0));
        else
            printf("gc: %zu leftover instance%s destroyed%s%s\n", reaped,
                   reaped == 1 ? "" : "s", failed ? ", some could not be (see above)" : "",
                   late ? ", some did not finish in time" : "");
    }
    oc_error_clear(&err);
    oc_engine_free(e);
    oc_store_close(st);
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}
