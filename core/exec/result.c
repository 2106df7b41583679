/* Results and the executor's messages: builders and readers side by side,
 * so each field's name is spelled once per direction, next to its twin
 * (the shapes are listed in result.h). */
#include "exec/result.h"

#include <string.h>

static const char *str_of(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

json_t *oc_res_step(const struct oc_res_step *r)
{
    if (r->plan)
        return json_pack("{s:s}", "plan", r->plan);
    json_t *j = json_object();
    if (!j)
        return NULL;
    if (r->instance_gone) {
        json_object_set_new(j, "instance_gone", json_true());
        if (r->backend_id)
            json_object_set_new(j, "backend_id", json_string(r->backend_id));
    }
    if (r->has_exit_code)
        json_object_set_new(j, "exit_code", json_integer(r->exit_code));
    return j;
}

void oc_res_step_read(json_t *result, struct oc_res_step *out)
{
    memset(out, 0, sizeof *out);
    json_t *ec = json_object_get(result, "exit_code");
    if (json_is_integer(ec)) {
        out->has_exit_code = 1;
        out->exit_code = (int32_t)json_integer_value(ec);
    }
    out->plan = str_of(result, "plan");
    out->instance_gone = json_is_true(json_object_get(result, "instance_gone"));
    out->backend_id = str_of(result, "backend_id");
}

json_t *oc_res_created(const struct oc_res_created *r)
{
    return json_pack("{s:s?,s:s?}", "backend_id", r->backend_id, "handle", r->handle);
}

void oc_res_created_read(json_t *result, struct oc_res_created *out)
{
    out->backend_id = str_of(result, "backend_id");
    out->handle = str_of(result, "handle");
}

json_t *oc_res_status(const struct oc_res_status *r)
{
    return json_pack("{s:i,s:s?}", "state", (json_int_t)r->state, "detail", r->detail);
}

void oc_res_status_read(json_t *result, struct oc_res_status *out)
{
    out->state = (int32_t)json_integer_value(json_object_get(result, "state"));
    out->detail = str_of(result, "detail");
}

json_t *oc_res_exec(const struct oc_res_exec *r)
{
    return json_pack("{s:i,s:i,s:I}", "exit_code", (json_int_t)r->exit_code, "signal",
                     (json_int_t)r->signal, "duration_ns", (json_int_t)r->duration_ns);
}

void oc_res_exec_read(json_t *result, struct oc_res_exec *out)
{
    out->exit_code = (int32_t)json_integer_value(json_object_get(result, "exit_code"));
    out->signal = (int32_t)json_integer_value(json_object_get(result, "signal"));
    out->duration_ns = json_integer_value(json_object_get(result, "duration_ns"));
}

void oc_res_owned_add(json_t *list, const char *id, const char *handle, int32_t state,
                      const struct orch_kv *labels, uint32_t n_labels)
{
    json_t *l = json_object();
    for (uint32_t i = 0; i < n_labels; i++)
        json_object_set_new(l, labels[i].key, json_string(labels[i].value));
    json_array_append_new(list, json_pack("{s:s,s:s?,s:i,s:o}", "id", id, "handle", handle,
                                          "state", (json_int_t)state, "labels", l));
}

json_t *oc_res_owned(json_t *list)
{
    return json_pack("{s:o}", "instances", list ? list : json_array());
}

size_t oc_res_owned_count(json_t *result)
{
    return json_array_size(json_object_get(result, "instances"));
}

int oc_res_owned_at(json_t *result, size_t i, struct oc_res_owned_item *out)
{
    json_t *o = json_array_get(json_object_get(result, "instances"), i);
    if (!json_is_object(o) || !str_of(o, "id"))
        return 0;
    out->id = str_of(o, "id");
    out->handle = str_of(o, "handle");
    out->state = (int32_t)json_integer_value(json_object_get(o, "state"));
    out->labels = json_object_get(o, "labels");
    return 1;
}

json_t *oc_res_reaped(int64_t n)
{
    return json_pack("{s:I}", "reaped", (json_int_t)n);
}

int64_t oc_res_reaped_read(json_t *result)
{
    return json_integer_value(json_object_get(result, "reaped"));
}

json_t *oc_res_empty(void)
{
    return json_object();
}

void oc_res_set_retry_after(json_t **result, int64_t ms)
{
    if (!*result)
        *result = json_object();
    if (*result)
        json_object_set_new(*result, "retry_after_ms", json_integer(ms));
}

int64_t oc_res_retry_after(json_t *result)
{
    json_t *ra = json_object_get(result, "retry_after_ms");
    return json_is_integer(ra) && json_integer_value(ra) > 0 ? json_integer_value(ra) : 0;
}

json_t *oc_msg_at(const char *slot)
{
    return json_pack("{s:s}", "at", slot);
}

json_t *oc_msg_output(const char *key, const char *value)
{
    return json_pack("{s:s,s:s}", "output", key, "value", value ? value : "");
}

json_t *oc_msg_event(const char *type, const char *data_json)
{
    return json_pack("{s:s,s:s}", "event", type, "data", data_json ? data_json : "{}");
}

json_t *oc_msg_event_core(const char *type, const char *data_json)
{
    json_t *j = oc_msg_event(type, data_json);
    json_object_set_new(j, "core", json_true());
    return j;
}

json_t *oc_msg_done(orch_status status, const char *message, json_t *result)
{
    return json_pack("{s:b,s:i,s:s?,s:o?}", "done", 1, "status", (json_int_t)status, "message",
                     message, "result", result);
}

void oc_msg_read(json_t *j, struct oc_msg *out)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(j))
        return;
    if (json_is_true(json_object_get(j, "done"))) {
        out->type = OC_MSG_DONE;
        out->status = (orch_status)json_integer_value(json_object_get(j, "status"));
        out->message = str_of(j, "message");
        json_t *r = json_object_get(j, "result");
        out->result = json_is_object(r) ? r : NULL; /* "result": null is none */
    } else if (str_of(j, "output")) {
        out->type = OC_MSG_OUTPUT;
        out->key = str_of(j, "output");
        out->value = str_of(j, "value") ? str_of(j, "value") : "";
    } else if (str_of(j, "at")) {
        out->type = OC_MSG_AT;
        out->at = str_of(j, "at");
    } else if (str_of(j, "event")) {
        out->type = OC_MSG_EVENT;
        out->event = str_of(j, "event");
        out->data = str_of(j, "data");
        out->core = json_is_true(json_object_get(j, "core"));
    }
}
