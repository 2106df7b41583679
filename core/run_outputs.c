/* What a run's ledger says of it once written: its outputs, its links to
 * the runs it called and the run that called it. */
#include "run_outputs.h"

#include <string.h>

int32_t oc_run_outputs_ev(void *ud, const struct orch_event_rec *e)
{
    json_t **out = ud;
    if (strcmp(e->type, "run.finished"))
        return 0;
    json_t *d = json_loads(e->data_json, 0, NULL);
    json_t *o = json_object_get(d, "outputs");
    json_decref(*out);
    /* A re-run ends again: the last end is the one that counts. */
    *out = json_is_object(o) ? json_incref(o) : NULL;
    json_decref(d);
    return 0;
}

orch_status oc_run_outputs_read(struct oc_store *st, const char *run_id, json_t **outputs,
                                struct orch_error *err)
{
    *outputs = NULL;
    orch_status rc = st->vt->event_list(st->h, run_id, 0, 0, oc_run_outputs_ev, outputs, err);
    if (rc != ORCH_OK) {
        json_decref(*outputs);
        *outputs = NULL;
    }
    return rc;
}

/* run.parent (a child run's, written once) and step.call (one per call
 * attempt), in ledger order. */
int32_t oc_run_links_ev(void *ud, const struct orch_event_rec *e)
{
    json_t *links = ud;
    int parent = !strcmp(e->type, "run.parent");
    if (!parent && strcmp(e->type, "step.call"))
        return 0;
    json_t *d = json_loads(e->data_json, 0, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        return 0;
    }
    if (parent)
        json_object_set_new(links, "parent", d);
    else
        json_array_append_new(json_object_get(links, "children"), d);
    return 0;
}

json_t *oc_run_links_new(void)
{
    return json_pack("{s:n,s:[]}", "parent", "children");
}

orch_status oc_run_links_read(struct oc_store *st, const char *run_id, json_t **links,
                              struct orch_error *err)
{
    *links = oc_run_links_new();
    orch_status rc = st->vt->event_list(st->h, run_id, 0, 0, oc_run_links_ev, *links, err);
    if (rc != ORCH_OK) {
        json_decref(*links);
        *links = NULL;
    }
    return rc;
}
