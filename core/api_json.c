/* Store records in the API's JSON form (api_json.h). */
#include "api_json.h"

#include <string.h>

#include "util.h"

json_t *oc_api_time(int64_t ns)
{
    if (!ns)
        return json_null();
    char text[40];
    oc_fmt_utc_time(text, sizeof text, ns);
    return json_string(text);
}

int oc_api_time_ns(const json_t *v, int64_t *ns)
{
    if (json_is_null(v)) {
        *ns = 0;
        return 0;
    }
    const char *s = json_string_value(v);
    return s ? oc_parse_utc_time(s, ns) : -1;
}

void oc_api_time_rename(json_t *obj, const char *ns_key, const char *key)
{
    json_t *v = json_object_get(obj, ns_key);
    if (!v)
        return;
    json_object_set_new(obj, key, oc_api_time(json_integer_value(v)));
    json_object_del(obj, ns_key);
}

static json_t *oc_api_or_null(const char *text)
{
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    return j ? j : json_null();
}

json_t *oc_api_run(const struct orch_run_rec *r)
{
    return json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:o,s:o,s:o,s:s?}", "id", r->id, "workflow",
                     r->workflow, "state", orch_run_state_name(r->state), "idempotency_key",
                     r->idempotency_key, "error", r->error, "inputs",
                     oc_api_or_null(r->inputs_json), "created", oc_api_time(r->created_ns),
                     "updated", oc_api_time(r->updated_ns), "owner", r->owner);
}

json_t *oc_api_attempt(const struct orch_attempt_rec *a)
{
    json_t *j = json_pack("{s:i,s:s,s:o,s:s?,s:s?,s:o,s:o}", "attempt", (int)a->attempt,
                          "state", orch_step_state_name(a->state), "outputs",
                          oc_api_or_null(a->outputs_json), "error", a->error, "instance",
                          a->instance_id, "started", oc_api_time(a->started_ns), "finished",
                          oc_api_time(a->finished_ns));
    if (a->exit_code >= 0)
        json_object_set_new(j, "exit_code", json_integer(a->exit_code));
    if (a->finished_ns)
        json_object_set_new(j, "duration_ms",
                            json_integer((a->finished_ns - a->started_ns) / 1000000));
    return j;
}

/* The core's events whose data holds a time, as integer ns (what the
 * ledger keeps): shown as the API shows times. */
static void oc_api_event_times(const char *type, json_t *data)
{
    if (json_is_object(data) &&
        (!strcmp(type, "approval.waiting") || !strcmp(type, "run.waiting")))
        oc_api_time_rename(data, "deadline_ns", "deadline");
}

json_t *oc_api_event(const struct orch_event_rec *e)
{
    json_t *data = oc_api_or_null(e->data_json);
    oc_api_event_times(e->type, data);
    return json_pack("{s:I,s:s,s:o,s:o}", "seq", (json_int_t)e->seq, "type", e->type, "data",
                     data, "ts", oc_api_time(e->ts_ns));
}
