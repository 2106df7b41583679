/* Shell completion. `orch completion bash|zsh|fish` prints a script that
 * asks orch itself for the words (`orch __complete WORD...`, the words of
 * the line so far, the last one the word being completed), so the shells
 * share one list: commands, subcommands and options from the table below
 * (checked against the option parser by tests/e2e/test_completion.sh),
 * workflow names read from the file on the line, run ids and step ids from
 * the store. A candidate per line; the shell keeps those that start with
 * the word. `__files__` alone asks the shell for file names. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "host.h"
#include "store.h"
#include "util.h"

/* What an argument is: a file, a workflow of the file before it, a run id,
 * a step of the run before it, a plugin name. */
enum cli_arg { CLI_A_NONE, CLI_A_FILE, CLI_A_WORKFLOW, CLI_A_RUN, CLI_A_STEP };

struct cli_comp {
    const char *path;        /* "run", "runs logs" */
    const char *subs;        /* its subcommands, space-separated, or NULL */
    const char *opts;        /* its own options */
    enum cli_arg args[3];    /* its positional arguments, in order */
};

static const char cli_global_opts[] = "--state-dir --config --json --server --token-file "
                                      "--progress --color --version --help";

static const struct cli_comp cli_comps[] = {
    {"", "run resume runs validate plugins instances control migrate gc health admin "
         "ticks pause help completion", NULL, {0}},
    {"run", NULL, "--input --idempotency-key --dry-run --concurrency",
     {CLI_A_FILE, CLI_A_WORKFLOW}},
    {"resume", NULL, NULL, {CLI_A_RUN}},
    {"validate", NULL, NULL, {CLI_A_FILE}},
    {"gc", NULL, "--dry-run --now", {CLI_A_FILE}},
    {"migrate", NULL, "--dry-run", {0}},
    {"runs", "list show logs events artifacts artifact start approve reject cancel requeue "
             "discard", NULL, {0}},
    {"runs list", NULL, "--state --workflow --limit", {0}},
    {"runs show", NULL, NULL, {CLI_A_RUN}},
    {"runs events", NULL, NULL, {CLI_A_RUN}},
    {"runs artifacts", NULL, "--namespace", {CLI_A_RUN}},
    {"runs artifact", NULL, "-o --output --namespace", {CLI_A_RUN}},
    {"runs logs", NULL, "--attempt --follow", {CLI_A_RUN, CLI_A_STEP}},
    {"runs start", NULL, "--input --idempotency-key --wait --follow", {0}},
    {"runs approve", NULL, "--input --comment", {CLI_A_RUN, CLI_A_STEP}},
    {"runs reject", NULL, "--input --comment", {CLI_A_RUN, CLI_A_STEP}},
    {"runs cancel", NULL, NULL, {CLI_A_RUN}},
    {"runs requeue", NULL, NULL, {CLI_A_RUN}},
    {"runs discard", NULL, "--reason", {CLI_A_RUN}},
    {"plugins", "list info", NULL, {0}},
    {"instances", "create list show exec executions output cancel destroy", NULL, {0}},
    {"control", "pause resume drain proof", NULL, {0}},
    {"ticks", NULL, "--since --limit", {0}},
    {"health", NULL, "--public", {0}},
    {"admin", "backup restore reload", NULL, {0}},
    {"help", "run resume runs validate plugins instances control migrate gc health admin "
             "ticks", NULL, {0}},
    {"completion", "bash zsh fish", NULL, {0}},
};

static const struct cli_comp *cli_comp_find(const char *path)
{
    for (size_t i = 0; i < sizeof cli_comps / sizeof *cli_comps; i++)
        if (!strcmp(cli_comps[i].path, path))
            return &cli_comps[i];
    return NULL;
}

static void cli_put_words(const char *words)
{
    for (const char *p = words; p && *p;) {
        size_t n = strcspn(p, " ");
        printf("%.*s\n", (int)n, p);
        p += n + (p[n] == ' ');
    }
}

static void cli_put_workflows(const char *file)
{
    struct oc_diag diag = {0};
    struct oc_config *cfg = oc_config_parse_file(file, &diag);
    for (size_t i = 0; cfg && i < cfg->n_workflows; i++)
        puts(cfg->workflows[i].name);
    oc_config_free(cfg);
    oc_diag_free(&diag);
}

static int32_t cli_put_run(void *ud, const struct orch_run_rec *r)
{
    (void)ud;
    puts(r->id);
    return 0;
}

static int32_t cli_put_step(void *ud, const struct orch_attempt_rec *a)
{
    (void)ud;
    if (a->attempt == 1)
        puts(a->step_id);
    return 0;
}

/* Run ids (the newest 100) or the steps of run, from the store. Quiet:
 * a store that cannot be opened completes nothing, an embedded store that
 * does not exist yet is not made by a completion, nor a schema migrated. */
static void cli_put_ids(const struct cli *c, const char *run)
{
    struct oc_registry *reg = cli_registry(NULL);
    struct oc_diag diag = {0};
    struct oc_config *cfg = c->config ? oc_config_load(c->config, reg, &diag) : NULL;
    oc_diag_free(&diag);
    char *sd = oc_state_dir(c->state_dir ? c->state_dir : cfg ? cfg->state_dir : NULL);
    struct orch_error err;
    oc_error_init(&err);
    struct oc_store *st = NULL;
    if ((!c->config || cfg) && ((cfg && cfg->store.uses) || access(sd, F_OK) == 0))
        st = oc_store_open_unchecked(reg, cfg ? &cfg->store : NULL, sd, &err); /* never migrates */
    if (st && run) {
        st->vt->attempt_list(st->h, run, cli_put_step, NULL, &err);
    } else if (st) {
        struct orch_run_filter f = {.struct_size = sizeof f, .limit = 100};
        st->vt->run_list(st->h, &f, cli_put_run, NULL, &err);
    }
    oc_error_clear(&err);
    oc_store_close(st);
    free(sd);
    oc_config_free(cfg);
    oc_registry_free(reg);
}

