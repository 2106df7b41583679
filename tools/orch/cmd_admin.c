/* orch --server URL admin reload: have the daemon re-read its config file
 * (POST /v1/admin/reload, an admin token). Prints what it now runs, or
 * every error of the file (the daemon keeps its running config); exit 0
 * when reloaded, 1 when refused, 2 for a usage or connection error. */
#include <string.h>

#include "cli.h"

static const char cli_admin_usage[] = "usage: orch --server URL admin reload\n";

static int cli_admin_reload(struct cli *c)
{
    struct cli_http_res res = {0};
    if (cli_http(c, "POST", "/v1/admin/reload", NULL, &res) != 0)
        return CLI_EXIT_USAGE;
    int rc;
    json_t *j = res.json;
    if (res.status == 200 || res.status == 422) {
        int ok = res.status == 200;
        if (c->json) {
            cli_print_json(json_incref(j));
        } else if (ok) {
            printf("reloaded: generation %lld, %lld workflows, %lld schedules, %lld webhooks, "
                   "%lld notifications, %lld tokens\n",
                   (long long)json_integer_value(json_object_get(j, "generation")),
                   (long long)json_integer_value(json_object_get(j, "workflows")),
                   (long long)json_integer_value(json_object_get(j, "schedules")),
                   (long long)json_integer_value(json_object_get(j, "webhooks")),
                   (long long)json_integer_value(json_object_get(j, "notifications")),
                   (long long)json_integer_value(json_object_get(j, "tokens")));
        } else {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(j, "errors"), i, e)
                fprintf(stderr, "%s\n", json_string_value(e));
            cli_err("reload refused: the daemon keeps its running config (generation %lld)",
                    (long long)json_integer_value(json_object_get(j, "generation")));
        }
        rc = ok ? CLI_EXIT_OK : CLI_EXIT_FAILED;
    } else {
        rc = cli_http_fail(c, &res);
    }
    cli_http_res_free(&res);
    return rc;
}

int cmd_admin(struct cli *c, int argc, char **argv)
{
    if (argc == 1 && !strcmp(argv[0], "reload") && c->server)
        return cli_admin_reload(c);
    if (cli_wants_help(argc, argv)) {
        fputs(cli_admin_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (!c->server)
        cli_err("admin talks to a daemon: give --server URL (or set $ORCH_SERVER); a daemon "
                "without an API reloads on SIGHUP");
    fputs(cli_admin_usage, stderr);
    return CLI_EXIT_USAGE;
}
