/* Checks on the backends of a workflow made before any run of it exists
 * (the engine's start, a run request through core/runctl.c, orchd's
 * start-up): apart from engine.c, so runctl.c does not call into the
 * engine that calls it. */
#include <stdlib.h>

#include "../host.h"
#include "../plugin_with.h"
#include "internal.h"

/* Every backend the workflow's steps use can have its options resolved
 * (its secrets are set): checked before the run exists, so a missing
 * secret is a config error at file:line:col, not a step that fails later
 * in an executor, where the options have no positions. */
orch_status oc_backends_resolvable(const struct oc_config *cfg, const char *workflow,
                                   struct orch_error *err)
{
    const struct oc_workflow *wf = oc_config_workflow(cfg, workflow);
    for (size_t i = 0; wf && i < wf->n_steps; i++) {
        const struct oc_step *def = &wf->steps[i];
        if (!def->plugin)
            continue;
        const struct oc_plugin_ref *b = oc_step_backend(cfg, wf, def);
        if (!b || !b->with)
            continue;
        char *msg = NULL;
        struct oc_node *r = oc_with_resolve(b->with, &msg);
        if (!r) {
            orch_status rc = oc_error_set(err, ORCH_E_CONFIG, "backend %s: %s", b->name,
                                          msg ? msg : "options cannot be resolved");
            free(msg);
            return rc;
        }
        oc_node_free(r);
    }
    return ORCH_OK;
}