int cmd_complete(struct cli *c, int argc, char **argv)
{
    if (argc < 1)
        return CLI_EXIT_OK;
    const char *cur = argv[argc - 1];
    /* The words before it: options (and their values) set the store, the
     * rest are the command path and its arguments. */
    const char *pos[16];
    int npos = 0;
    for (int i = 0; i < argc - 1; i++) {
        int takes = 0;
        const char *w = argv[i];
        if (w[0] == '-' && cli_option_known(w, &takes)) {
            const char *v = takes && i + 1 < argc - 1 ? argv[++i] : NULL;
            if (v && (!strcmp(w, "--state-dir")))
                c->state_dir = v;
            else if (v && (!strcmp(w, "--config") || !strcmp(w, "-c")))
                c->config = v;
            continue;
        }
        if (w[0] != '-' && npos < 16)
            pos[npos++] = w;
    }
    /* The longest command path the words make. */
    char path[64] = "";
    int used = 0;
    for (int k = 0; k < npos && k < 2; k++) {
        char next[64];
        snprintf(next, sizeof next, "%s%s%s", path, *path ? " " : "", pos[k]);
        if (!cli_comp_find(next))
            break;
        snprintf(path, sizeof path, "%s", next);
        used = k + 1;
    }
    const struct cli_comp *e = cli_comp_find(path);
    if (cur[0] == '-') {
        cli_put_words(e ? e->opts : NULL);
        cli_put_words(cli_global_opts);
        return CLI_EXIT_OK;
    }
    if (e && e->subs && used == npos) {
        cli_put_words(e->subs);
        return CLI_EXIT_OK;
    }
    int k = npos - used;
    enum cli_arg kind = e && k < 3 ? e->args[k] : CLI_A_NONE;
    if (kind == CLI_A_FILE) {
        puts("__files__");
    } else if (kind == CLI_A_WORKFLOW) {
        cli_put_workflows(pos[npos - 1]);
    } else if (kind == CLI_A_RUN || kind == CLI_A_STEP) {
        cli_put_ids(c, kind == CLI_A_STEP ? pos[npos - 1] : NULL);
    }
    return CLI_EXIT_OK;
}

static const char cli_bash[] =
    "# orch completion for bash: eval \"$(orch completion bash)\"\n"
    "_orch() {\n"
    "  local cur=${COMP_WORDS[COMP_CWORD]} words\n"
    "  words=$(orch __complete \"${COMP_WORDS[@]:1:COMP_CWORD}\" 2>/dev/null)\n"
    "  if [ \"$words\" = __files__ ]; then\n"
    "    COMPREPLY=($(compgen -f -- \"$cur\"))\n"
    "  else\n"
    "    local IFS=$'\\n'\n"
    "    COMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
    "  fi\n"
    "}\n"
    "complete -o filenames -F _orch orch\n";

static const char cli_zsh[] =
    "# orch completion for zsh: eval \"$(orch completion zsh)\"\n"
    "_orch() {\n"
    "  local -a words_\n"
    "  words_=(\"${(@f)$(orch __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
    "  if [[ \"${words_[1]}\" == __files__ ]]; then\n"
    "    _files\n"
    "  else\n"
    "    compadd -a words_\n"
    "  fi\n"
    "}\n"
    "compdef _orch orch\n";

static const char cli_fish[] =
    "# orch completion for fish: orch completion fish | source\n"
    "function __orch_complete\n"
    "    set -l words (commandline -opc)[2..-1] (commandline -ct)\n"
    "    set -l out (orch __complete $words 2>/dev/null)\n"
    "    if test \"$out\" = __files__\n"
    "        __fish_complete_path (commandline -ct)\n"
    "    else\n"
    "        printf '%s\\n' $out\n"
    "    end\n"
    "end\n"
    "complete -c orch -f -a '(__orch_complete)'\n";

int cmd_completion(struct cli *c, int argc, char **argv)
{
    (void)c;
    if (cli_wants_help(argc, argv) || argc != 1) {
        fputs("usage: orch completion bash|zsh|fish\n"
              "Print the completion script of a shell: commands, options, workflow\n"
              "names from the file on the line, run and step ids from the store.\n"
              "  bash: eval \"$(orch completion bash)\"   (or into\n"
              "        /etc/bash_completion.d/orch)\n"
              "  zsh:  eval \"$(orch completion zsh)\"    (after compinit)\n"
              "  fish: orch completion fish | source\n",
              argc == 1 ? stdout : stderr);
        return argc == 1 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    const char *s = !strcmp(argv[0], "bash")   ? cli_bash
                    : !strcmp(argv[0], "zsh")  ? cli_zsh
                    : !strcmp(argv[0], "fish") ? cli_fish
                                               : NULL;
    if (!s) {
        cli_err("completion: no script for '%s' (bash, zsh or fish)", argv[0]);
        return CLI_EXIT_USAGE;
    }
    fputs(s, stdout);
    return CLI_EXIT_OK;
}
