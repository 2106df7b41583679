/* /v1/instances: create, list, get and destroy backend instances without a
 * workflow. Each is written to the ownership ledger before the backend is
 * asked, like a run's, so a crash mid-create leaves a row the reconciler
 * can reap; idle ones are reaped after worker.idle_instance_ttl. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "exec/result.h"
#include "errors.h"
#include "host.h"
#include "instances.h"
#include "runctl.h"
#include "util.h"

#define ORCHD_CREATE_TIMEOUT_MS (10 * 60 * 1000)
#define ORCHD_DESTROY_TIMEOUT_MS (5 * 60 * 1000)

static void orchd_backend_fail(struct orchd_req *rq, const char *backend, const char *what,
                               const struct orchd_job *j)
{
    /* The backend refused what was asked: the caller's to fix. */
    if (j->status == ORCH_E_INVALID_ARG || j->status == ORCH_E_CONFIG)
        orchd_fail(rq, 400, "invalid", "backend %s: %s: %s", backend, what,
                   j->message ? j->message : orch_strerror(j->status));
    else
        orchd_fail(rq, 502, "backend_error", "backend %s: %s: %s", backend, what,
               j->message ? j->message : orch_strerror(j->status));
}

static void orchd_inst_event(struct orchd *d, const char *type, json_t *row, const char *who)
{
    json_t *data = json_pack("{s:O,s:O,s:O?,s:s}", "instance", json_object_get(row, "id"),
                             "backend", json_object_get(row, "backend"), "backend_id",
                             json_object_get(row, "backend_id"), "by", who);
    ORCHD_API_LOCK(d);
    oc_run_event(d->api, NULL, type, data, orchd_now(d), NULL);
    ORCHD_API_UNLOCK(d);
}

static const char *orchd_caller(struct orchd_req *rq)
{
    return rq->token ? rq->token->name : "anonymous";
}

/* The configured backend a create names, answering 400 when there is none
 * or it cannot serve the API. */
static const struct oc_plugin_ref *orchd_api_backend(struct orchd_req *rq, const char *name)
{
    const struct oc_config *cfg = rq->cfg;
    const struct oc_plugin_ref *b = name ? oc_config_backend(cfg, name) : NULL;
    if (!b || !b->plugin) {
        struct oc_buf names = {0};
        for (size_t i = 0; i < cfg->n_backends; i++)
            oc_buf_addf(&names, "%s%s", i ? ", " : "", cfg->backends[i].name);
        orchd_fail(rq, 400, "invalid", "'backend' must name a backend of the config (%s)",
                   names.data ? names.data : "none configured");
        oc_buf_free(&names);
        return NULL;
    }
    /* exec and destroy run in other executors than create did. */
    if (!(b->plugin->desc->caps & ORCH_BACKEND_CAP_ATTACH)) {
        orchd_fail(rq, 400, "invalid", "backend %s (%s) cannot attach to an instance from "
                   "another process, which the instances API needs", name, b->plugin->id);
        return NULL;
    }
    return b;
}

static int orchd_create_check(struct orchd_req *rq, json_t *b)
{
    static const char *const fields[] = {"backend", "image", "size", "region", "env",
                                         "labels",  "timeout", NULL};
    if (orchd_body_fields(rq, b, fields) || orchd_body_strings(rq, b, "env") ||
        orchd_body_strings(rq, b, "labels"))
        return -1;
    static const char *const texts[] = {"backend", "image", "size", "region"};
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        json_t *v = json_object_get(b, texts[i]);
        if (v && (!json_is_string(v) || !*json_string_value(v))) {
            orchd_fail(rq, 400, "invalid", "%s must be a non-empty string", texts[i]);
            return -1;
        }
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(b, "labels"), k, v) {
        if (!strncmp(k, "orch.", 5)) {
            orchd_fail(rq, 400, "invalid", "labels.%s: the orch. prefix is orch's own", k);
            return -1;
        }
    }
    return 0;
}

