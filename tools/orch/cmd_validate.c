#include <string.h>

#include "cli.h"

/* Each diagnostic as {file, line, col, message} (file, line, col null when
 * it names no place). */
static json_t *cli_diag_json(char **msgs, const struct oc_diag_where *at, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *text = msgs[i] + at[i].text;
        if (!strncmp(text, "warning: ", 9))
            text += 9;
        json_array_append_new(a, json_pack("{s:s?,s:o,s:o,s:s}", "file", at[i].file, "line",
                                           at[i].file ? json_integer(at[i].line) : json_null(),
                                           "col",
                                           at[i].file ? json_integer(at[i].col) : json_null(),
                                           "message", text));
    }
    return a;
}

/* --json: the verdict, every error and warning as data, on stdout; exit 2
 * when the file is not valid, as without --json. */
static int cli_validate_json(const char *path)
{
    struct oc_registry *reg = cli_registry(NULL);
    struct oc_diag diag = {0};
    struct oc_config *cfg = oc_config_load(path, reg, &diag);
    json_t *out = json_pack("{s:s,s:b,s:o,s:o}", "file", path, "valid", cfg != NULL, "errors",
                            cli_diag_json(diag.msgs, diag.msgs_at, diag.n), "warnings",
                            cli_diag_json(diag.warns, diag.warns_at, diag.n_warns));
    if (!cfg && !diag.n)
        json_array_append_new(json_object_get(out, "errors"),
                              json_pack("{s:n,s:n,s:n,s:s}", "file", "line", "col", "message",
                                        "cannot load the config"));
    if (cfg) {
        json_t *wfs = json_array();
        for (size_t i = 0; i < cfg->n_workflows; i++) {
            const struct oc_workflow *w = &cfg->workflows[i];
            json_array_append_new(wfs, json_pack("{s:s,s:I,s:s}", "name", w->name, "steps",
                                                 (json_int_t)w->n_steps, "file",
                                                 w->file ? w->file->path : cfg->path));
        }
        json_object_set_new(out, "workflows", wfs);
    }
    cli_print_json(out);
    int rc = cfg ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    oc_diag_free(&diag);
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}

int cmd_validate(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc != 1) {
        fputs("usage: orch validate FILE\n"
              "Check a workflow file (and the files of its workflows_dir): syntax,\n"
              "every key, every plugin's options, needs, cycles and ${{ }}\n"
              "references. Errors name file:line:col.\n"
              "Warnings (an input or a step output pasted into a shell script)\n"
              "name file:line:col too and do not change the exit status.\n"
              "With --json: {file, valid, errors, warnings, workflows} on stdout,\n"
              "each error and warning {file, line, col, message}.\n",
              argc == 1 ? stdout : stderr);
        return argc == 1 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    if (c->json)
        return cli_validate_json(argv[0]);
    struct oc_registry *reg = cli_registry(NULL);
    struct oc_config *cfg = cli_lint_config(argv[0], reg);
    int rc = cfg ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (cfg) {
        printf("%s: ok (%zu workflow%s", argv[0], cfg->n_workflows,
               cfg->n_workflows == 1 ? "" : "s");
        if (cfg->workflows_dir)
            printf(", with %zu file%s of %s", cfg->n_files, cfg->n_files == 1 ? "" : "s",
                   cfg->workflows_dir);
        puts(")");
    }
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}
