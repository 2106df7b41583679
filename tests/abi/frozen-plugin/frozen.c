/* Built against tests/abi/frozen-1.0 (the ABI 1.0 headers as released),
 * never against sdk/include: the current core must still load it and it
 * must still pass its suite. */
#include <stddef.h>
#include <string.h>

#include <orch/orch.h>

static const struct orch_host *fz_host;

struct fz_cfg {
    const char *name;
    int64_t times;
};

static const struct orch_option fz_options[] = {
    ORCH_OPTION(struct fz_cfg, name, "name", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED, NULL,
                "who to greet"),
    ORCH_OPTION(struct fz_cfg, times, "times", ORCH_OPT_INT, 0, "1", "how many greetings"),
};

static const struct orch_output_decl fz_outputs[] = {
    {sizeof(struct orch_output_decl), "greeting", "hello NAME"},
};

static orch_status fz_run(struct orch_ctx *ctx, const void *cfgp, struct orch_error *err)
{
    const struct fz_cfg *cfg = cfgp;
    size_t n = strlen(cfg->name) + 7;
    char *g = fz_host->alloc(n);
    if (!g)
        return fz_host->error_set(err, ORCH_E_NOMEM, "frozen: out of memory");
    memcpy(g, "hello ", 6);
    memcpy(g + 6, cfg->name, n - 6);
    orch_status rc = fz_host->output_set(ctx, "greeting", g);
    fz_host->free(g);
    return rc;
}

static orch_status fz_plan(struct orch_ctx *ctx, const void *cfgp, char **text,
                           struct orch_error *err)
{
    (void)ctx;
    const struct fz_cfg *cfg = cfgp;
    *text = fz_host->strdup(cfg->name);
    return *text ? ORCH_OK : fz_host->error_set(err, ORCH_E_NOMEM, "frozen: out of memory");
}

static const struct orch_step_vtable fz_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .run = fz_run,
    .plan = fz_plan,
    .outputs = fz_outputs,
    .output_size = sizeof(struct orch_output_decl),
    .output_count = 1,
};

static const struct orch_plugin_desc fz_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "frozen",
    .version = "1.0.0",
    .description = "greets; built against the frozen ABI 1.0 headers",
    .license = "MIT",
    .caps = ORCH_STEP_CAP_DRY_RUN,
    .options = fz_options,
    .option_count = 2,
    .config_size = sizeof(struct fz_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &fz_vtable,
};

ORCH_PLUGIN_DEFINE(step, frozen, fz_desc, fz_host)
