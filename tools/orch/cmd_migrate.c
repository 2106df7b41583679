/* orch migrate [--dry-run]: bring the store's schema up to this orch's.
 * Each store migrates in transactions and refuses a schema newer than the
 * code; running it twice, or from two processes at once, is safe. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "host.h"

int cmd_migrate(struct cli *c, int argc, char **argv)
{
    int dry = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dry-run")) {
            dry = 1;
        } else if (cli_wants_help(argc, argv)) {
            printf("usage: orch [-c FILE] migrate [--dry-run]\n");
            return CLI_EXIT_OK;
        } else {
            cli_err("migrate: unexpected argument '%s'", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    struct oc_registry *reg = cli_registry(NULL);
    int failed;
    struct oc_config *cfg = cli_global_config(c, reg, &failed);
    struct orch_error err;
    oc_error_init(&err);
    struct oc_store *st = NULL;
    int rc = CLI_EXIT_USAGE;
    if (!failed) {
        const char *sd = c->state_dir ? c->state_dir : cfg ? cfg->state_dir : NULL;
        st = oc_store_open_unchecked(reg, cfg ? &cfg->store : NULL, sd, &err);
        if (!st)
            cli_err("cannot open the store: %s", oc_error_text(&err));
    }
    int32_t before = 0, sup = 0, after = 0;
    char *plan = NULL;
    if (st && st->vt->schema_version(st->h, &before, &sup, &err) == ORCH_OK &&
        st->vt->migrate(st->h, dry, &plan, &err) == ORCH_OK &&
        st->vt->schema_version(st->h, &after, &sup, &err) == ORCH_OK) {
        if (c->json)
            cli_print_json(json_pack("{s:i,s:i,s:i,s:b,s:s?}", "from", before, "to", after,
                                     "supported", sup, "dry_run", dry, "plan", plan));
        else if (dry)
            printf("%s\n", plan ? plan : "nothing to do");
        else
            printf("store %s: schema %d -> %d (this orch: %d)\n", st->plugin->desc->name,
                   before, after, sup);
        rc = CLI_EXIT_OK;
    } else if (st) {
        cli_err("migrate: %s", oc_error_text(&err));
        rc = err.code == ORCH_E_CONFIG ? CLI_EXIT_USAGE : CLI_EXIT_FAILED;
    }
    oc_host()->free(plan);
    oc_error_clear(&err);
    oc_store_close(st);
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}
