/* Requests on runs from outside the engine that drives them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "flags.h"
#include "host.h"
#include "inputs.h"
#include "runctl.h"
#include "concurrency.h"
#include "trace/trace.h"
#include "util.h"

orch_status oc_workflow_missing(const struct oc_config *cfg, const char *name,
                                struct orch_error *err)
{
    const char **names = oc_xcalloc(cfg->n_workflows + 1, sizeof *names);
    for (size_t i = 0; i < cfg->n_workflows; i++)
        names[i] = cfg->workflows[i].name;
    const char *near = oc_closest(name, names, cfg->n_workflows);
    oc_error_set(err, ORCH_E_NOT_FOUND, "%s: no workflow '%s'%s%s%s", cfg->path, name,
                 near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
    free(names);
    return ORCH_E_NOT_FOUND;
}

struct oc_run_peek {
    int found;
    uint32_t state;
    char *id;
    char *workflow;     /* what an idempotency key's first run was */
    char *inputs_json;
    char *error;        /* why a failed run failed */
};

static int32_t oc_run_peek_cb(void *ud, const struct orch_run_rec *r)
{
    struct oc_run_peek *p = ud;
    p->found = 1;
    p->state = r->state;
    free(p->id);
    free(p->workflow);
    free(p->inputs_json);
    free(p->error);
    p->id = oc_xstrdup(r->id);
    p->error = r->error ? oc_xstrdup(r->error) : NULL;
    p->workflow = r->workflow ? oc_xstrdup(r->workflow) : NULL;
    p->inputs_json = r->inputs_json ? oc_xstrdup(r->inputs_json) : NULL;
    return 0;
}

static void oc_run_peek_free(struct oc_run_peek *p)
{
    free(p->error);
    free(p->id);
    free(p->workflow);
    free(p->inputs_json);
}

/* A key names one request: the same key with another workflow or other
 * inputs is a client bug (or two clients sharing a key), never a request to
 * be answered with a run that did something else. ORCH_OK when `first`
 * (the run that holds the key) asked for the same; else ORCH_E_CONFLICT
 * naming the first difference. */
static orch_status oc_key_matches(const struct oc_run_peek *first, const char *key,
                                  const char *workflow, json_t *inputs,
                                  struct orch_error *err)
{
    if (!first->workflow || strcmp(first->workflow, workflow))
        return oc_error_set(err, ORCH_E_CONFLICT,
                            "idempotency key '%s' belongs to run %s of workflow '%s', "
                            "not '%s'", key, first->id,
                            first->workflow ? first->workflow : "?", workflow);
    json_t *old = first->inputs_json ? json_loads(first->inputs_json, 0, NULL) : NULL;
    if (!json_is_object(old)) {
        json_decref(old);
        return oc_error_set(err, ORCH_E_CONFLICT,
                            "idempotency key '%s' belongs to run %s, whose stored inputs "
                            "cannot be compared", key, first->id);
    }
    orch_status rc = ORCH_OK;
    const char *k;
    json_t *v;
    json_object_foreach(inputs, k, v) {
        json_t *was = json_object_get(old, k);
        if (was && json_equal(was, v))
            continue;
        const char *now_s = json_string_value(v), *was_s = json_string_value(was);
        if (was)
            rc = oc_error_set(err, ORCH_E_CONFLICT,
                              "idempotency key '%s' belongs to run %s, whose input '%s' "
                              "was '%s' (this request gives '%s')", key, first->id, k,
                              was_s ? was_s : "?", now_s ? now_s : "?");
        else
            rc = oc_error_set(err, ORCH_E_CONFLICT,
                              "idempotency key '%s' belongs to run %s, which had no input "
                              "'%s' (this request gives '%s')", key, first->id, k,
                              now_s ? now_s : "?");
        break;
    }
    if (rc == ORCH_OK) {
        json_object_foreach(old, k, v) {
            if (json_object_get(inputs, k))
                continue;
            const char *was_s = json_string_value(v);
            rc = oc_error_set(err, ORCH_E_CONFLICT,
                              "idempotency key '%s' belongs to run %s, whose input '%s' "
                              "was '%s' (this request does not give it)", key, first->id,
                              k, was_s ? was_s : "?");
            break;
        }
    }
    json_decref(old);
    return rc;
}

/* The run's record into p (freed by the caller either way); NOT_FOUND
 * named when there is none. */
