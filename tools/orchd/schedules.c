/* Cron schedules: which slot of each schedule is due, the overlap rule
 * (skip a slot while the previous run goes on), and enqueueing the run
 * with an idempotency key naming the slot, so several daemons fire it
 * once. Called from the tick (sched.c) with the last slots read from the
 * flags. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "flags.h"
#include "host.h"
#include "inputs.h"
#include "orchd.h"
#include "runctl.h"
#include "util.h"

struct orchd_active_find {
    const char *key_prefix;
    int active;
};

static int32_t orchd_sched_run_cb(void *ud, const struct orch_run_rec *r)
{
    struct orchd_active_find *f = ud;
    if (r->idempotency_key && !strncmp(r->idempotency_key, f->key_prefix, strlen(f->key_prefix)) &&
        r->state != ORCH_RUN_SUCCEEDED && r->state != ORCH_RUN_FAILED &&
        r->state != ORCH_RUN_CANCELLED)
        f->active = 1;
    return 0;
}

/* Is a run of this schedule still going (queued, running or waiting)? */
static int orchd_schedule_busy(struct orchd *d, const struct orchd_schedule *s)
{
    char *prefix = oc_xasprintf("schedule:%s:", s->name);
    struct orchd_active_find f = {prefix, 0};
    static const uint32_t states[] = {ORCH_RUN_QUEUED, ORCH_RUN_RUNNING, ORCH_RUN_WAITING};
    for (size_t i = 0; i < 3 && !f.active; i++) {
        struct orch_run_filter flt = {.struct_size = sizeof flt, .state = states[i],
                                      .workflow = s->workflow};
        struct orch_error err;
        oc_error_init(&err);
        d->store->vt->run_list(d->store->h, &flt, orchd_sched_run_cb, &f, &err);
        oc_error_clear(&err);
    }
    free(prefix);
    return f.active;
}

/* Each schedule remembers its last slot in the store; a slot is fired
 * once by whichever daemon gets there first (the idempotency key names
 * the slot). Missed slots are not replayed: the latest one fires. */
/* A schedule's inputs as written: a scalar is its text (read by the
 * input's type, as --input is: `ver: 1.10` stays "1.10" for a string),
 * a mapping or a list a JSON value (for a json input). */
static json_t *orchd_schedule_inputs(const struct oc_node *in)
{
    json_t *o = json_object();
    for (size_t i = 0; in && in->kind == OC_NODE_MAP && i < in->len; i++) {
        const struct oc_node *v = in->items[i];
        json_object_set_new(o, in->keys[i]->str, v->kind == OC_NODE_SCALAR
                                                     ? json_string(v->str)
                                                     : oc_node_to_json(v));
    }
    return o;
}

int orchd_fire_schedules(struct orchd *d, json_t *last, int64_t now_ns)
{
    int fired = 0;
    time_t now = (time_t)(now_ns / 1000000000);
    for (size_t i = 0; i < orchd_cfg_of(d->cfg)->n_schedules; i++) {
        const struct orchd_schedule *s = &orchd_cfg_of(d->cfg)->schedules[i];
        char *flag = oc_flag_key(OC_FLAG_SCHEDULE, s->name);
        json_t *lv = json_object_get(last, s->name);
        if (!lv) {
            /* First sight: start counting from now, fire nothing old. */
            char *v = oc_xasprintf("%lld", (long long)now);
            orchd_flag_write(d, flag, v);
            free(v);
            free(flag);
            continue;
        }
        time_t slot = oc_cron_next(s->spec, (time_t)json_integer_value(lv), s->timezone);
        if (!slot || slot > now) {
            free(flag);
            continue;
        }
        time_t next;
        while ((next = oc_cron_next(s->spec, slot, s->timezone)) && next <= now)
            slot = next;
        char *v = oc_xasprintf("%lld", (long long)slot);
        orchd_flag_write(d, flag, v);
        free(v);
        free(flag);
        struct oc_log_fields f = {.component = "scheduler"};
        if (!s->overlap_allow && orchd_schedule_busy(d, s)) {
            oc_log_at(ORCH_LOG_INFO, &f, "schedule %s: slot %lld skipped, the previous run is "
                      "still going (overlap: skip)", s->name, (long long)slot);
            oc_run_event(d->store, NULL, "schedule.skipped",
                         json_pack("{s:s,s:I}", "schedule", s->name, "slot", (json_int_t)slot),
                         now_ns, NULL);
            continue;
        }
        char *key = oc_xasprintf("schedule:%s:%lld", s->name, (long long)slot);
        json_t *inputs = orchd_schedule_inputs(s->inputs);
        char *run_id = NULL;
        struct orch_error err;
        oc_error_init(&err);
        const struct oc_workflow *wf = oc_config_workflow(d->cfg, s->workflow);
        json_t *typed = NULL;
        orch_status rc = wf ? oc_inputs_from_text(wf, inputs, &typed, &err) : ORCH_OK;
        if (rc == ORCH_OK)
            rc = oc_run_enqueue(d->store, d->cfg, s->workflow, typed ? typed : inputs, key,
                                "schedule", NULL, &run_id, &err);
        json_decref(typed);
        if (rc == ORCH_OK) {
            f.run_id = run_id;
            oc_log_at(ORCH_LOG_INFO, &f, "schedule %s fired for slot %lld", s->name,
                      (long long)slot);
            fired++;
        } else if (rc != ORCH_E_EXISTS) {
            oc_log_at(ORCH_LOG_ERROR, &f, "schedule %s: %s", s->name, oc_error_text(&err));
            orchd_tick_error(d);
        }
        oc_error_clear(&err);
        free(run_id);
        free(key);
        json_decref(inputs);
    }
    return fired;
}
