/* The `approval` step type. Its work is done by the engine
 * (core/engine/approval.c), which parks the run until a decision comes;
 * this descriptor gives it an option table like any step, so configs are
 * checked the same way. */
#define ORCH_PLUGIN_STATIC
#include <stddef.h>
#include <string.h>

#include <orch/orch.h>

static const struct orch_host *ap_host;

struct ap_cfg {
    const char *message;
    struct orch_strmap inputs;
    struct orch_strlist required;
    const char *on_timeout;
};

static const char *const ap_policies[] = {"fail", "approve", "reject", NULL};

static const struct orch_option ap_options[] = {
    ORCH_OPTION(struct ap_cfg, message, "message", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED,
                NULL, "what the approver is asked (templated)"),
    ORCH_OPTION(struct ap_cfg, inputs, "inputs", ORCH_OPT_STRING_MAP, 0, NULL,
                "data the approver gives: name -> string, number or boolean"),
    ORCH_OPTION(struct ap_cfg, required, "required", ORCH_OPT_STRING_LIST, 0, NULL,
                "inputs that an approval must give"),
    {sizeof(struct orch_option), ORCH_OPT_ENUM, 0, offsetof(struct ap_cfg, on_timeout),
     "on_timeout", "fail",
     "when the step's timeout passes with no decision: fail, approve or reject", 0, 0,
     ap_policies, NULL},
};

static const struct orch_output_decl ap_outputs[] = {
    {sizeof(struct orch_output_decl), "approved", "true or false"},
    {sizeof(struct orch_output_decl), "by", "who decided (token name or user), or timeout"},
    {sizeof(struct orch_output_decl), "comment", "the approver's comment"},
};

static orch_status ap_validate(const void *cfgp, struct orch_error *err)
{
    const struct ap_cfg *c = cfgp;
    for (uint32_t i = 0; i < c->inputs.count; i++) {
        const char *t = c->inputs.values[i];
        if (strcmp(t, "string") && strcmp(t, "number") && strcmp(t, "boolean"))
            return ap_host->error_set(err, ORCH_E_CONFIG,
                                      "inputs.%s: type must be string, number or boolean, not '%s'",
                                      c->inputs.keys[i], t);
    }
    for (uint32_t i = 0; i < c->required.count; i++) {
        uint32_t k = 0;
        while (k < c->inputs.count && strcmp(c->inputs.keys[k], c->required.items[i]))
            k++;
        if (k == c->inputs.count)
            return ap_host->error_set(err, ORCH_E_CONFIG,
                                      "required: '%s' is not one of the inputs",
                                      c->required.items[i]);
    }
    return ORCH_OK;
}

static orch_status ap_run(struct orch_ctx *ctx, const void *cfg, struct orch_error *err)
{
    (void)ctx;
    (void)cfg;
    return ap_host->error_set(err, ORCH_E_UNSUPPORTED,
                              "approval steps are decided by the engine, not run "
                              "(approve with `orch runs approve` or the API)");
}

static orch_status ap_plan(struct orch_ctx *ctx, const void *cfgp, char **text,
                           struct orch_error *err)
{
    const struct ap_cfg *c = cfgp;
    (void)ctx;
    const char *pre = "would wait for approval: ";
    size_t n = strlen(pre) + strlen(c->message) + 1;
    *text = ap_host->alloc(n);
    if (!*text)
        return ap_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    memcpy(*text, pre, strlen(pre));
    memcpy(*text + strlen(pre), c->message, strlen(c->message) + 1);
    return ORCH_OK;
}

static const struct orch_step_vtable ap_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .validate = ap_validate,
    .run = ap_run,
    .plan = ap_plan,
    .outputs = ap_outputs,
    .output_size = sizeof(struct orch_output_decl),
    .output_count = sizeof ap_outputs / sizeof ap_outputs[0],
};

static const struct orch_plugin_desc ap_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "approval",
    .version = "1.0.0",
    .description = "wait for a human to approve or reject, with optional input data",
    .license = "MIT",
    .caps = ORCH_STEP_CAP_DRY_RUN | ORCH_STEP_CAP_ENGINE_DECIDED,
    .options = ap_options,
    .option_count = sizeof ap_options / sizeof ap_options[0],
    .config_size = sizeof(struct ap_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &ap_vtable,
};

ORCH_PLUGIN_DEFINE(step, approval, ap_desc, ap_host)