static orch_status oc_run_peek(struct oc_store *st, const char *run_id, struct oc_run_peek *p,
                               struct orch_error *err)
{
    orch_status rc = st->vt->run_get(st->h, run_id, oc_run_peek_cb, p, err);
    if (rc == ORCH_E_NOT_FOUND || (rc == ORCH_OK && !p->found)) {
        oc_error_clear(err);
        return oc_error_set(err, ORCH_E_NOT_FOUND, "no run %s", run_id);
    }
    return rc;
}

static orch_status oc_run_state_of(struct oc_store *st, const char *run_id,
                                   uint32_t *state, struct orch_error *err)
{
    struct oc_run_peek p = {0};
    orch_status rc = oc_run_peek(st, run_id, &p, err);
    *state = p.state;
    oc_run_peek_free(&p);
    return rc;
}

/* Append to the ledger. With err NULL a failure is only a missing note;
 * with err it is the caller's failure (a decision must land with its
 * state change or not at all). */
static orch_status oc_event_at(struct oc_store *st, const char *run_id, const char *type,
                               json_t *data, int64_t at, struct orch_error *err)
{
    char *j = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    struct orch_error own;
    oc_error_init(&own);
    int64_t seq;
    orch_status rc = st->vt->event_append(st->h, run_id, type, j, at ? at : oc_now_real_ns(), &seq,
                                          err ? err : &own);
    oc_error_clear(&own);
    free(j);
    return rc;
}

static orch_status oc_event(struct oc_store *st, const char *run_id, const char *type,
                            json_t *data, struct orch_error *err)
{
    return oc_event_at(st, run_id, type, data, 0, err);
}

orch_status oc_run_event(struct oc_store *st, const char *run_id, const char *type,
                         json_t *data, int64_t at, struct orch_error *err)
{
    return oc_event_at(st, run_id, type, data ? data : json_object(), at, err);
}

orch_status oc_flag_write(struct oc_store *st, const char *key, const char *value,
                          struct orch_error *err)
{
    struct orch_error own;
    oc_error_init(&own);
    orch_status rc = st->vt->flag_set(st->h, key, value, err ? err : &own);
    oc_error_clear(&own);
    return rc;
}

orch_status oc_instance_write(struct oc_store *st, const struct orch_instance_rec *rec,
                              struct orch_error *err)
{
    return st->vt->instance_put(st->h, rec, err);
}

struct oc_claimed {
    char *id;
    size_t cap;
};

static int32_t oc_claimed_cb(void *ud, const struct orch_run_rec *r)
{
    struct oc_claimed *c = ud;
    snprintf(c->id, c->cap, "%s", r->id);
    return 0;
}

orch_status oc_run_claim(struct oc_store *st, const char *owner, int64_t ttl_ms, int64_t now,
                         char *id, size_t cap, struct orch_error *err)
{
    struct oc_claimed c = {id, cap};
    return st->vt->run_claim(st->h, owner, ttl_ms, now, oc_claimed_cb, &c, err);
}

orch_status oc_run_lease(struct oc_store *st, const char *run_id, const char *owner,
                         int64_t ttl_ms, int64_t now, struct orch_error *err)
{
    if (!st->vt->run_heartbeat)
        return ORCH_OK;
    struct orch_error own;
    oc_error_init(&own);
    orch_status rc = st->vt->run_heartbeat(st->h, run_id, owner, ttl_ms, now, err ? err : &own);
    oc_error_clear(&own);
    return rc;
}

orch_status oc_run_hand_back(struct oc_store *st, const char *run_id, const char *owner,
                             int64_t now, struct orch_error *err)
{
    orch_status rc = st->vt->run_cas(st->h, run_id, ORCH_RUN_RUNNING, owner, ORCH_RUN_QUEUED,
                                     NULL, now, err);
    if (rc == ORCH_OK)
        oc_run_lease(st, run_id, owner, 0, now, NULL);
    return rc;
}

orch_status oc_run_fail_owned(struct oc_store *st, const char *run_id, const char *owner,
                              const char *why, json_t *extra, int64_t now,
                              struct orch_error *err)
{
    json_t *d = json_pack("{s:s,s:s}", "state", "failed", "error", why);
    if (extra)
        json_object_update(d, extra);
    json_decref(extra);
    orch_status rc = oc_txn_begin(st, err);
    if (rc != ORCH_OK) {
        json_decref(d);
        return rc;
    }
    rc = st->vt->run_cas(st->h, run_id, ORCH_RUN_RUNNING, owner, ORCH_RUN_FAILED, why, now, err);
    char *j = json_dumps(d, JSON_COMPACT);
    json_decref(d);
    int64_t seq;
    if (rc == ORCH_OK)
        rc = st->vt->event_append(st->h, run_id, "run.finished", j, now, &seq, err);
    free(j);
    rc = oc_txn_end(st, rc, err);
    if (rc == ORCH_OK)
        oc_run_lease(st, run_id, owner, 0, now, NULL);
    return rc;
}

