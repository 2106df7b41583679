#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api_json.h"
#include "cli.h"
#include "engine.h"
#include "host.h"
#include "util.h"

void cli_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = NULL;
    if (vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    va_end(ap);
    fprintf(stderr, "orch: %s\n", msg ? msg : fmt);
    cli_json_said(msg ? msg : fmt); /* --json: the error document's too */
    free(msg);
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
            return 1;
    return 0;
}

void cli_print_json(json_t *j)
{
    cli_json_printed();
    json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENCODE_ANY);
    fputc('\n', stdout);
    json_decref(j);
}

void cli_fmt_duration(char *buf, size_t n, int64_t ns)
{
    if (ns < 1000000000)
        snprintf(buf, n, "%lldms", (long long)(ns / 1000000));
    else if (ns < 60LL * 1000000000)
        snprintf(buf, n, "%.1fs", (double)ns / 1e9);
    else
        snprintf(buf, n, "%lldm%02llds", (long long)(ns / 60000000000LL),
                 (long long)(ns / 1000000000 % 60));
}

void cli_fmt_time(char *buf, size_t n, const json_t *v)
{
    int64_t real_ns;
    if (oc_api_time_ns(v, &real_ns) != 0 || !real_ns) {
        snprintf(buf, n, "-");
        return;
    }
    /* The API's form, valid (just read), to the second. */
    snprintf(buf, n, "%.19sZ", json_string_value(v));
}

int cli_with_store(struct cli *c, int (*fn)(struct oc_store *st, void *ud), void *ud)
{
    struct oc_registry *reg = cli_registry(NULL);
    int failed;
    struct oc_config *cfg = cli_global_config(c, reg, &failed);
    struct oc_store *st = failed ? NULL : cli_open_store(c, reg, cfg);
    int rc = st ? fn(st, ud) : CLI_EXIT_USAGE;
    oc_store_close(st);
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}

struct oc_registry *cli_registry(const struct oc_config *cfg)
{
    return oc_registry_new(cfg ? (const char *const *)cfg->plugin_paths : NULL,
                           cfg ? cfg->n_plugin_paths : 0);
}

static struct oc_config *cli_load(const char *path, struct oc_registry *reg, int warnings)
{
    struct oc_diag diag = {0};
    struct oc_config *cfg = oc_config_load(path, reg, &diag);
    for (size_t i = 0; i < diag.n; i++) {
        fprintf(stderr, "%s\n", diag.msgs[i]);
        cli_json_said(diag.msgs[i]);
    }
    if (!cfg)
        cli_fail_code("config");
    for (size_t i = 0; warnings && i < diag.n_warns; i++)
        fprintf(stderr, "%s\n", diag.warns[i]);
    if (!cfg && diag.n == 0)
        cli_err("%s: cannot load the config", path);
    if (!cfg && diag.n > 1)
        cli_err("%zu errors in %s", diag.n, path);
    oc_diag_free(&diag);
    return cfg;
}

struct oc_config *cli_load_config(const char *path, struct oc_registry *reg)
{
    return cli_load(path, reg, 0);
}

struct oc_config *cli_lint_config(const char *path, struct oc_registry *reg)
{
    return cli_load(path, reg, 1);
}

struct oc_store *cli_open_store(struct cli *c, struct oc_registry *reg,
                                const struct oc_config *cfg)
{
    struct orch_error err;
    oc_error_init(&err);
    const char *sd = c->state_dir ? c->state_dir : cfg ? cfg->state_dir : NULL;
    struct oc_store *s = oc_store_open(reg, cfg ? &cfg->store : NULL, sd, &err);
    if (!s) {
        cli_fail_code("store");
        cli_err("cannot open the store: %s", oc_error_text(&err));
    }
    oc_error_clear(&err);
    return s;
}

struct oc_config *cli_global_config(struct cli *c, struct oc_registry *reg,
                                    int *failed)
{
    *failed = 0;
    if (!c->config)
        return NULL;
    struct oc_config *cfg = cli_load_config(c->config, reg);
    *failed = cfg == NULL;
    return cfg;
}
