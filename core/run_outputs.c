#include "run_outputs.h"

#include <string.h>

static int32_t oc_outputs_ev(void *ud, const struct orch_event_rec *e)
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
    orch_status rc = st->vt->event_list(st->h, run_id, 0, 0, oc_outputs_ev, outputs, err);
    if (rc != ORCH_OK) {
        json_decref(*outputs);
        *outputs = NULL;
    }
    return rc;
}
