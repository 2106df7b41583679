/* Where a run's artifacts live, for the executors that put and get them:
 * the `artifacts:` store when configured, else the state store when it can
 * hold blobs. Executors open it themselves, so artifact bytes never pass
 * through the engine. */
#include <jansson.h>

#include "../node.h"
#include "internal.h"

json_t *oc_engine_artifacts_json(const struct oc_run *r)
{
    const struct oc_plugin_ref *a = &r->cfg->artifacts;
    if (a->uses && a->plugin)
        return oc_req_plugin(NULL, a->plugin, a->with ? oc_node_to_json(a->with) : NULL);
    const struct oc_store *st = r->e->store;
    if (!st->spec_json || !(st->plugin->desc->caps & ORCH_STORE_CAP_BLOBS))
        return NULL;
    return json_loads(st->spec_json, 0, NULL);
}
