/* Where a run's artifacts live, for the executors that put and get them:
 * the `artifacts:` store when configured, else the state store when it can
 * hold blobs. Executors open it themselves, so artifact bytes never pass
 * through the engine. */
#include <string.h>

#include <jansson.h>

#include "../artifact_ns.h"
#include "../host.h"

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

json_t *oc_engine_artifact_ns_json(const struct oc_run *r)
{
    const struct oc_config *cfg = r->cfg;
    const struct oc_store *st = r->e->store;
    if (!cfg->n_artifact_ns || !st->spec_json)
        return NULL;
    json_t *declared = json_object();
    for (size_t i = 0; i < cfg->n_artifact_ns; i++) {
        const struct oc_artifact_ns_decl *d = &cfg->artifact_ns[i];
        json_object_set_new(declared, d->name,
                            json_pack("{s:I,s:s}", "keep", (json_int_t)d->keep, "on_conflict",
                                      d->fail_on_conflict ? "fail" : "warn"));
    }
    return json_pack("{s:o,s:o}", "state", json_loads(st->spec_json, 0, NULL), "declared",
                     declared);
}

void oc_engine_artifact_event(const struct oc_run *r, const char *type, const json_t *data)
{
    if (strcmp(type, OC_ARTNS_EV_CONFLICT))
        return;
    /* The warning line of a conflict: the run, the name, who wrote since. */
    oc_log(ORCH_LOG_WARN, r->id,
           "artifact ns/%s/%s: this run read version %lld, but run %s (step %s) wrote version "
           "%lld since; %s",
           json_string_value(json_object_get(data, "namespace")),
           json_string_value(json_object_get(data, "name")),
           (long long)json_integer_value(json_object_get(data, "read")),
           json_string_value(json_object_get(data, "other_run")),
           json_string_value(json_object_get(data, "other_step")),
           (long long)json_integer_value(json_object_get(data, "latest")),
           !strcmp(json_string_value(json_object_get(data, "action")) ?: "", "failed")
               ? "the write was refused (on_conflict: fail)"
               : "this write is a new version on top of it (on_conflict: warn)");
}