struct oc_lease_holder {
    const char *name;
    char **holder;
};

static int32_t oc_lease_holder_cb(void *ud, const struct orch_lease_rec *l)
{
    struct oc_lease_holder *h = ud;
    if (!strcmp(l->name, h->name) && !*h->holder)
        *h->holder = oc_xstrdup(l->owner);
    return 0;
}

orch_status oc_named_lease(struct oc_store *st, const char *name, const char *owner,
                           int64_t ttl_ms, int64_t now, char **holder, struct orch_error *err)
{
    if (!st->vt->lease_acquire || !st->vt->lease_release)
        return oc_error_set(err, ORCH_E_UNSUPPORTED, "store %s has no named leases",
                            st->plugin->id);
    if (!ttl_ms)
        return st->vt->lease_release(st->h, name, owner, err);
    orch_status rc = st->vt->lease_acquire(st->h, name, owner, ttl_ms, now, NULL, err);
    if (rc == ORCH_E_CONFLICT && holder && st->vt->lease_list) {
        struct oc_lease_holder h = {name, holder};
        struct orch_error own;
        oc_error_init(&own);
        st->vt->lease_list(st->h, oc_lease_holder_cb, &h, &own);
        oc_error_clear(&own);
    }
    return rc;
}

orch_status oc_run_deadline_passed(struct oc_store *st, const char *run_id, int64_t now,
                                   struct orch_error *err)
{
    orch_status rc = st->vt->run_cas(st->h, run_id, ORCH_RUN_WAITING, NULL, ORCH_RUN_QUEUED,
                                     NULL, now, err);
    char *key = oc_flag_key(OC_FLAG_DEADLINE, run_id);
    struct orch_error own;
    oc_error_init(&own);
    if (oc_flag_write(st, key, NULL, &own) != ORCH_OK)
        oc_log(ORCH_LOG_WARN, "scheduler", "flag %s: %s", key, oc_error_text(&own));
    oc_error_clear(&own);
    free(key);
    return rc;
}

/* The caller's context in the canonical form orch sends on (version 00,
 * the sampled flag alone). */
static orch_status oc_trace_parent_write(struct oc_store *st, const char *run_id,
                                         const struct oc_trace_parent *p,
                                         struct orch_error *err)
{
    char tp[OC_TRACEPARENT_LEN + 1];
    oc_traceparent_format(p->trace_id, p->span_id, p->sampled, tp);
    return oc_event(st, run_id, OC_RUN_TRACEPARENT_EVENT, json_pack("{s:s}", "traceparent", tp),
                    err);
}

orch_status oc_run_create(struct oc_store *st, const struct oc_config *cfg,
                          const char *workflow, json_t *inputs,
                          const char *idempotency_key, uint32_t state,
                          const struct oc_trace_parent *parent,
                          const struct oc_workflow **wf_out, json_t **inputs_out,
                          char **run_id, struct orch_error *err)
{
    return oc_run_create_owned(st, cfg, workflow, inputs, idempotency_key, state, parent,
                               NULL, 0, wf_out, inputs_out, run_id, err);
}

