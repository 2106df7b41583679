/* orch: run, resume, inspect and validate workflows from the command line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"
#include "host.h"
#include "orchd_cfg.h"
#include "version.h"


static const char usage[] =
    "usage: orch [OPTIONS] COMMAND [ARGS] [OPTIONS]\n"
    "\n"
    "commands:\n"
    "  run FILE WORKFLOW [--input K=V]... [--idempotency-key K] [--dry-run]\n"
    "                    [--concurrency N]     run a workflow to its end\n"
    "  resume RUN_ID                           continue an interrupted run\n"
    "  pause | resume                          daemons stop / go on claiming runs\n"
    "  runs list [--state S] [--workflow W] [--limit N]\n"
    "  runs show RUN_ID                        steps, attempts, outputs, errors\n"
    "  runs logs RUN_ID [STEP]                 the recorded output of steps\n"
    "  runs logs RUN_ID --follow               the run live, as orch run shows it\n"
    "  runs events RUN_ID                      the run's event ledger\n"
    "  runs discard RUN_ID [--reason TEXT]     a dead letter (failed run), for good\n"
    "  validate FILE                           check a workflow file\n"
    "  migrate [--dry-run]                     bring the store's schema up to date\n"
    "  admin backup|restore FILE               the whole store to a file, or back\n"
    "  gc FILE                                 destroy instances the ledger says are\n"
    "                                          destroyed but a backend still holds\n"
    "  plugins list                            every plugin orch can load\n"
    "  plugins info NAME                       a plugin's options\n"
    "  control [pause|resume|drain|proof on|off]  the daemons' control flags\n"
    "  ticks [--since WHEN] [--limit N]        what the daemons' scheduler ticks did\n"
    "  completion bash|zsh|fish                a shell's completion script\n"
    "\n"
    "with a daemon (--server URL or $ORCH_SERVER):\n"
    "  runs list|show|start|logs|events|cancel|requeue|discard|approve|reject ...\n"
    "  instances create|list|show|exec|executions|output|cancel|destroy ...\n"
    "  control ...\n"
    "  ticks [--since WHEN] [--limit N]\n"
    "  health [--public]                       the daemon's health; exit 1 when degraded\n"
    "  admin reload                            re-read the daemon's config file\n"
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
    "  --progress auto|plain|tty  run/resume on a terminal: a live status area\n"
    "                    under the log (auto: when stdout is a terminal)\n"
    "  --color auto|always|never  colour (auto: a terminal, unless NO_COLOR)\n"
    "  --version, --help   (also: orch help [COMMAND], COMMAND --help)\n"
    "\n"
    "Options go before or after the command, their value as the next argument\n"
    "or after '='; a lone -- ends them (what follows is an argument, e.g. the\n"
    "command of instances exec).\n";

struct cli_cmd {
    const char *name;
    int (*fn)(struct cli *c, int argc, char **argv);
};

static const struct cli_cmd cli_cmds[] = {
    {"run", cmd_run},         {"resume", cmd_resume}, {"runs", cmd_runs},
    {"validate", cmd_validate}, {"plugins", cmd_plugins}, {"instances", cmd_instances},
    {"control", cmd_control}, {"migrate", cmd_migrate}, {"gc", cmd_gc},
    {"health", cmd_health}, {"admin", cmd_admin}, {"ticks", cmd_ticks},
    {"completion", cmd_completion},
};

static const char exit_codes[] =
    "\nexit status: 0 success; 1 the run (or the request) failed or was cancelled;\n"
    "2 bad usage, configuration or store; 130 interrupted by SIGINT (the run is\n"
    "cancelled first; a --follow leaves it going), 143 by SIGTERM. With --json a\n"
    "failure is one document on stdout: {\"error\": {code, message, exit, details}}.\n";

static int cli_known(const char *name)
{
    for (size_t k = 0; k < sizeof cli_cmds / sizeof cli_cmds[0]; k++)
        if (!strcmp(name, cli_cmds[k].name))
            return 1;
    return !strcmp(name, "pause");
}

static int cli_unknown(const char *name)
{
    const char *names[sizeof cli_cmds / sizeof cli_cmds[0]];
    for (size_t k = 0; k < sizeof cli_cmds / sizeof cli_cmds[0]; k++)
        names[k] = cli_cmds[k].name;
    const char *near = oc_closest(name, names, sizeof names / sizeof names[0]);
    if (near)
        cli_err("unknown command '%s'; did you mean '%s'?", name, near);
    else
        cli_err("unknown command '%s' (see orch help)", name);
    return CLI_EXIT_USAGE;
}

static int cli_dispatch(struct cli *c, int argc, char **argv)
{
    const char *name = argv[0];
    /* `orch pause` and a bare `orch resume` are the short forms of `orch
     * control pause|resume`; `orch resume RUN_ID` continues a run. */
    if (!strcmp(name, "pause") || (!strcmp(name, "resume") && argc == 1)) {
        char *sub[] = {(char *)name};
        if (!c->server && !c->config && !c->state_dir && getenv("ORCH_SERVER") &&
            *getenv("ORCH_SERVER"))
            c->server = getenv("ORCH_SERVER");
        if (argc != 1) {
            cli_err("pause takes no arguments");
            return CLI_EXIT_USAGE;
        }
        return cmd_control(c, 1, sub);
    }
    /* run and resume drive a workflow in this process: --server is a
     * mistake there, while $ORCH_SERVER (set for the other commands) is
     * not. */
    if (c->server && (!strcmp(name, "run") || !strcmp(name, "resume"))) {
        cli_err("'%s' runs a workflow in this process; with a daemon use 'orch runs %s'",
                name, !strcmp(name, "run") ? "start WORKFLOW" : "requeue RUN_ID");
        return CLI_EXIT_USAGE;
    }
    /* An explicit store (-c, --state-dir) wins over $ORCH_SERVER. */
    if (!c->server && !c->config && !c->state_dir && getenv("ORCH_SERVER") &&
        *getenv("ORCH_SERVER"))
        c->server = getenv("ORCH_SERVER");
    if (c->server && !strcmp(name, "runs"))
        return cmd_runs_remote(c, argc - 1, argv + 1);
    for (size_t k = 0; k < sizeof cli_cmds / sizeof cli_cmds[0]; k++)
        if (!strcmp(name, cli_cmds[k].name))
            return cli_cmds[k].fn(c, argc - 1, argv + 1);
    return cli_unknown(name);
}

