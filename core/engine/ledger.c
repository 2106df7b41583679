/* The engine's writes to the store. Each is made before the engine acts on
 * the transition it records, so a killed process resumes from the last
 * recorded step. A failed write is fatal to the run (never acted on). */
#include <stdlib.h>
#include <string.h>

#include "../flags.h"
#include "../host.h"
#include "../runctl.h"
#include "internal.h"

static void oc_ledger_fail(struct oc_run *r, const char *what,
                           struct orch_error *err)
{
    struct oc_log_fields f = {.run_id = r->id, .component = "store"};
    oc_log_at(ORCH_LOG_ERROR, &f, "%s: %s", what, oc_error_text(err));
}

void oc_ledger_run_started(struct oc_run *r)
{
    json_t *j = json_pack("{s:s,s:O,s:b}", "workflow", r->wf->name, "inputs", r->inputs,
                          "dry_run", r->dry_run);
    if (r->trace_verdict >= 0)
        json_object_set_new(j, "sampled", json_boolean(r->trace_verdict));
    oc_ledger_event(r, "run.started", j);
}

void oc_ledger_event(struct oc_run *r, const char *type, json_t *data)
{
    struct oc_store *s = r->e->store;
    if (r->lost) {
        json_decref(data);
        return;
    }
    if (!data)
        data = json_object();
    char *json = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    size_t n;
    char *safe = oc_redact(r->red, json, strlen(json), &n);
    free(json);
    struct orch_error err;
    oc_error_init(&err);
    int64_t seq = 0;
    if (s->vt->event_append(s->h, r->id, type, safe, oc_now_real_ns(), &seq,
                            &err) != ORCH_OK)
        oc_ledger_fail(r, type, &err);
    oc_error_clear(&err);
    free(safe);
}

int oc_ledger_attempt(struct oc_run *r, struct oc_srt *s, uint32_t state, uint32_t expect)
{
    struct oc_store *st = r->e->store;
    if (r->lost)
        return -1;
    char *outputs = s->outputs ? json_dumps(s->outputs, JSON_COMPACT) : NULL;
    struct orch_attempt_rec a = {
        .struct_size = sizeof a,
        .state = state,
        .run_id = r->id,
        .step_id = s->name,
        .attempt = s->attempt,
        .exit_code = s->exit_code,
        .owner = r->owner,
        .instance_id = s->inst != SIZE_MAX ? r->insts[s->inst].id : NULL,
        .outputs_json = outputs,
        .error = s->error,
        .status = s->status,
        .started_ns = s->started_ns,
        .finished_ns = state == ORCH_STEP_RUNNING || state == ORCH_STEP_WAITING
                           ? 0
                           : oc_now_real_ns(),
    };
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = st->vt->attempt_cas(st->h, &a, expect, &err);
    if (rc != ORCH_OK)
        oc_ledger_fail(r, "record step attempt", &err);
    oc_error_clear(&err);
    free(outputs);
    return rc == ORCH_OK ? 0 : -1;
}

static void oc_ledger_log_append(struct oc_run *r, struct oc_srt *s, uint32_t stream,
                                 const char *data, size_t len)
{
    struct oc_store *st = r->e->store;
    struct orch_error err;
    oc_error_init(&err);
    if (st->vt->log_append(st->h, r->id, s->name, s->attempt, stream, data, len,
                           oc_now_real_ns(), &err) != ORCH_OK)
        oc_ledger_fail(r, "append step log", &err);
    oc_error_clear(&err);
}

void oc_ledger_flush_logs(struct oc_run *r, struct oc_srt *s)
{
    if (r->lost) {
        s->out[0].len = s->out[1].len = 0;
        return;
    }
    for (uint32_t i = 0; i < 2; i++) {
        struct oc_buf *b = &s->out[i];
        if (!b->len)
            continue;
        /* Past half the attempt's log_limit, bytes go to the tail spool. */
        size_t keep = oc_logcap_admit(&s->logcap, r->e->tmpdir, s->attempt, s->def->log_limit,
                                      i + 1, b->data, b->len);
        if (keep)
            oc_ledger_log_append(r, s, i + 1, b->data, keep);
        b->len = 0;
    }
    s->log_flushed_mono = oc_now_mono_ns();
}

struct oc_ledger_tail {
    struct oc_run *r;
    struct oc_srt *s;
};

static void oc_ledger_tail_row(void *ud, uint32_t stream, const char *data, size_t len)
{
    struct oc_ledger_tail *t = ud;
    oc_ledger_log_append(t->r, t->s, stream, data, len);
}

