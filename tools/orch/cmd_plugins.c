/* orch plugins list|info: what orch can load, and how to configure it. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "host.h"
#include "plugin_info.h"
#include "util.h"

struct cli_scan {
    int json;
    json_t *arr;
    int errors;
};

static json_t *cli_plugin_json(const struct oc_plugin *p)
{
    const struct orch_plugin_desc *d = p->desc;
    char abi[16];
    snprintf(abi, sizeof abi, "%u.%u", d->abi_major, d->abi_minor);
    return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s,s:s,s:b}", "id", p->id, "kind",
                     oc_kind_name(d->kind), "name", d->name, "version", d->version,
                     "description", d->description, "abi", abi, "path", p->path,
                     "builtin", p->builtin);
}

static void cli_on_plugin(void *ud, const struct oc_plugin *p)
{
    struct cli_scan *s = ud;
    json_array_append_new(s->arr, cli_plugin_json(p));
}

static void cli_on_plugin_error(void *ud, const char *path,
                                const struct orch_error *err)
{
    struct cli_scan *s = ud;
    s->errors++;
    /* A broken file must not hide the others; it is reported, not fatal. */
    fprintf(stderr, "orch: %s\n", oc_error_text(err));
    (void)path;
}

static int cli_plugins_list(struct cli *c, struct oc_registry *reg)
{
    struct cli_scan s = {.json = c->json, .arr = json_array()};
    oc_registry_scan(reg, cli_on_plugin, cli_on_plugin_error, &s);
    if (c->json) {
        cli_print_json(s.arr);
        return CLI_EXIT_OK;
    }
    printf("%-8s %-12s %-9s %-9s %s\n", "KIND", "NAME", "VERSION", "WHERE", "DESCRIPTION");
    size_t i;
    json_t *p;
    json_array_foreach(s.arr, i, p) {
        printf("%-8s %-12s %-9s %-9s %s\n", json_string_value(json_object_get(p, "kind")),
               json_string_value(json_object_get(p, "name")),
               json_string_value(json_object_get(p, "version")),
               json_is_true(json_object_get(p, "builtin")) ? "builtin" : "file",
               json_string_value(json_object_get(p, "description")) ?
                   json_string_value(json_object_get(p, "description")) : "");
    }
    const char *const *paths;
    size_t n = oc_registry_paths(reg, &paths);
    printf("\nsearch path:\n");
    for (size_t k = 0; k < n; k++)
        printf("  %s\n", paths[k]);
    json_decref(s.arr);
    return CLI_EXIT_OK;
}

/* NAME is "exec" (searched in every kind) or "step-exec"/"step:exec". */
static const struct oc_plugin *cli_find_plugin(struct oc_registry *reg,
                                               const char *name)
{
    static const uint32_t kinds[] = {ORCH_KIND_STEP, ORCH_KIND_BACKEND, ORCH_KIND_STORE};
    struct orch_error err;
    oc_error_init(&err);
    for (size_t i = 0; i < 3; i++) {
        const char *kn = oc_kind_name(kinds[i]);
        size_t kl = strlen(kn);
        const char *bare = name;
        if (!strncmp(name, kn, kl) && (name[kl] == '-' || name[kl] == ':'))
            bare = name + kl + 1;
        else if (strchr(name, ':'))
            continue;
        const struct oc_plugin *p = oc_registry_get(reg, kinds[i], bare, &err);
        oc_error_clear(&err);
        if (p)
            return p;
    }
    return NULL;
}

static int cli_plugins_info(struct cli *c, struct oc_registry *reg, const char *name)
{
    const struct oc_plugin *p = cli_find_plugin(reg, name);
    if (!p) {
        cli_err("no plugin named '%s' (see orch plugins list)", name);
        return CLI_EXIT_USAGE;
    }
    if (c->json)
        cli_print_json(oc_plugin_info_json(p));
    else
        oc_plugin_info_print(p, stdout);
    return CLI_EXIT_OK;
}

int cmd_plugins(struct cli *c, int argc, char **argv)
{
    if (argc < 1 || cli_wants_help(argc, argv) ||
        !((!strcmp(argv[0], "list") && argc == 1) || (!strcmp(argv[0], "info") && argc == 2))) {
        fputs("usage: orch plugins list\n       orch plugins info NAME\n",
              argc < 1 || !cli_wants_help(argc, argv) ? stderr : stdout);
        return cli_wants_help(argc, argv) ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    struct oc_registry *reg = cli_registry(NULL);
    int failed;
    struct oc_config *cfg = cli_global_config(c, reg, &failed);
    int rc = failed ? CLI_EXIT_USAGE
             : !strcmp(argv[0], "list") ? cli_plugins_list(c, reg)
                                        : cli_plugins_info(c, reg, argv[1]);
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}