int main(int argc, char **argv)
{
    /* orchd's sections are checked by every command that loads the file. */
    orchd_cfg_register();
    struct cli c = {0};
    /* The completion scripts' call: the words as typed, a partial option
     * included, never through the option parser. */
    if (argc >= 2 && !strcmp(argv[1], "__complete"))
        return cmd_complete(&c, argc - 2, argv + 2);
    struct cli_args a;
    /* --json before the parser's own errors: a bad option is a JSON error
     * too when --json is among the words. */
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "--json"))
            cli_json_errors(1);
    if (cli_args_parse(&c, argc, argv, &a) != 0)
        return cli_json_finish(CLI_EXIT_USAGE);
    cli_json_errors(c.json);
    int rc;
    /* `orch help [CMD]` is `orch [CMD] --help`. */
    int help = a.help;
    char **args = a.argv;
    int n = a.argc;
    if (a.n_positional && !strcmp(args[0], "help")) {
        help = 1;
        args++;
        n--;
        if (n > 0 && !cli_known(args[0])) {
            rc = cli_unknown(args[0]);
            goto out;
        }
    }
    if (a.version && !a.n_positional) {
        oc_version_print(stdout, "orch");
        rc = CLI_EXIT_OK;
    } else if (help && (n == 0 || args[0][0] == '-')) {
        fputs(usage, stdout);
        fputs(exit_codes, stdout);
        rc = CLI_EXIT_OK;
    } else if (n == 0 || args[0][0] == '-') {
        fputs(usage, stderr);
        rc = CLI_EXIT_USAGE;
    } else if (help) {
        /* The command prints its usage for --help wherever it stands. */
        char **hv = oc_xcalloc((size_t)n + 2, sizeof *hv);
        hv[0] = args[0];
        int hn = 1;
        for (int i = 1; i < n && i < a.n_positional - (args != a.argv); i++)
            hv[hn++] = args[i];
        hv[hn++] = "--help";
        rc = cli_dispatch(&c, hn, hv);
        free(hv);
        fputs(exit_codes, stdout);
    } else {
        rc = cli_dispatch(&c, n, args);
    }
out:
    cli_args_free(&a);
    return cli_json_finish(rc);
}
