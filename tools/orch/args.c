/* The command line, parsed once by getopt_long against one table of every
 * option orch knows: global options are taken wherever they stand (before
 * or after the command), `--opt=value` and `--opt value` are the same, and
 * `--` ends the options. The command gets its arguments back in one
 * canonical order (positionals, then its options as `--name [value]`, then
 * `--` and whatever followed it), so each command's own loop sees one
 * shape. */
#define _GNU_SOURCE
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

enum {
    CLI_OPT_STATE_DIR = 0x100,
    CLI_OPT_CONFIG,
    CLI_OPT_JSON,
    CLI_OPT_SERVER,
    CLI_OPT_TOKEN_FILE,
    CLI_OPT_VERSION,
    CLI_OPT_HELP,
    CLI_OPT_FOLLOW,
    CLI_OPT_PROGRESS,
    CLI_OPT_COLOR,
    CLI_OPT_COMMAND, /* one of a command's own: passed on by name */
};

static const struct option cli_options[] = {
    /* global */
    {"state-dir", required_argument, NULL, CLI_OPT_STATE_DIR},
    {"config", required_argument, NULL, CLI_OPT_CONFIG},
    {"json", no_argument, NULL, CLI_OPT_JSON},
    {"server", required_argument, NULL, CLI_OPT_SERVER},
    {"token-file", required_argument, NULL, CLI_OPT_TOKEN_FILE},
    {"version", no_argument, NULL, CLI_OPT_VERSION},
    {"help", no_argument, NULL, CLI_OPT_HELP},
    {"follow", no_argument, NULL, CLI_OPT_FOLLOW},
    {"progress", required_argument, NULL, CLI_OPT_PROGRESS},
    {"color", required_argument, NULL, CLI_OPT_COLOR},
    /* the commands' own (each command says which of them it takes) */
    {"all", no_argument, NULL, CLI_OPT_COMMAND},
    {"async", no_argument, NULL, CLI_OPT_COMMAND},
    {"public", no_argument, NULL, CLI_OPT_COMMAND},
    {"dry-run", no_argument, NULL, CLI_OPT_COMMAND},
    {"attempt", required_argument, NULL, CLI_OPT_COMMAND},
    {"backend", required_argument, NULL, CLI_OPT_COMMAND},
    {"comment", required_argument, NULL, CLI_OPT_COMMAND},
    {"concurrency", required_argument, NULL, CLI_OPT_COMMAND},
    {"cwd", required_argument, NULL, CLI_OPT_COMMAND},
    {"env", required_argument, NULL, CLI_OPT_COMMAND},
    {"idempotency-key", required_argument, NULL, CLI_OPT_COMMAND},
    {"image", required_argument, NULL, CLI_OPT_COMMAND},
    {"input", required_argument, NULL, CLI_OPT_COMMAND},
    {"label", required_argument, NULL, CLI_OPT_COMMAND},
    {"limit", required_argument, NULL, CLI_OPT_COMMAND},
    {"namespace", required_argument, NULL, CLI_OPT_COMMAND},
    {"now", required_argument, NULL, CLI_OPT_COMMAND},
    {"output", required_argument, NULL, CLI_OPT_COMMAND},
    {"reason", required_argument, NULL, CLI_OPT_COMMAND},
    {"region", required_argument, NULL, CLI_OPT_COMMAND},
    {"shell", required_argument, NULL, CLI_OPT_COMMAND},
    {"since", required_argument, NULL, CLI_OPT_COMMAND},
    {"size", required_argument, NULL, CLI_OPT_COMMAND},
    {"state", required_argument, NULL, CLI_OPT_COMMAND},
    {"stdin-file", required_argument, NULL, CLI_OPT_COMMAND},
    {"timeout", required_argument, NULL, CLI_OPT_COMMAND},
    {"wait", no_argument, NULL, CLI_OPT_COMMAND},
    {"workflow", required_argument, NULL, CLI_OPT_COMMAND},
    {NULL, 0, NULL, 0},
};
/* '-': positionals come back in order as option 1 (the same whatever
 * POSIXLY_CORRECT says); ':': a missing value is ':', not '?'. */
static const char cli_shortopts[] = "-:c:hfo:";

/* Whether argument a (an option) consumes the next one as its value. */
static int cli_takes_value(const char *a)
{
    if (!strcmp(a, "-c") || !strcmp(a, "-o"))
        return 1;
    if (strncmp(a, "--", 2) || strchr(a, '='))
        return 0;
    for (const struct option *o = cli_options; o->name; o++)
        if (!strcmp(a + 2, o->name))
            return o->has_arg == required_argument;
    return 0;
}

/* Where `--` ends the options (argc when nothing does): found before
 * getopt, which would hide it among the positionals (an option's value may
 * be `--`). */
static int cli_dashdash_at(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return i;
        if (cli_takes_value(argv[i]))
            i++;
    }
    return argc;
}

/* What getopt handed over, before it is put in canonical order. */
struct cli_collect {
    char **opts, **pos;
    int nopts, npos;
};

