/* Lookups in a built config, for everything that reads one: the model's
 * builder (model.c), validation and a tool's sections (config_read.h:
 * orchd's reader checks that its triggers name workflows of the file). */
#include <string.h>

#include "internal.h"

const struct oc_workflow *oc_config_workflow(const struct oc_config *cfg,
                                             const char *name)
{
    for (size_t i = 0; i < cfg->n_workflows; i++)
        if (!strcmp(cfg->workflows[i].name, name))
            return &cfg->workflows[i];
    return NULL;
}

const struct oc_plugin_ref *oc_config_backend(const struct oc_config *cfg,
                                              const char *name)
{
    for (size_t i = 0; i < cfg->n_backends; i++)
        if (name && !strcmp(cfg->backends[i].name, name))
            return &cfg->backends[i];
    return NULL;
}

const struct oc_plugin_ref *oc_step_backend(const struct oc_config *cfg,
                                            const struct oc_workflow *wf,
                                            const struct oc_step *st)
{
    uint64_t caps = st->plugin ? st->plugin->desc->caps : ORCH_STEP_CAP_NEEDS_BACKEND;
    if (!(caps & (ORCH_STEP_CAP_NEEDS_BACKEND | ORCH_STEP_CAP_OPTIONAL_BACKEND)))
        return NULL;
    /* An optional-backend step binds only a backend it is given by name. */
    if (!(caps & ORCH_STEP_CAP_NEEDS_BACKEND) && !st->backend && !wf->backend)
        return NULL;
    const char *name = st->backend ? st->backend
                       : wf->backend ? wf->backend
                                     : cfg->default_backend;
    return oc_config_backend(cfg, name);
}