void orchd_instances_create(struct orchd_req *rq)
{
    struct orchd *d = rq->d;
    json_t *b = orchd_body_object(rq);
    if (!b)
        return;
    int64_t timeout = ORCHD_CREATE_TIMEOUT_MS;
    const char *name = json_string_value(json_object_get(b, "backend"));
    const struct oc_plugin_ref *be = NULL;
    if (orchd_create_check(rq, b) || orchd_body_duration(rq, b, "timeout", &timeout) ||
        !(be = orchd_api_backend(rq, name))) {
        json_decref(b);
        return;
    }
    if (atomic_load(&d->proof) || atomic_load(&d->draining)) {
        orchd_fail(rq, 409, "conflict", atomic_load(&d->proof)
                                            ? "the daemon is in proof mode: backends create "
                                              "nothing"
                                            : "the daemon is draining");
        json_decref(b);
        return;
    }
    char *id = oc_new_id("i-");
    json_t *labels = json_deep_copy(json_object_get(b, "labels"));
    if (!labels)
        labels = json_object();
    json_object_set_new(labels, "orch.instance", json_string(id));
    json_object_set_new(labels, "orch.api", json_string("instances"));
    int64_t now = orchd_now(d);
    json_t *row = json_pack("{s:s,s:s,s:s,s:O,s:s,s:I,s:I,s:I}", "id", id, "backend", name,
                            "state", "creating", "labels", labels, "owner", d->owner,
                            "created_ns", (json_int_t)now, "updated_ns", (json_int_t)now,
                            "last_used_ns", (json_int_t)now);
    struct orch_error err;
    oc_error_init(&err);
    if (orchd_inst_put(d, row, ORCH_INST_CREATING, &err) != 0) {
        orchd_fail(rq, 500, "internal", "record the instance: %s", oc_error_text(&err));
        goto out;
    }
    struct oc_req_spec spec = {.instance_id = id,
                               .image = json_object_get(b, "image"),
                               .size = json_object_get(b, "size"),
                               .region = json_object_get(b, "region"),
                               .env = json_object_get(b, "env"),
                               .labels = labels};
    json_t *req = oc_req_instance_create(orchd_job_ctx(d, timeout),
                                         oc_req_backend(oc_engine_site(d->eng), be), &spec);
    struct orchd_job job = {.component = name, .timeout_ms = timeout};
    orchd_job_run(d, &job, req);
    if (job.status != ORCH_OK) {
        orchd_inst_put(d, row, ORCH_INST_FAILED, &err);
        oc_error_clear(&err);
        orchd_backend_fail(rq, name, "create instance", &job);
    } else {
        struct oc_res_created c;
        oc_res_created_read(job.result, &c);
        if (c.backend_id)
            json_object_set_new(row, "backend_id", json_string(c.backend_id));
        if (c.handle)
            json_object_set_new(row, "handle", json_string(c.handle));
        /* Its idle clock starts when it is ready, however long that took. */
        json_object_set_new(row, "last_used_ns", json_integer(orchd_now(d)));
        if (orchd_inst_put(d, row, ORCH_INST_RUNNING, &err) != 0)
            oc_log(ORCH_LOG_WARN, "instances", "instance %s: record it running: %s", id,
                   oc_error_text(&err));
        oc_error_clear(&err);
        orchd_inst_event(d, "instance.created", row, orchd_caller(rq));
        orchd_reply(rq, 201, json_pack("{s:o}", "instance", orchd_inst_public(row)));
    }
    orchd_job_clear(&job);
out:
    oc_error_clear(&err);
    json_decref(row);
    json_decref(labels);
    json_decref(b);
    free(id);
}

/* The backend's view of every live instance of one backend, by one
 * list_owned call: backend id -> state name. NULL with *why when the
 * backend could not say. */
