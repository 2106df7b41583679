/* Step types: what a workflow step does. The step's `with:` options are
 * declared in the descriptor's option table; the core validates and parses
 * them (after templating) before calling any slot. */
#ifndef ORCH_STEP_H
#define ORCH_STEP_H

#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORCH_STEP_CAP_DRY_RUN (1ull << 0)       /* plan describes what run would do */
#define ORCH_STEP_CAP_NEEDS_BACKEND (1ull << 1) /* runs against an instance */
#define ORCH_STEP_CAP_IDEMPOTENT (1ull << 2)    /* safe to re-run after an unknown outcome */
/* Since 1.1 (a 1.0 core refuses them as unknown capability bits). */
/* Runs on an instance only when the step or its workflow names a backend
 * (`backend:`); otherwise it runs with none (host->inst_* are UNSUPPORTED
 * and inst_workdir is NULL). The default backend is not used for it. */
#define ORCH_STEP_CAP_OPTIONAL_BACKEND (1ull << 3)
/* The engine decides the step's outcome itself (a human approval: the run
 * parks as WAITING until a decision arrives); run is never called in an
 * executor. Only for plugins embedded in orch: the engine's decision
 * logic is not an ABI. */
#define ORCH_STEP_CAP_ENGINE_DECIDED (1ull << 4)
#define ORCH_STEP_CAPS_ALL ((1ull << 5) - 1)

struct orch_output_decl {
    uint32_t struct_size;
    const char *name;
    const char *description;
};

/* Mandatory: run. plan is mandatory with CAP_DRY_RUN.
 * `orch-plugin test` names a slot "step.SLOT" when a case crashes, hangs or
 * leaks in it ("step.run leaked 1 host allocation"); a backend slot reached
 * through host->inst_exec and friends is named inside it ("backend.exec
 * (inside step.run)"). Cases: options the core must refuse before plugin
 * code runs step/options-refused-by-core; validate step/validate; run
 * sets only declared outputs, the expected ones appear
 * step/run-and-outputs; plan has no side effect step/dry-run-no-side-effects. */
struct orch_step_vtable {
    uint32_t struct_size;
    /* Cross-field checks after the core's own; pure, no side effects. */
    orch_status (*validate)(const void *cfg, struct orch_error *err);
    /* Do the work. Outputs go through host->output_set; failure of the
     * work itself is ORCH_E_FAILED with a message. */
    orch_status (*run)(struct orch_ctx *ctx, const void *cfg,
                       struct orch_error *err);
    /* Describe what run would do, without side effects. *text is out:host. */
    orch_status (*plan)(struct orch_ctx *ctx, const void *cfg, char **text,
                        struct orch_error *err);
    const struct orch_output_decl *outputs; /* static; the outputs run sets */
    uint32_t output_size;                   /* sizeof(struct orch_output_decl) */
    uint32_t output_count;
};

#ifdef __cplusplus
}
#endif
#endif