orch_status oc_run_create_owned(struct oc_store *st, const struct oc_config *cfg,
                                const char *workflow, json_t *inputs,
                                const char *idempotency_key, uint32_t state,
                                const struct oc_trace_parent *parent, const char *owner,
                                int64_t lease_expires_ns, const struct oc_workflow **wf_out,
                                json_t **inputs_out, char **run_id, struct orch_error *err)
{
    const struct oc_workflow *wf = oc_config_workflow(cfg, workflow);
    if (!wf)
        return oc_workflow_missing(cfg, workflow, err);
    json_t *in = NULL, *empty = json_object();
    orch_status rc = oc_inputs_check(wf, inputs ? inputs : empty, &in, err);
    json_decref(empty);
    if (rc != ORCH_OK)
        return rc;
    /* A key that renders empty names no group: refused before anything
     * is stored, as a bad input is. */
    char *cg_key = NULL;
    rc = oc_cgroup_key(wf, in, &cg_key, err);
    free(cg_key);
    if (rc != ORCH_OK) {
        json_decref(in);
        return rc;
    }
    char *snapshot = oc_config_snapshot(cfg, wf);
    if (!snapshot) {
        json_decref(in);
        return oc_error_set(err, ORCH_E_INTERNAL, "workflow %s: cannot build its run's "
                            "snapshot of the config", wf->name);
    }
    char *id = oc_new_id("r-");
    char *inputs_json = json_dumps(in, JSON_COMPACT);
    int64_t now = oc_now_real_ns();
    struct orch_run_rec rec = {
        .struct_size = sizeof rec,
        .state = state,
        .id = id,
        .workflow = wf->name,
        .idempotency_key = idempotency_key,
        .inputs_json = inputs_json,
        .source = snapshot,
        .source_path = cfg->path,
        .owner = owner,
        .created_ns = now,
        .updated_ns = now,
        .lease_expires_ns = owner ? lease_expires_ns : 0,
    };
    struct oc_run_peek first = {0};
    rc = st->vt->run_create(st->h, &rec, oc_run_peek_cb, &first, err);
    if (rc == ORCH_OK && parent)
        rc = oc_trace_parent_write(st, id, parent, err);
    free(inputs_json);
    free(snapshot);
    if (rc != ORCH_OK) {
        free(id);
        if (rc == ORCH_E_EXISTS && first.found && idempotency_key) {
            /* The store called back with the run that holds the key. */
            struct orch_error diff;
            oc_error_init(&diff);
            if (oc_key_matches(&first, idempotency_key, wf->name, in, &diff) == ORCH_OK) {
                *run_id = first.id;
                first.id = NULL;
            } else {
                oc_error_clear(err);
                oc_error_set(err, ORCH_E_CONFLICT, "%s", oc_error_text(&diff));
                rc = ORCH_E_CONFLICT;
            }
            oc_error_clear(&diff);
        }
        json_decref(in);
        oc_run_peek_free(&first);
        return rc;
    }
    oc_run_peek_free(&first);
    *run_id = id;
    if (wf_out)
        *wf_out = wf;
    if (inputs_out)
        *inputs_out = in;
    else
        json_decref(in);
    return ORCH_OK;
}

orch_status oc_run_enqueue(struct oc_store *st, const struct oc_config *cfg,
                           const char *workflow, json_t *inputs,
                           const char *idempotency_key, const char *trigger,
                           const char *traceparent, char **run_id, struct orch_error *err)
{
    const struct oc_workflow *wf;
    /* A queued run whose backend's secret is missing would only fail in
     * an executor, where the options have no positions: refused here,
     * naming file:line:col and the variable, with nothing stored. Checked
     * at each enqueue, not once at start, because a secret file under
     * $ORCH_SECRETS_DIR can appear while the daemon runs. */
    orch_status rc = oc_backends_resolvable(cfg, workflow, err);
    if (rc != ORCH_OK)
        return rc;
    struct oc_trace_parent parent;
    int traced = oc_traceparent_take(traceparent, "the traceparent header", &parent) == 0;
    if (traced && (rc = oc_txn_begin(st, err)) != ORCH_OK)
        return rc;
    rc = oc_run_create(st, cfg, workflow, inputs, idempotency_key, ORCH_RUN_QUEUED,
                       traced ? &parent : NULL, &wf, NULL, run_id, err);
    if (traced) /* on EXISTS, rolled back with *run_id naming the first run */
        rc = oc_txn_end(st, rc, err);
    if (rc != ORCH_OK)
        return rc;
    const char *id = *run_id;
    oc_event(st, id, "run.queued",
             json_pack("{s:s,s:s}", "workflow", wf->name, "trigger", trigger ? trigger : "api"),
             NULL);
    if (st->vt->notify) {
        struct orch_error e2;
        oc_error_init(&e2);
        st->vt->notify(st->h, "runs", &e2);
        oc_error_clear(&e2);
    }
    return ORCH_OK;
}

/* What is waiting for a decision in a run, from its ledger. */
struct oc_waiting {
    json_t *all;       /* "step#attempt" -> approval.waiting data, undecided */
};

