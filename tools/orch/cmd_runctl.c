/* orch runs approve|reject|cancel|requeue|discard: requests on runs, written to
 * the store for whichever process drives (or next claims) the run. */
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "host.h"
#include "json_limit.h"
#include "runctl.h"
#include "util.h"

/* NAME=VALUE: VALUE is taken as JSON when it is a JSON number, boolean or
 * quoted string, else as text. */
int cli_input_kv(json_t *obj, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        cli_err("--input wants NAME=VALUE, got '%s'", kv);
        return -1;
    }
    char *name = oc_xstrndup(kv, (size_t)(eq - kv));
    json_t *v = oc_json_loads_bounded(eq + 1, JSON_DECODE_ANY, NULL);
    if (!v || json_is_object(v) || json_is_array(v) || json_is_null(v)) {
        json_decref(v);
        v = json_string(eq + 1);
    }
    json_object_set_new(obj, name, v);
    free(name);
    return 0;
}

static char *cli_whoami(void)
{
    struct passwd *pw = getpwuid(getuid());
    return oc_xasprintf("%s (cli)", pw ? pw->pw_name : "unknown");
}

int cli_decision_args(int argc, char **argv, json_t *input, const char **comment)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            if (cli_input_kv(input, argv[++i]) != 0)
                return -1;
        } else if (!strcmp(argv[i], "--comment") && i + 1 < argc) {
            *comment = argv[++i];
        } else {
            cli_err("unexpected argument '%s'", argv[i]);
            return -1;
        }
    }
    return 0;
}

int cli_discard_args(int argc, char **argv, const char **reason)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--reason") && i + 1 < argc) {
            *reason = argv[++i];
        } else {
            cli_err("unexpected argument '%s' (usage: orch runs discard RUN_ID [--reason TEXT])",
                    argv[i]);
            return -1;
        }
    }
    return 0;
}

int cli_runs_control(struct cli *c, struct oc_store *st, const char *sub, int argc,
                     char **argv)
{
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc;
    char *who = cli_whoami();
    int approve = !strcmp(sub, "approve");
    if (approve || !strcmp(sub, "reject")) {
        if (argc < 2) {
            cli_err("usage: orch runs %s RUN_ID STEP [--input K=V]... [--comment TEXT]", sub);
            free(who);
            return CLI_EXIT_USAGE;
        }
        json_t *input = json_object();
        const char *comment = NULL;
        if (cli_decision_args(argc - 2, argv + 2, input, &comment) != 0) {
            json_decref(input);
            free(who);
            return CLI_EXIT_USAGE;
        }
        rc = oc_run_decide(st, argv[0], argv[1], approve, input, who, comment, &err);
        json_decref(input);
    } else if (!strcmp(sub, "cancel")) {
        rc = oc_run_cancel_request(st, argv[0], &err);
    } else if (!strcmp(sub, "discard")) {
        const char *reason = NULL;
        if (cli_discard_args(argc - 1, argv + 1, &reason) != 0) {
            free(who);
            return CLI_EXIT_USAGE;
        }
        rc = oc_run_discard(st, argv[0], who, reason, &err);
    } else {
        rc = oc_run_requeue(st, argv[0], who, &err);
    }
    free(who);
    if (rc != ORCH_OK) {
        cli_err("%s", oc_error_text(&err));
        oc_error_clear(&err);
        return rc == ORCH_E_NOT_FOUND || rc == ORCH_E_CONFLICT ? CLI_EXIT_FAILED
                                                                : CLI_EXIT_USAGE;
    }
    if (c->json)
        cli_print_json(json_pack("{s:s,s:s}", "run_id", argv[0], "done", sub));
    else
        printf("run %s: %s %s\n", argv[0], sub,
               approve || !strcmp(sub, "reject") || !strcmp(sub, "requeue")
                   ? "recorded; the run is queued again (a daemon continues it, or orch resume)"
               : !strcmp(sub, "discard") ? "done; it is cancelled and no longer a dead letter"
                                         : "requested");
    return CLI_EXIT_OK;
}
