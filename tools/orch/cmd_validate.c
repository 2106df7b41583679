#include <string.h>

#include "cli.h"

int cmd_validate(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc != 1) {
        fputs("usage: orch validate FILE\n"
              "Check a workflow file (and the files of its workflows_dir): syntax,\n"
              "every key, every plugin's options, needs, cycles and ${{ }}\n"
              "references. Errors name file:line:col.\n"
              "Warnings (an input or a step output pasted into a shell script)\n"
              "name file:line:col too and do not change the exit status.\n",
              argc == 1 ? stdout : stderr);
        return argc == 1 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    struct oc_registry *reg = cli_registry(NULL);
    struct oc_config *cfg = cli_lint_config(argv[0], reg);
    int rc = cfg ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    if (cfg) {
        if (c->json) {
            json_t *wfs = json_array();
            for (size_t i = 0; i < cfg->n_workflows; i++) {
                const struct oc_workflow *w = &cfg->workflows[i];
                json_array_append_new(wfs, json_pack("{s:s,s:I,s:s}", "name", w->name, "steps",
                                                     (json_int_t)w->n_steps, "file",
                                                     w->file ? w->file->path : cfg->path));
            }
            cli_print_json(json_pack("{s:s,s:b,s:o}", "file", argv[0], "valid", 1,
                                     "workflows", wfs));
        } else {
            printf("%s: ok (%zu workflow%s", argv[0], cfg->n_workflows,
                   cfg->n_workflows == 1 ? "" : "s");
            if (cfg->workflows_dir)
                printf(", with %zu file%s of %s", cfg->n_files, cfg->n_files == 1 ? "" : "s",
                       cfg->workflows_dir);
            puts(")");
        }
    }
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}