static int32_t oc_waiting_cb(void *ud, const struct orch_event_rec *ev)
{
    struct oc_waiting *w = ud;
    int waiting = !strcmp(ev->type, "approval.waiting");
    if (!waiting && strcmp(ev->type, "approval.decided"))
        return 0;
    json_t *j = json_loads(ev->data_json, 0, NULL);
    if (!j)
        return 0;
    char *key = oc_xasprintf("%s#%lld", json_string_value(json_object_get(j, "step")),
                             (long long)json_integer_value(json_object_get(j, "attempt")));
    if (waiting)
        json_object_set(w->all, key, j);
    else
        json_object_del(w->all, key);
    free(key);
    json_decref(j);
    return 0;
}

static orch_status oc_input_check(json_t *decl, json_t *required, json_t *input,
                                  int approve, struct orch_error *err)
{
    if (input && !json_is_object(input))
        return oc_error_set(err, ORCH_E_INVALID_ARG, "input must be a JSON object");
    const char *k;
    json_t *v;
    json_object_foreach(input, k, v) {
        json_t *t = json_object_get(decl, k);
        if (!t)
            return oc_error_set(err, ORCH_E_INVALID_ARG,
                                "input '%s' is not declared by the step (inputs: %s)", k,
                                json_object_size(decl) ? "see the step's inputs" : "none");
        const char *type = json_string_value(t);
        int ok = !strcmp(type, "string")    ? json_is_string(v)
                 : !strcmp(type, "number")  ? json_is_number(v)
                 : !strcmp(type, "boolean") ? json_is_boolean(v)
                                            : 0;
        if (!ok)
            return oc_error_set(err, ORCH_E_INVALID_ARG, "input '%s' must be a %s", k, type);
    }
    size_t i;
    json_t *r;
    json_array_foreach(required, i, r) {
        if (approve && !json_object_get(input, json_string_value(r)))
            return oc_error_set(err, ORCH_E_INVALID_ARG,
                                "input '%s' is required to approve", json_string_value(r));
    }
    return ORCH_OK;
}

orch_status oc_run_decide(struct oc_store *st, const char *run_id,
                          const char *step_id, int approve, json_t *input,
                          const char *by, const char *comment,
                          struct orch_error *err)
{
    uint32_t state = 0;
    orch_status rc = oc_run_state_of(st, run_id, &state, err);
    if (rc != ORCH_OK)
        return rc;
    if (state != ORCH_RUN_WAITING)
        return oc_error_set(err, ORCH_E_CONFLICT, "run %s is %s, not waiting for a decision",
                            run_id, orch_run_state_name(state));
    struct oc_waiting w = {.all = json_object()};
    st->vt->event_list(st->h, run_id, 0, 0, oc_waiting_cb, &w, err);
    oc_error_clear(err);
    json_t *pending = NULL;
    struct oc_buf names = {0};
    const char *k;
    json_t *v;
    json_object_foreach(w.all, k, v) {
        const char *s = json_string_value(json_object_get(v, "step"));
        oc_buf_addf(&names, "%s%s", names.len ? ", " : "", s);
        if (!strcmp(s, step_id))
            pending = v;
    }
    if (!pending) {
        rc = oc_error_set(err, ORCH_E_NOT_FOUND,
                          "step %s of run %s is not waiting for a decision (waiting: %s)",
                          step_id, run_id, names.len ? names.data : "none");
        goto out;
    }
    if (!strcmp(json_string_value(json_object_get(pending, "kind")), "approval")) {
        rc = oc_input_check(json_object_get(pending, "inputs"),
                            json_object_get(pending, "required"), input, approve, err);
        if (rc != ORCH_OK)
            goto out;
    }
    if ((rc = oc_txn_begin(st, err)) != ORCH_OK)
        goto out;
    rc = st->vt->run_cas(st->h, run_id, ORCH_RUN_WAITING, NULL, ORCH_RUN_QUEUED, NULL,
                         oc_now_real_ns(), err);
    if (rc == ORCH_OK)
        rc = oc_event(st, run_id, "approval.decided",
                      json_pack("{s:s,s:O,s:b,s:s,s:s,s:o}", "step", step_id, "attempt",
                                json_object_get(pending, "attempt"), "approved", approve,
                                "by", by ? by : "", "comment", comment ? comment : "",
                                "input", input ? json_incref(input) : json_object()),
                      err);
    rc = oc_txn_end(st, rc, err);
    if (rc == ORCH_E_CONFLICT) {
        oc_error_clear(err);
        rc = oc_error_set(err, ORCH_E_CONFLICT, "run %s was decided or changed meanwhile",
                          run_id);
    }
out:
    oc_buf_free(&names);
    json_decref(w.all);
    return rc;
}

