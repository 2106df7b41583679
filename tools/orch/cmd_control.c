/* orch control: the daemons' control flags.
 *   pause / resume  paused daemons claim no new runs and fire no schedules;
 *                   runs in flight go on and keep their leases
 *   drain           daemons finish what they run, then exit
 *   proof on|off    dry-run: steps describe themselves, backends create
 *                   nothing
 * The flags live in the store, so they hold across restarts and for every
 * daemon sharing the store. With --server they are set through that
 * daemon's API (an admin token), else in the store of -c FILE (or the
 * embedded default). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "flags.h"
#include "runctl.h"
#include "host.h"

static const char cli_control_usage[] =
    "usage: orch [--server URL | -c FILE] control [show | pause | resume | drain |\n"
    "                                              proof on|off]\n";

static int32_t cli_flag_cb(void *ud, const char *name, const char *value)
{
    if (oc_flag_is_switch(name))
        json_object_set_new(ud, name, json_boolean(value && !strcmp(value, "1")));
    return 0;
}

struct cli_control_op {
    const char *flag; /* NULL: read them all into shown */
    int on;
    json_t *shown;
};

static int cli_control_apply(struct oc_store *st, void *ud)
{
    const struct cli_control_op *op = ud;
    struct orch_error err;
    oc_error_init(&err);
    int rc = CLI_EXIT_OK;
    if ((op->flag ? oc_flag_write(st, op->flag, op->on ? "1" : NULL, &err)
                  : st->vt->flag_list(st->h, cli_flag_cb, op->shown, &err)) != ORCH_OK) {
        cli_err("control flags: %s", oc_error_text(&err));
        rc = CLI_EXIT_FAILED;
    }
    oc_error_clear(&err);
    return rc;
}

static int cli_control_local(struct cli *c, const char *flag, int on, json_t *shown)
{
    struct cli_control_op op = {flag, on, shown};
    return cli_with_store(c, cli_control_apply, &op);
}

int cmd_control(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv)) {
        fputs(cli_control_usage, stdout);
        return CLI_EXIT_OK;
    }
    const char *sub = argc ? argv[0] : "show";
    const char *flag = NULL;
    int on = 1, nargs = 1;
    if (!strcmp(sub, "pause") || !strcmp(sub, "resume")) {
        flag = OC_FLAG_PAUSED;
        on = !strcmp(sub, "pause");
    } else if (!strcmp(sub, "drain")) {
        flag = OC_FLAG_DRAINING;
    } else if (!strcmp(sub, "proof") && argc == 2 &&
               (!strcmp(argv[1], "on") || !strcmp(argv[1], "off"))) {
        flag = OC_FLAG_PROOF;
        on = !strcmp(argv[1], "on");
        nargs = 2;
    } else if (strcmp(sub, "show")) {
        fputs(cli_control_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    if (argc > nargs) {
        fputs(cli_control_usage, stderr);
        return CLI_EXIT_USAGE;
    }
    json_t *shown = json_pack("{s:b,s:b,s:b}", OC_FLAG_PAUSED, 0, OC_FLAG_PROOF, 0,
                              OC_FLAG_DRAINING, 0);
    int rc;
    if (c->server) {
        json_t *out;
        rc = flag ? cli_http_call(c, "POST", "/v1/control", json_pack("{s:b}", flag, on), &out)
                  : cli_http_call(c, "GET", "/v1/control", NULL, &out);
        if (rc == CLI_EXIT_OK)
            json_object_update(shown, out);
        json_decref(out);
    } else {
        rc = cli_control_local(c, flag, on, shown);
    }
    if (rc == CLI_EXIT_OK && flag)
        json_object_set_new(shown, flag, json_boolean(on));
    if (rc != CLI_EXIT_OK) {
        json_decref(shown);
    } else if (c->json) {
        cli_print_json(shown);
    } else {
        printf("paused    %s\nproof     %s\ndraining  %s\n",
               json_is_true(json_object_get(shown, OC_FLAG_PAUSED)) ? "yes" : "no",
               json_is_true(json_object_get(shown, OC_FLAG_PROOF)) ? "yes" : "no",
               json_is_true(json_object_get(shown, OC_FLAG_DRAINING)) ? "yes" : "no");
        json_decref(shown);
    }
    return rc;
}