static json_t *orchd_backend_states(struct orchd *d, const struct oc_config *cfg, json_t *row,
                                    char **why)
{
    json_t *be = orchd_inst_backend(d, cfg, row);
    const char *name = json_string_value(json_object_get(row, "backend"));
    if (!be) {
        *why = oc_xasprintf("backend %s is not in the config", name);
        return NULL;
    }
    json_t *req = oc_req_instance_list_owned(orchd_job_ctx(d, 60000), be, NULL);
    struct orchd_job job = {.component = name, .timeout_ms = 60000};
    orchd_job_run(d, &job, req);
    json_t *states = NULL;
    if (job.status == ORCH_OK) {
        states = json_object();
        struct oc_res_owned_item o;
        for (size_t i = 0, n = oc_res_owned_count(job.result); i < n; i++)
            if (oc_res_owned_at(job.result, i, &o))
                json_object_set_new(states, o.id,
                                    json_string(orchd_inst_state_name((uint32_t)o.state)));
    } else {
        *why = oc_xasprintf("%s", job.message ? job.message : orch_strerror(job.status));
    }
    orchd_job_clear(&job);
    return states;
}

/* Annotate live rows with backend_state: what the backend says now. */
static void orchd_add_backend_states(struct orchd *d, const struct oc_config *cfg, json_t *rows)
{
    json_t *by_backend = json_object(); /* name -> states or error text */
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (!orchd_inst_live(row)) {
            json_object_set(row, "backend_state", json_object_get(row, "state"));
            continue;
        }
        const char *name = json_string_value(json_object_get(row, "backend"));
        json_t *known = json_object_get(by_backend, name);
        if (!known) {
            char *why = NULL;
            json_t *states = orchd_backend_states(d, cfg, row, &why);
            known = states ? states : json_string(why);
            json_object_set_new(by_backend, name, known);
            free(why);
        }
        const char *bid = json_string_value(json_object_get(row, "backend_id"));
        if (json_is_string(known)) {
            json_object_set_new(row, "backend_state", json_string("unknown"));
            json_object_set(row, "backend_error", known);
        } else if (!bid) {
            json_object_set_new(row, "backend_state", json_string("creating"));
        } else {
            json_t *s = json_object_get(known, bid);
            json_object_set_new(row, "backend_state", s ? json_incref(s) : json_string("gone"));
        }
    }
    json_decref(by_backend);
}

void orchd_instances_list(struct orchd_req *rq)
{
    const char *backend = orchd_query(rq, "backend");
    const char *run = orchd_query(rq, "run_id");
    int want_all, want_status;
    if (orchd_query_bool(rq, "all", 0, &want_all) || orchd_query_bool(rq, "status", 1, &want_status))
        return;
    struct orch_error err;
    oc_error_init(&err);
    json_t *rows = orchd_inst_list(rq->d, &err);
    if (!rows) {
        orchd_fail_err(rq, &err);
        oc_error_clear(&err);
        return;
    }
    json_t *out = json_array();
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        const char *rid = json_string_value(json_object_get(row, "run_id"));
        if ((!want_all && !orchd_inst_live(row)) ||
            (backend && strcmp(backend, json_string_value(json_object_get(row, "backend")))) ||
            (run && (*run ? !rid || strcmp(run, rid) : rid != NULL)))
            continue;
        json_array_append(out, row);
    }
    json_decref(rows);
    if (want_status)
        orchd_add_backend_states(rq->d, rq->cfg, out);
    json_t *shown = json_array();
    json_array_foreach(out, i, row)
        json_array_append_new(shown, orchd_inst_public(row));
    json_decref(out);
    orchd_reply(rq, 200, json_pack("{s:o}", "instances", shown));
}

/* The row of the path's {id}, answering 404 when there is none. */
json_t *orchd_inst_of_path(struct orchd_req *rq)
{
    json_t *row = orchd_inst_find(rq->d, rq->params[0]);
    if (!row)
        orchd_fail(rq, 404, "not_found", "no instance %s in the ownership ledger",
                   rq->params[0]);
    return row;
}

