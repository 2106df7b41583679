/* The `workflow` step type: what a step `uses: workflow:NAME` or `uses:
 * ./FILE#NAME` has as its plugin (core/config/calls.c resolves the name).
 * Its work is done by the engine (core/engine/call.c), which runs the
 * workflow as a child run; this descriptor gives such steps a plugin like
 * any other, so listings, logs and capability checks need no exception.
 * Its with: is the child's inputs, checked against the callee's
 * declarations instead of an option table. */
#define ORCH_PLUGIN_STATIC
#include <stddef.h>

#include <orch/orch.h>

#include "config.h"

static const struct orch_host *wf_host;

static orch_status wf_run(struct orch_ctx *ctx, const void *cfg, struct orch_error *err)
{
    (void)ctx;
    (void)cfg;
    return wf_host->error_set(err, ORCH_E_UNSUPPORTED,
                              "a workflow step runs its workflow as a child run: write "
                              "uses: workflow:NAME (or ./FILE#NAME)");
}

/* Never called either: in proof mode the child run is made in proof mode
 * and its steps plan. */
static orch_status wf_plan(struct orch_ctx *ctx, const void *cfg, char **text,
                           struct orch_error *err)
{
    (void)ctx;
    (void)cfg;
    (void)text;
    return wf_run(ctx, cfg, err);
}

static const struct orch_step_vtable wf_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .run = wf_run,
    .plan = wf_plan,
};

static const struct orch_plugin_desc wf_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = OC_CALL_STEP_NAME,
    .version = "1.0.0",
    .description = "run another workflow as a child run (uses: workflow:NAME or ./FILE#NAME; "
                   "with: its inputs; its outputs are the step's)",
    .license = "MIT",
    .caps = ORCH_STEP_CAP_DRY_RUN | ORCH_STEP_CAP_ENGINE_DECIDED,
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &wf_vtable,
};

ORCH_PLUGIN_DEFINE(step, workflow, wf_desc, wf_host)