/* Say what is wrong with the option getopt refused (o is ':' or '?'). */
static void cli_option_error(int o, char **av)
{
    if (o == ':')
        cli_err("option '%s' wants a value (see orch help)", av[optind - 1]);
    else if (optopt > 0 && optopt < 0x100)
        cli_err("unknown option '-%c' (see orch help)", optopt);
    else if (optopt)
        cli_err("option '%s' takes no value (see orch help)", av[optind - 1]);
    else
        cli_err("unknown option '%s' (see orch help)", av[optind - 1]);
}

/* One option or positional from getopt: a global one set in c or out, a
 * command's one kept for it. -1 after an error message. */
static int cli_take(struct cli *c, struct cli_args *out, struct cli_collect *k, int o, int li,
                    char **av)
{
    switch (o) {
    case 1: k->pos[k->npos++] = optarg; break;
    case CLI_OPT_STATE_DIR: c->state_dir = optarg; break;
    case 'c':
    case CLI_OPT_CONFIG: c->config = optarg; break;
    case CLI_OPT_JSON: c->json = 1; break;
    case CLI_OPT_SERVER: c->server = optarg; break;
    case CLI_OPT_TOKEN_FILE: c->token_file = optarg; break;
    case CLI_OPT_PROGRESS:
        if (strcmp(optarg, "auto") && strcmp(optarg, "plain") && strcmp(optarg, "tty")) {
            cli_err("--progress wants auto, plain or tty, not '%s'", optarg);
            return -1;
        }
        c->progress = optarg;
        break;
    case CLI_OPT_COLOR:
        if (strcmp(optarg, "auto") && strcmp(optarg, "always") && strcmp(optarg, "never")) {
            cli_err("--color wants auto, always or never, not '%s'", optarg);
            return -1;
        }
        c->color = optarg;
        break;
    case CLI_OPT_VERSION: out->version = 1; break;
    case 'h':
    case CLI_OPT_HELP:
        out->help = 1;
        k->opts[k->nopts++] = "--help";
        break;
    case 'f':
    case CLI_OPT_FOLLOW: k->opts[k->nopts++] = "--follow"; break;
    case 'o': /* -o FILE is --output FILE */
        k->opts[k->nopts++] = "--output";
        k->opts[k->nopts++] = optarg;
        break;
    case CLI_OPT_COMMAND:
        k->opts[k->nopts++] = oc_xasprintf("--%s", cli_options[li].name);
        out->owned = oc_xrealloc(out->owned, (out->n_owned + 1) * sizeof *out->owned);
        out->owned[out->n_owned++] = k->opts[k->nopts - 1];
        if (cli_options[li].has_arg == required_argument)
            k->opts[k->nopts++] = optarg;
        break;
    default:
        /* A long option given a value it does not take ("--json=1") is
         * reported by getopt as '?' too. */
        cli_option_error(o, av);
        return -1;
    }
    return 0;
}

/* The command's arguments in canonical order: positionals, its options,
 * then `--` and what followed it. */
static void cli_assemble(struct cli_args *out, const struct cli_collect *k, char **av, int end,
                         int argc, char **argv)
{
    for (int i = 0; i < k->npos; i++)
        out->argv[out->argc++] = k->pos[i];
    for (int i = optind; i < end; i++)
        out->argv[out->argc++] = av[i];
    out->n_positional = out->argc;
    for (int i = 0; i < k->nopts; i++)
        out->argv[out->argc++] = k->opts[i];
    if (end < argc) {
        out->dashdash = 1;
        for (int i = end; i < argc; i++)
            out->argv[out->argc++] = argv[i];
    }
}

int cli_args_parse(struct cli *c, int argc, char **argv, struct cli_args *out)
{
    memset(out, 0, sizeof *out);
    int end = cli_dashdash_at(argc, argv);
    char **av = oc_xcalloc((size_t)end + 1, sizeof *av);
    memcpy(av, argv, (size_t)end * sizeof *av);
    out->argv = oc_xcalloc((size_t)argc * 2 + 2, sizeof *out->argv);
    struct cli_collect k = {.opts = oc_xcalloc((size_t)argc * 2 + 2, sizeof *k.opts),
                            .pos = oc_xcalloc((size_t)argc + 1, sizeof *k.pos)};
    int rc = 0;
    optind = 0;
    opterr = 0;
    for (;;) {
        int li = -1;
        int o = getopt_long(end, av, cli_shortopts, cli_options, &li);
        if (o == -1)
            break;
        if ((rc = cli_take(c, out, &k, o, li, av)) != 0)
            break;
    }
    if (rc == 0)
        cli_assemble(out, &k, av, end, argc, argv);
    free(k.opts);
    free(k.pos);
    free(av);
    if (rc)
        cli_args_free(out);
    return rc;
}

void cli_args_free(struct cli_args *a)
{
    for (size_t i = 0; i < a->n_owned; i++)
        free(a->owned[i]);
    free(a->owned);
    free(a->argv);
    memset(a, 0, sizeof *a);
}

int cli_option_known(const char *name, int *takes_value)
{
    if (!strcmp(name, "-c")) {
        *takes_value = 1;
        return 1;
    }
    if (!strcmp(name, "-h") || !strcmp(name, "-f")) {
        *takes_value = 0;
        return 1;
    }
    if (strncmp(name, "--", 2))
        return 0;
    for (const struct option *o = cli_options; o->name; o++)
        if (!strcmp(o->name, name + 2)) {
            *takes_value = o->has_arg == required_argument;
            return 1;
        }
    return 0;
}