void orchd_instances_get(struct orchd_req *rq)
{
    struct orchd *d = rq->d;
    json_t *row = orchd_inst_of_path(rq);
    if (!row)
        return;
    json_t *be = orchd_live_backend(rq, row, 0);
    if (be && json_object_get(row, "backend_id")) {
        struct oc_req_instance ref = orchd_inst_ref(row);
        json_t *req = oc_req_instance_status(orchd_job_ctx(d, 60000), be, &ref);
        struct orchd_job job = {.component = json_string_value(json_object_get(row, "backend")),
                                .timeout_ms = 60000};
        orchd_job_run(d, &job, req);
        if (job.status == ORCH_OK) {
            struct oc_res_status rs;
            oc_res_status_read(job.result, &rs);
            json_object_set_new(row, "backend_state",
                                json_string(orchd_inst_state_name((uint32_t)rs.state)));
            if (rs.detail)
                json_object_set_new(row, "backend_detail", json_string(rs.detail));
        } else {
            json_object_set_new(row, "backend_state", json_string("unknown"));
            json_object_set_new(row, "backend_error",
                                json_string(job.message ? job.message : "failed"));
        }
        orchd_job_clear(&job);
    } else {
        json_decref(be);
        json_object_set(row, "backend_state", json_object_get(row, "state"));
    }
    orchd_reply(rq, 200, json_pack("{s:o}", "instance", orchd_inst_public(row)));
    json_decref(row);
}

static int32_t orchd_run_state_of(void *ud, const struct orch_run_rec *r)
{
    *(uint32_t *)ud = r->state;
    return 0;
}

json_t *orchd_live_backend(struct orchd_req *rq, json_t *row, int answer)
{
    if (!orchd_inst_live(row)) {
        if (answer)
            orchd_fail(rq, 409, "conflict", "instance %s is %s", rq->params[0],
                       json_string_value(json_object_get(row, "state")));
        return NULL;
    }
    json_t *be = orchd_inst_backend(rq->d, rq->cfg, row);
    if (!be && answer)
        orchd_fail(rq, 409, "conflict", "instance %s is on backend %s, which the config no "
                   "longer has", rq->params[0],
                   json_string_value(json_object_get(row, "backend")));
    return be;
}

void orchd_instances_destroy(struct orchd_req *rq)
{
    struct orchd *d = rq->d;
    json_t *row = orchd_inst_of_path(rq);
    if (!row)
        return;
    const char *run = json_string_value(json_object_get(row, "run_id"));
    uint32_t run_state = 0;
    if (run && orchd_inst_live(row)) {
        struct orch_error err;
        oc_error_init(&err);
        ORCHD_API_LOCK(d);
        d->api->vt->run_get(d->api->h, run, orchd_run_state_of, &run_state, &err);
        ORCHD_API_UNLOCK(d);
        oc_error_clear(&err);
    }
    if (run_state && run_state != ORCH_RUN_SUCCEEDED && run_state != ORCH_RUN_FAILED &&
        run_state != ORCH_RUN_CANCELLED) {
        orchd_fail(rq, 409, "conflict", "instance %s belongs to run %s (%s); cancel the run",
                   rq->params[0], run, orch_run_state_name(run_state));
        json_decref(row);
        return;
    }
    if (!orchd_inst_live(row)) {
        orchd_reply(rq, 200, json_pack("{s:o}", "instance", orchd_inst_public(row)));
        json_decref(row);
        return; /* destroying twice is not an error */
    }
    json_t *be = orchd_live_backend(rq, row, 1);
    if (!be) {
        json_decref(row);
        return;
    }
    const char *name = json_string_value(json_object_get(row, "backend"));
    struct orchd_job job = {.component = name, .timeout_ms = ORCHD_DESTROY_TIMEOUT_MS};
    orchd_job_run(d, &job, orchd_inst_destroy_req(d, row, be));
    if (job.status != ORCH_OK && job.status != ORCH_E_NOT_FOUND) {
        orchd_backend_fail(rq, name, "destroy instance", &job);
    } else {
        struct orch_error err;
        oc_error_init(&err);
        if (orchd_inst_put(d, row, ORCH_INST_DESTROYED, &err) != 0)
            orchd_fail(rq, 500, "internal", "record the instance destroyed: %s",
                       oc_error_text(&err));
        else
            orchd_reply(rq, 200, json_pack("{s:o}", "instance", orchd_inst_public(row)));
        oc_error_clear(&err);
        orchd_inst_event(d, "instance.destroyed", row, orchd_caller(rq));
    }
    orchd_job_clear(&job);
    json_decref(row);
}
