/* Ownership-ledger rows as the daemon handles them: JSON objects that can
 * cross threads and become store records again. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "host.h"
#include "instances.h"
#include "runctl.h"
#include "util.h"

static const char *const orchd_inst_states[] = {"unknown", "creating", "running",
                                                "stopped", "destroyed", "failed"};

static uint32_t orchd_inst_state_code(const char *name)
{
    for (uint32_t i = 0; i < sizeof orchd_inst_states / sizeof *orchd_inst_states; i++)
        if (name && !strcmp(name, orchd_inst_states[i]))
            return i;
    return ORCH_INST_UNKNOWN;
}

const char *orchd_inst_state_name(uint32_t state)
{
    return state < sizeof orchd_inst_states / sizeof *orchd_inst_states
               ? orchd_inst_states[state]
               : "unknown";
}

json_t *orchd_inst_json(const struct orch_instance_rec *i)
{
    json_t *labels = i->labels_json ? json_loads(i->labels_json, 0, NULL) : NULL;
    if (!json_is_object(labels)) {
        json_decref(labels);
        labels = json_object();
    }
    const char *state = orchd_inst_state_name(i->state);
    return json_pack("{s:s,s:s,s:s?,s:s?,s:s?,s:s,s:o,s:s?,s:I,s:I,s:I}", "id", i->id,
                     "backend", i->backend, "run_id", i->run_id, "backend_id", i->backend_id,
                     "handle", i->handle, "state", state, "labels", labels, "owner", i->owner,
                     "created_ns", (json_int_t)i->created_ns, "updated_ns",
                     (json_int_t)i->updated_ns, "last_used_ns", (json_int_t)i->last_used_ns);
}

/* The labels as the store keeps them (text); the caller frees it. */
static char *orchd_inst_labels_text(json_t *j)
{
    return json_dumps(json_object_get(j, "labels"), JSON_COMPACT | JSON_SORT_KEYS);
}

void orchd_inst_rec(json_t *j, struct orch_instance_rec *out)
{
    *out = (struct orch_instance_rec){
        .struct_size = sizeof *out,
        .state = orchd_inst_state_code(json_string_value(json_object_get(j, "state"))),
        .id = json_string_value(json_object_get(j, "id")),
        .backend = json_string_value(json_object_get(j, "backend")),
        .run_id = json_string_value(json_object_get(j, "run_id")),
        .backend_id = json_string_value(json_object_get(j, "backend_id")),
        .handle = json_string_value(json_object_get(j, "handle")),
        .owner = json_string_value(json_object_get(j, "owner")),
        .created_ns = json_integer_value(json_object_get(j, "created_ns")),
        .updated_ns = json_integer_value(json_object_get(j, "updated_ns")),
        .last_used_ns = json_integer_value(json_object_get(j, "last_used_ns")),
    };
}

json_t *orchd_inst_public(json_t *j)
{
    /* A copy: j stays a row that orchd_inst_rec can write back. */
    json_t *out = json_copy(j);
    json_object_del(out, "handle");
    oc_api_time_rename(out, "created_ns", "created");
    oc_api_time_rename(out, "updated_ns", "updated");
    oc_api_time_rename(out, "last_used_ns", "last_used");
    return out;
}

int orchd_inst_live(json_t *j)
{
    uint32_t s = orchd_inst_state_code(json_string_value(json_object_get(j, "state")));
    return s == ORCH_INST_CREATING || s == ORCH_INST_RUNNING;
}

static int32_t orchd_inst_collect(void *ud, const struct orch_instance_rec *i)
{
    json_array_append_new(ud, orchd_inst_json(i));
    return 0;
}

json_t *orchd_inst_list(struct orchd *d, struct orch_error *err)
{
    json_t *all = json_array();
    ORCHD_API_LOCK(d);
    orch_status rc = d->api->vt->instance_list(d->api->h, NULL, orchd_inst_collect, all, err);
    ORCHD_API_UNLOCK(d);
    if (rc != ORCH_OK) {
        json_decref(all);
        return NULL;
    }
    return all;
}

/* The store has no lookup by id: the ledger is listed and searched, which
 * is fine at the ledger's size (live instances plus recent history). */
json_t *orchd_inst_find(struct orchd *d, const char *id)
{
    struct orch_error err;
    oc_error_init(&err);
    json_t *all = orchd_inst_list(d, &err);
    oc_error_clear(&err);
    size_t i;
    json_t *j, *found = NULL;
    json_array_foreach(all, i, j) {
        if (!strcmp(json_string_value(json_object_get(j, "id")), id)) {
            found = json_incref(j);
            break;
        }
    }
    json_decref(all);
    return found;
}

int orchd_inst_put(struct orchd *d, json_t *j, uint32_t state, struct orch_error *err)
{
    int64_t now = orchd_now(d);
    json_object_set_new(j, "state", json_string(orchd_inst_states[state]));
    json_object_set_new(j, "updated_ns", json_integer(now));
    struct orch_instance_rec rec;
    orchd_inst_rec(j, &rec);
    char *labels = orchd_inst_labels_text(j);
    rec.labels_json = labels;
    ORCHD_API_LOCK(d);
    orch_status rc = oc_instance_write(d->api, &rec, err);
    ORCHD_API_UNLOCK(d);
    free(labels);
    return rc == ORCH_OK ? 0 : -1;
}

void orchd_inst_touch(struct orchd *d, const char *id)
{
    json_t *j = orchd_inst_find(d, id);
    if (!j || !orchd_inst_live(j)) {
        json_decref(j);
        return; /* destroyed meanwhile: nothing to keep alive */
    }
    json_object_set_new(j, "last_used_ns", json_integer(orchd_now(d)));
    struct orch_error err;
    oc_error_init(&err);
    struct orch_instance_rec rec;
    orchd_inst_rec(j, &rec);
    if (orchd_inst_put(d, j, rec.state, &err) != 0)
        oc_log(ORCH_LOG_WARN, "instances", "instance %s: record its use: %s", id,
               oc_error_text(&err));
    oc_error_clear(&err);
    json_decref(j);
}

json_t *orchd_inst_backend(struct orchd *d, const struct oc_config *cfg, json_t *j)
{
    const struct oc_plugin_ref *b =
        oc_config_backend(cfg, json_string_value(json_object_get(j, "backend")));
    return oc_req_backend(oc_engine_site(d->eng), b);
}

struct oc_req_instance orchd_inst_ref(json_t *j)
{
    return (struct oc_req_instance){json_string_value(json_object_get(j, "id")),
                                    json_string_value(json_object_get(j, "backend_id")),
                                    json_string_value(json_object_get(j, "handle"))};
}

json_t *orchd_inst_destroy_req(struct orchd *d, json_t *j, json_t *backend)
{
    struct oc_req_instance ref = orchd_inst_ref(j);
    return oc_req_instance_release(orchd_job_ctx(d, 0), backend, &ref);
}
