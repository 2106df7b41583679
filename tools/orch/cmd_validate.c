#include <string.h>

#include "cli.h"

int cmd_validate(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc != 1) {
        fputs("usage: orch validate FILE\n"
              "Check a workflow file: syntax, every key, every plugin's options,\n"
              "needs, cycles and ${{ }} references. Errors name file:line:col.\n"
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
            for (size_t i = 0; i < cfg->n_workflows; i++)
                json_array_append_new(wfs, json_pack("{s:s,s:i}", "name",
                                                     cfg->workflows[i].name, "steps",
                                                     (json_int_t)cfg->workflows[i].n_steps));
            cli_print_json(json_pack("{s:s,s:b,s:o}", "file", argv[0], "valid", 1,
                                     "workflows", wfs));
        } else {
            printf("%s: ok (%zu workflow%s)\n", argv[0], cfg->n_workflows,
                   cfg->n_workflows == 1 ? "" : "s");
        }
    }
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}