orch_status oc_run_child_ended(struct oc_store *st, const char *parent_id,
                               const char *child_id, uint32_t state)
{
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = oc_txn_begin(st, &err);
    if (rc == ORCH_OK) {
        rc = st->vt->run_cas(st->h, parent_id, ORCH_RUN_WAITING, NULL, ORCH_RUN_QUEUED, NULL,
                             oc_now_real_ns(), &err);
        if (rc == ORCH_OK)
            rc = oc_event(st, parent_id, "call.ended",
                          json_pack("{s:s,s:s}", "run", child_id, "state",
                                    orch_run_state_name(state)),
                          &err);
        rc = oc_txn_end(st, rc, &err);
    }
    oc_error_clear(&err);
    return rc;
}

orch_status oc_run_cancel_request(struct oc_store *st, const char *run_id,
                                  struct orch_error *err)
{
    uint32_t state = 0;
    orch_status rc = oc_run_state_of(st, run_id, &state, err);
    if (rc != ORCH_OK)
        return rc;
    if (state == ORCH_RUN_SUCCEEDED || state == ORCH_RUN_FAILED ||
        state == ORCH_RUN_CANCELLED)
        return oc_error_set(err, ORCH_E_CONFLICT, "run %s already %s", run_id,
                            orch_run_state_name(state));
    char *name = oc_flag_key(OC_FLAG_CANCEL, run_id);
    rc = oc_flag_write(st, name, "1", err);
    free(name);
    if (rc != ORCH_OK)
        return rc;
    oc_event(st, run_id, "run.cancel_requested", json_object(), NULL);
    /* A parked run has instances to tear down: a worker does it. */
    if (state == ORCH_RUN_WAITING &&
        st->vt->run_cas(st->h, run_id, ORCH_RUN_WAITING, NULL, ORCH_RUN_QUEUED, NULL,
                        oc_now_real_ns(), err) != ORCH_OK)
        oc_error_clear(err); /* it moved on: its owner sees the flag */
    return ORCH_OK;
}

orch_status oc_run_requeue(struct oc_store *st, const char *run_id, const char *by,
                           struct orch_error *err)
{
    uint32_t state = 0;
    orch_status rc = oc_run_state_of(st, run_id, &state, err);
    if (rc != ORCH_OK)
        return rc;
    if (state != ORCH_RUN_FAILED && state != ORCH_RUN_CANCELLED)
        return oc_error_set(err, ORCH_E_CONFLICT,
                            "run %s is %s: only failed or cancelled runs can be re-queued",
                            run_id, orch_run_state_name(state));
    if ((rc = oc_txn_begin(st, err)) != ORCH_OK)
        return rc;
    rc = st->vt->run_cas(st->h, run_id, state, NULL, ORCH_RUN_QUEUED, NULL,
                         oc_now_real_ns(), err);
    if (rc == ORCH_OK)
        rc = oc_event(st, run_id, "run.requeued", json_pack("{s:s}", "by", by ? by : ""), err);
    return oc_txn_end(st, rc, err);
}

orch_status oc_run_discard(struct oc_store *st, const char *run_id, const char *by,
                           const char *reason, struct orch_error *err)
{
    struct oc_run_peek p = {0};
    orch_status rc = oc_run_peek(st, run_id, &p, err);
    if (rc == ORCH_OK && p.state != ORCH_RUN_FAILED)
        rc = oc_error_set(err, ORCH_E_CONFLICT,
                          "run %s is %s: only a failed run (a dead letter) can be discarded",
                          run_id, orch_run_state_name(p.state));
    if (rc == ORCH_OK && (rc = oc_txn_begin(st, err)) == ORCH_OK) {
        /* The compare-and-set on FAILED: a requeue that came first wins,
         * and this is a conflict. The failure's reason stays on the run. */
        rc = st->vt->run_cas(st->h, run_id, ORCH_RUN_FAILED, NULL, ORCH_RUN_CANCELLED, p.error,
                             oc_now_real_ns(), err);
        if (rc == ORCH_OK)
            rc = oc_event(st, run_id, "run.discarded",
                          json_pack("{s:s,s:s?,s:s?}", "by", by ? by : "", "reason", reason,
                                    "error", p.error),
                          err);
        rc = oc_txn_end(st, rc, err);
    }
    oc_run_peek_free(&p);
    return rc;
}