void oc_ledger_end_logs(struct oc_run *r, struct oc_srt *s)
{
    oc_ledger_flush_logs(r, s);
    struct oc_logcap *cap = s->logcap;
    s->logcap = NULL;
    struct oc_logcap_summary sum;
    struct oc_ledger_tail t = {r, s};
    if (cap && !r->lost && oc_logcap_finish(cap, oc_ledger_tail_row, &t, &sum))
        oc_ledger_event(r, "step.log_truncated",
                        json_pack("{s:s,s:i,s:I,s:I,s:I,s:I,s:I}", "step", s->name,
                                  "attempt", (json_int_t)s->attempt, "log_limit",
                                  (json_int_t)sum.limit, "bytes", (json_int_t)sum.total,
                                  "kept_head", (json_int_t)sum.head, "kept_tail",
                                  (json_int_t)sum.tail, "dropped", (json_int_t)sum.dropped));
    oc_logcap_free(cap);
}

void oc_ledger_instance(struct oc_run *r, struct oc_inst *in, uint32_t state)
{
    struct oc_store *st = r->e->store;
    if (r->lost)
        return;
    json_t *labels = json_pack("{s:s,s:s}", "orch.instance", in->id, "orch.run", r->id);
    char *labels_json = json_dumps(labels, JSON_COMPACT);
    json_decref(labels);
    int64_t now = oc_now_real_ns();
    struct orch_instance_rec rec = {
        .struct_size = sizeof rec,
        .state = state,
        .id = in->id,
        .backend = in->backend->name,
        .run_id = r->id,
        .backend_id = in->backend_id,
        .handle = in->handle,
        .labels_json = labels_json,
        .owner = r->owner,
        .created_ns = in->created_ns ? in->created_ns : now,
        .updated_ns = now,
        .last_used_ns = now,
    };
    if (!in->created_ns)
        in->created_ns = now;
    struct orch_error err;
    oc_error_init(&err);
    if (st->vt->instance_put(st->h, &rec, &err) != ORCH_OK)
        oc_ledger_fail(r, "record instance", &err);
    oc_error_clear(&err);
    free(labels_json);
}

int oc_ledger_run_state(struct oc_run *r, uint32_t expect, uint32_t state,
                        const char *error)
{
    struct oc_store *st = r->e->store;
    if (r->lost)
        return -1;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = st->vt->run_cas(st->h, r->id, expect, r->owner, state, error,
                                     oc_now_real_ns(), &err);
    if (rc != ORCH_OK)
        oc_ledger_fail(r, "record run state", &err);
    oc_error_clear(&err);
    return rc == ORCH_OK ? 0 : -1;
}

void oc_ledger_lease_release(struct oc_run *r)
{
    if (r->lost || !r->owner)
        return;
    oc_run_lease(r->e->store, r->id, r->owner, 0, oc_now_real_ns(), NULL);
}

orch_status oc_ledger_lease_renew(struct oc_run *r, int64_t ttl_ms, int64_t now,
                                  struct orch_error *err)
{
    if (r->lost || !r->owner)
        return ORCH_OK;
    return oc_run_lease(r->e->store, r->id, r->owner, ttl_ms, now, err);
}

void oc_ledger_flag(struct oc_run *r, const char *prefix, const char *value)
{
    if (r->lost)
        return;
    char *key = oc_flag_key(prefix, r->id);
    oc_flag_write(r->e->store, key, value, NULL);
    free(key);
}

void oc_ledger_reaped(struct oc_store *st, struct orch_instance_rec *rec)
{
    struct orch_error err;
    oc_error_init(&err);
    rec->state = ORCH_INST_DESTROYED;
    rec->updated_ns = oc_now_real_ns();
    st->vt->instance_put(st->h, rec, &err);
    oc_error_clear(&err);
    oc_run_event(st, rec->run_id, "instance.reaped",
                 json_pack("{s:s,s:s}", "instance", rec->id, "backend", rec->backend), 0, NULL);
}

orch_status oc_ledger_run_take(struct oc_run *r, uint32_t expect, struct orch_error *err)
{
    struct oc_store *st = r->e->store;
    return st->vt->run_cas(st->h, r->id, expect, NULL, ORCH_RUN_RUNNING, NULL, oc_now_real_ns(),
                           err);
}

orch_status oc_ledger_lease_acquire(struct oc_store *st, const char *name, const char *owner,
                                    int64_t ttl_ms, struct orch_error *err)
{
    return st->vt->lease_acquire(st->h, name, owner, ttl_ms, oc_now_real_ns(), NULL, err);
}

orch_status oc_ledger_lease_drop(struct oc_store *st, const char *name, const char *owner,
                                 struct orch_error *err)
{
    return st->vt->lease_release(st->h, name, owner, err);
}
