/* orch: run, resume, inspect and validate workflows from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host.h"
#include "version.h"


static const char usage[] =
    "usage: orch [--state-dir DIR] [--json] COMMAND [ARGS]\n"
    "\n"
    "commands:\n"
    "  run FILE WORKFLOW [--input K=V]... [--idempotency-key K] [--dry-run]\n"
    "                    [--concurrency N]     run a workflow to its end\n"
    "  resume RUN_ID                           continue an interrupted run\n"
    "  pause | resume                          daemons stop / go on claiming runs\n"
    "  runs list [--state S] [--workflow W] [--limit N]\n"
    "  runs show RUN_ID                        steps, attempts, outputs, errors\n"
    "  runs logs RUN_ID [STEP]                 the recorded output of steps\n"
    "  runs events RUN_ID                      the run's event ledger\n"
    "  validate FILE                           check a workflow file\n"
    "  migrate [--dry-run]                     bring the store's schema up to date\n"
    "  plugins list                            every plugin orch can load\n"
    "  plugins info NAME                       a plugin's options\n"
    "  control [pause|resume|drain|proof on|off]  the daemons' control flags\n"
    "\n"
    "with a daemon (--server URL or $ORCH_SERVER):\n"
    "  runs list|show|start|logs|events|cancel|requeue|approve|reject ...\n"
    "  instances create|list|show|exec|executions|output|cancel|destroy ...\n"
    "  control ...\n"
    "  health [--public]                       the daemon's health; exit 1 when degraded\n"
    "\n"
    "global options:\n"
    "  --state-dir DIR   where the embedded store and work dirs live\n"
    "                    (default: defaults.state_dir, $ORCH_STATE_DIR, ./.orch)\n"
    "  -c, --config FILE the workflow file whose store resume/runs use\n"
    "                    (default: the embedded SQLite store)\n"
    "  --json            machine-readable output\n"
    "  --server URL      send commands to orchd: http(s)://HOST:PORT or\n"
    "                    unix:/PATH (default: $ORCH_SERVER)\n"
    "  --token-file FILE the daemon's bearer token (default: $ORCH_TOKEN)\n"
    "  --version, --help\n"
    "\n"
    "exit status: 0 success, 1 the run failed or was cancelled, 2 bad usage\n"
    "or configuration.\n";

struct cli_cmd {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
};

static const struct cli_cmd cli_cmds[] = {
    {"run", cmd_run},         {"resume", cmd_resume}, {"runs", cmd_runs},
    {"validate", cmd_validate}, {"plugins", cmd_plugins}, {"instances", cmd_instances},
    {"control", cmd_control}, {"migrate", cmd_migrate},
    {"health", cmd_health},
};

int main(int argc, char **argv)
{
    struct cli c = {0};
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "--json")) {
            c.json = 1;
        } else if (!strcmp(argv[i], "--state-dir") && i + 1 < argc) {
            c.state_dir = argv[++i];
        } else if (!strncmp(argv[i], "--state-dir=", 12)) {
            c.state_dir = argv[i] + 12;
        } else if ((!strcmp(argv[i], "-c") || !strcmp(argv[i], "--config")) &&
                   i + 1 < argc) {
            c.config = argv[++i];
        } else if (!strcmp(argv[i], "--server") && i + 1 < argc) {
            c.server = argv[++i];
        } else if (!strcmp(argv[i], "--token-file") && i + 1 < argc) {
            c.token_file = argv[++i];
        } else if (!strcmp(argv[i], "--version")) {
            oc_version_print(stdout, "orch");
            return CLI_EXIT_OK;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(usage, stdout);
            return CLI_EXIT_OK;
        } else {
            cli_err("unknown option '%s' (see orch --help)", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (i >= argc) {
        fputs(usage, stderr);
        return CLI_EXIT_USAGE;
    }
    const char *name = argv[i];
    /* `orch pause` and a bare `orch resume` are the short forms of `orch
     * control pause|resume`; `orch resume RUN_ID` continues a run. */
    if (!strcmp(name, "pause") || (!strcmp(name, "resume") && i + 1 == argc)) {
        char *sub[] = {(char *)name};
        if (!c.server && !c.config && !c.state_dir && getenv("ORCH_SERVER") &&
            *getenv("ORCH_SERVER"))
            c.server = getenv("ORCH_SERVER");
        if (i + 1 != argc) {
            cli_err("pause takes no arguments");
            return CLI_EXIT_USAGE;
        }
        return cmd_control(&c, 1, sub);
    }
    /* run and resume drive a workflow in this process: --server is a
     * mistake there, while $ORCH_SERVER (set for the other commands) is
     * not. */
    if (c.server && (!strcmp(name, "run") || !strcmp(name, "resume"))) {
        cli_err("'%s' runs a workflow in this process; with a daemon use 'orch runs %s'",
                name, !strcmp(name, "run") ? "start WORKFLOW" : "requeue RUN_ID");
        return CLI_EXIT_USAGE;
    }
    /* An explicit store (-c, --state-dir) wins over $ORCH_SERVER. */
    if (!c.server && !c.config && !c.state_dir && getenv("ORCH_SERVER") &&
        *getenv("ORCH_SERVER"))
        c.server = getenv("ORCH_SERVER");
    if (c.server && !strcmp(name, "runs"))
        return cmd_runs_remote(&c, argc - i - 1, argv + i + 1);
    const char *names[sizeof cli_cmds / sizeof cli_cmds[0]];
    for (size_t k = 0; k < sizeof cli_cmds / sizeof cli_cmds[0]; k++) {
        names[k] = cli_cmds[k].name;
        if (!strcmp(name, cli_cmds[k].name))
            return cli_cmds[k].fn(&c, argc - i - 1, argv + i + 1);
    }
    const char *near = oc_closest(name, names, sizeof names / sizeof names[0]);
    if (near)
        cli_err("unknown command '%s'; did you mean '%s'?", name, near);
    else
        cli_err("unknown command '%s' (see orch --help)", name);
    return CLI_EXIT_USAGE;
}
