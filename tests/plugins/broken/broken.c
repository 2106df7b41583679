/* A step plugin with exactly one defect, chosen at build time. */
#include <stddef.h>

#include <orch/orch.h>

static const struct orch_host *bk_host;

struct bk_cfg {
    int64_t n;
};

static const struct orch_option bk_options[] = {
    ORCH_OPTION(struct bk_cfg, n, "n", ORCH_OPT_INT, 0, "1", "a number"),
#ifdef BROKEN_BADOPTS
    ORCH_OPTION(struct bk_cfg, n, "n", ORCH_OPT_INT, 0, "1", "declared twice"),
#endif
};

#ifndef BROKEN_NULLSLOT
static orch_status bk_run(struct orch_ctx *ctx, const void *cfg, struct orch_error *err)
{
    (void)ctx;
    (void)cfg;
    (void)err;
#ifdef BROKEN_LEAKY
    bk_host->alloc(64); /* never freed */
#endif
#ifdef BROKEN_LIAR
    bk_host->output_set(ctx, "undeclared", "x");
#endif
    return ORCH_OK;
}
#endif

#ifdef BROKEN_LIAR
/* Claims a dry run but acts: sets an output while planning. */
static orch_status bk_plan(struct orch_ctx *ctx, const void *cfg, char **text,
                           struct orch_error *err)
{
    (void)cfg;
    (void)err;
    bk_host->output_set(ctx, "planned", "yes");
    *text = bk_host->strdup("would do nothing");
    return ORCH_OK;
}
#endif

#ifdef BROKEN_EXPORTS
/* Visible to every other library in the process: what hidden visibility
 * prevents. */
ORCH_EXPORT int broken_helper(void);
ORCH_EXPORT int broken_helper(void)
{
    return 1;
}
#endif

static const struct orch_step_vtable bk_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
#ifndef BROKEN_NULLSLOT
    .run = bk_run,
#endif
#ifdef BROKEN_LIAR
    .plan = bk_plan,
#endif
};

static const struct orch_plugin_desc bk_desc = {
    ORCH_PLUGIN_DESC_INIT,
#ifdef BROKEN_BADMAJOR
    .abi_major = ORCH_ABI_MAJOR + 1,
    .abi_minor = 0,
#endif
#ifdef BROKEN_NEWMINOR
    .abi_minor = 7, /* fixed, so the messages tested stay put: no orch has 1.7 yet */
#endif
    .kind = ORCH_KIND_STEP,
#if defined(BROKEN_CAPNOSLOT) || defined(BROKEN_LIAR)
    .caps = ORCH_STEP_CAP_DRY_RUN,
#endif
#ifdef BROKEN_BADCAPS
    .caps = 1ull << 40, /* a capability no orch knows: refused, not ignored */
#endif
    .name = BROKEN_NAME,
    .version = "0.0.1",
    .description = "broken on purpose",
    .license = "MIT",
    .options = bk_options,
    .option_count = sizeof bk_options / sizeof bk_options[0],
    .config_size = sizeof(struct bk_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &bk_vtable,
};

/* Hand-written entry: ORCH_PLUGIN_DEFINE would refuse a wrong major itself. */
ORCH_EXPORT orch_status orch_plugin_entry(const struct orch_host *host,
                                          const struct orch_plugin_desc **out,
                                          struct orch_error *err);
ORCH_EXPORT orch_status orch_plugin_entry(const struct orch_host *host,
                                          const struct orch_plugin_desc **out,
                                          struct orch_error *err)
{
    (void)err;
    bk_host = host;
    *out = &bk_desc;
    return ORCH_OK;
}
