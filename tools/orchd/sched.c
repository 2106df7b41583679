/* The engine thread's tick: read the control flags, act on cancel requests
 * and approval deadlines, renew leases, claim runs, fire schedules and,
 * now and then, reconcile the ownership ledger. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "cron.h"
#include "flags.h"
#include "host.h"
#include "instances.h"
#include "orchd.h"
#include "runctl.h"
#include "util.h"

int orchd_control_flag(struct orchd_control *c, const char *name, const char *value)
{
    int on = value && !strcmp(value, "1");
    if (!strcmp(name, OC_FLAG_PAUSED))
        c->paused = on;
    else if (!strcmp(name, OC_FLAG_PROOF))
        c->proof = on;
    else if (!strcmp(name, OC_FLAG_DRAINING))
        c->draining = on;
    else
        return 0;
    return 1;
}

int32_t orchd_control_cb(void *ud, const char *name, const char *value)
{
    orchd_control_flag(ud, name, value);
    return 0;
}

struct orchd_tick_flags {
    struct orchd_control c;
    json_t *cancels;    /* run ids */
    json_t *deadlines;  /* run id -> ns */
    json_t *schedules;  /* name -> last slot (s) */
};

static int32_t orchd_flag_cb(void *ud, const char *name, const char *value)
{
    struct orchd_tick_flags *f = ud;
    if (orchd_control_flag(&f->c, name, value))
        return 0;
    const char *which;
    if ((which = oc_flag_name(name, OC_FLAG_CANCEL)))
        json_array_append_new(f->cancels, json_string(which));
    else if ((which = oc_flag_name(name, OC_FLAG_DEADLINE)))
        json_object_set_new(f->deadlines, which, json_integer(strtoll(value, NULL, 10)));
    else if ((which = oc_flag_name(name, OC_FLAG_SCHEDULE)))
        json_object_set_new(f->schedules, which, json_integer(strtoll(value, NULL, 10)));
    return 0;
}

static void orchd_flag_set(struct orchd *d, const char *name, const char *value)
{
    struct orch_error err;
    oc_error_init(&err);
    if (oc_flag_write(d->store, name, value, &err) != ORCH_OK)
        oc_log(ORCH_LOG_WARN, "scheduler", "flag %s: %s", name, oc_error_text(&err));
    oc_error_clear(&err);
}

void orchd_apply_config_control(struct orchd *d)
{
    if (d->cfg->daemon.paused >= 0)
        orchd_flag_set(d, OC_FLAG_PAUSED, d->cfg->daemon.paused ? "1" : NULL);
    if (d->cfg->daemon.proof >= 0)
        orchd_flag_set(d, OC_FLAG_PROOF, d->cfg->daemon.proof ? "1" : NULL);
}

/* Deadlines passed: the parked run goes back to the queue, where its
 * approval's timeout policy applies. */
static int orchd_deadlines(struct orchd *d, json_t *deadlines, int64_t now)
{
    int n = 0;
    const char *run;
    json_t *v;
    json_object_foreach(deadlines, run, v) {
        if (json_integer_value(v) > now)
            continue;
        struct orch_error err;
        oc_error_init(&err);
        if (oc_run_deadline_passed(d->store, run, now, &err) == ORCH_OK)
            n++;
        oc_error_clear(&err);
    }
    return n;
}

/* Fail a run this daemon claimed and cannot load, with its run.finished
 * event, in one transaction. */
static void orchd_fail_unloadable(struct orchd *d, const char *id, const char *why, int64_t now)
{
    struct orch_error err;
    oc_error_init(&err);
    /* Released either way: a run this daemon cannot load is not driven. */
    if (oc_run_fail_owned(d->store, id, d->owner, why, NULL, now, &err) != ORCH_OK)
        oc_run_lease(d->store, id, d->owner, 0, now, NULL);
    oc_error_clear(&err);
}

static int orchd_claim(struct orchd *d, int64_t now)
{
    int n = 0;
    size_t active;
    oc_engine_run_ids(d->eng, &active);
    struct oc_store *st = d->store;
    while (active < d->cfg->daemon.max_runs) {
        struct orch_error err;
        oc_error_init(&err);
        char id[128] = "";
        orch_status rc = oc_run_claim(st, d->owner, d->cfg->daemon.lease_ttl_ms, now, id,
                                      sizeof id, &err);
        if (rc != ORCH_OK) {
            if (rc != ORCH_E_NOT_FOUND)
                oc_log(ORCH_LOG_WARN, "scheduler", "claim: %s", oc_error_text(&err));
            oc_error_clear(&err);
            break;
        }
        n++;
        rc = oc_engine_adopt(d->eng, id, &err);
        if (rc == ORCH_OK) {
            active++;
            continue;
        }
        struct oc_log_fields f = {.run_id = id, .component = "scheduler"};
        if (rc == ORCH_E_FAILED) {
            /* The engine crash guard failed it (and said so). */
        } else if (rc == ORCH_E_CONFIG) {
            /* A run whose snapshot cannot load never will: fail it, visibly. */
            oc_log_at(ORCH_LOG_ERROR, &f, "cannot continue the run: %s", oc_error_text(&err));
            orchd_fail_unloadable(d, id, oc_error_text(&err), now);
        } else {
            /* A store read that failed, or a run that moved on: nothing
             * was decided; hand it back for a later claim. */
            oc_log_at(ORCH_LOG_ERROR, &f, "cannot load the run now, handing it back: %s",
                      oc_error_text(&err));
            oc_error_clear(&err);
            oc_run_hand_back(st, id, d->owner, now, &err);
            oc_error_clear(&err);
            break; /* the store is not answering well: try again next tick */
        }
        oc_error_clear(&err);
    }
    return n;
}

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
static int orchd_schedule_busy(struct orchd *d, const struct oc_schedule *s)
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
static int orchd_schedules(struct orchd *d, json_t *last, int64_t now_ns)
{
    int fired = 0;
    time_t now = (time_t)(now_ns / 1000000000);
    for (size_t i = 0; i < d->cfg->daemon.n_schedules; i++) {
        const struct oc_schedule *s = &d->cfg->daemon.schedules[i];
        char *flag = oc_flag_key(OC_FLAG_SCHEDULE, s->name);
        json_t *lv = json_object_get(last, s->name);
        if (!lv) {
            /* First sight: start counting from now, fire nothing old. */
            char *v = oc_xasprintf("%lld", (long long)now);
            orchd_flag_set(d, flag, v);
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
        orchd_flag_set(d, flag, v);
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
        json_t *inputs = s->inputs ? oc_node_to_json(s->inputs) : json_object();
        char *run_id = NULL;
        struct orch_error err;
        oc_error_init(&err);
        orch_status rc = oc_run_enqueue(d->store, d->cfg, s->workflow, inputs, key, "schedule",
                                        &run_id, &err);
        if (rc == ORCH_OK) {
            f.run_id = run_id;
            oc_log_at(ORCH_LOG_INFO, &f, "schedule %s fired for slot %lld", s->name,
                      (long long)slot);
            fired++;
        } else if (rc != ORCH_E_EXISTS) {
            oc_log_at(ORCH_LOG_ERROR, &f, "schedule %s: %s", s->name, oc_error_text(&err));
        }
        oc_error_clear(&err);
        free(run_id);
        free(key);
        json_decref(inputs);
    }
    return fired;
}

struct orchd_reconcile {
    struct orchd *d;
    json_t *candidates; /* array of instance records as JSON */
};

static int32_t orchd_inst_cb(void *ud, const struct orch_instance_rec *i)
{
    struct orchd_reconcile *rc = ud;
    if (i->state == ORCH_INST_CREATING || i->state == ORCH_INST_RUNNING)
        json_array_append_new(rc->candidates, orchd_inst_json(i));
    return 0;
}

static int32_t orchd_run_state_cb(void *ud, const struct orch_run_rec *r)
{
    *(uint32_t *)ud = r->state;
    return 0;
}

/* Instances in the ledger that belong to no live run: their run ended (a
 * teardown that failed) or vanished. A parked run keeps its instances. */
int orchd_reconcile(struct orchd *d)
{
    struct orchd_reconcile rc = {d, json_array()};
    struct orch_error err;
    oc_error_init(&err);
    d->store->vt->instance_list(d->store->h, NULL, orchd_inst_cb, &rc, &err);
    oc_error_clear(&err);
    int n = 0;
    int64_t now = orchd_now(d);
    size_t i;
    json_t *j;
    json_array_foreach(rc.candidates, i, j) {
        struct orch_instance_rec rec;
        orchd_inst_rec(j, &rec);
        int reap = 0;
        if (rec.run_id) {
            uint32_t state = 0;
            d->store->vt->run_get(d->store->h, rec.run_id, orchd_run_state_cb, &state, &err);
            oc_error_clear(&err);
            reap = state == 0 || state == ORCH_RUN_SUCCEEDED || state == ORCH_RUN_FAILED ||
                   state == ORCH_RUN_CANCELLED;
        } else {
            /* A standalone instance: reaped when idle too long. One that
             * runs a command is not idle, however long the command (other
             * daemons see its last use kept current while it runs). */
            reap = now - rec.last_used_ns > d->cfg->daemon.idle_instance_ms * 1000000 &&
                   !(d->execs && orchd_execs_busy(d->execs, rec.id));
            /* One still being created is not idle: only a create that
             * cannot still be running (its daemon died) is reaped. */
            if (rec.state == ORCH_INST_CREATING)
                reap = reap && now - rec.created_ns > ORCHD_CREATE_GRACE_NS;
        }
        if (!reap)
            continue;
        char *labels = json_dumps(json_object_get(j, "labels"), JSON_COMPACT | JSON_SORT_KEYS);
        rec.labels_json = labels;
        rec.owner = NULL;
        if (oc_engine_reap(d->eng, d->cfg, &rec) == 0)
            n++;
        free(labels);
    }
    json_decref(rc.candidates);
    /* And what the backends still hold of rows that say destroyed: each
     * found one is reaped, logged and recorded when its job reports. */
    if (oc_engine_reap_leftovers(d->eng, d->cfg, NULL, &err) < 0)
        oc_log(ORCH_LOG_WARN, "reaper", "read the instance ledger for leftovers: %s",
               oc_error_text(&err));
    oc_error_clear(&err);
    return n;
}

void orchd_tick(struct orchd *d)
{
    int64_t now = orchd_now(d), tick_start = oc_now_mono_ns();
    struct orchd_tick_flags f = {.cancels = json_array(), .deadlines = json_object(),
                                 .schedules = json_object()};
    struct orch_error err;
    oc_error_init(&err);
    if (d->store->vt->flag_list(d->store->h, orchd_flag_cb, &f, &err) != ORCH_OK) {
        oc_log(ORCH_LOG_WARN, "scheduler", "read control flags: %s", oc_error_text(&err));
        f.c.paused = atomic_load(&d->paused); /* keep the last known state */
        f.c.proof = atomic_load(&d->proof);
        f.c.draining = atomic_load(&d->draining);
    }
    oc_error_clear(&err);
    atomic_store(&d->paused, f.c.paused);
    atomic_store(&d->proof, f.c.proof);
    atomic_store(&d->draining, f.c.draining);
    oc_engine_set_dry_run(d->eng, f.c.proof);
    size_t i;
    json_t *v;
    json_array_foreach(f.cancels, i, v)
        oc_engine_cancel_run(d->eng, json_string_value(v));
    int requeued = orchd_deadlines(d, f.deadlines, now);
    oc_engine_heartbeat(d->eng, d->cfg->daemon.lease_ttl_ms);
    int claimed = 0, fired = 0, reaped = 0;
    int accepting = !f.c.paused && !f.c.draining && !d->stop &&
                    !(d->max_ticks && (int64_t)d->m.ticks >= d->max_ticks);
    if (accepting) {
        fired = orchd_schedules(d, f.schedules, now);
        claimed = orchd_claim(d, now);
    }
    int64_t mono = oc_now_mono_ns();
    if (!d->last_reconcile_mono ||
        mono - d->last_reconcile_mono >= d->cfg->daemon.reconcile_ms * 1000000) {
        d->last_reconcile_mono = mono;
        reaped = orchd_reconcile(d);
    }
    pthread_mutex_lock(&d->m.lock);
    d->m.ticks++;
    d->m.claims += (uint64_t)claimed;
    pthread_mutex_unlock(&d->m.lock);
    if (claimed || fired || requeued || reaped) {
        /* The tick ledger: what each tick that did something did. */
        oc_run_event(d->store, NULL, "tick",
                     json_pack("{s:s,s:i,s:i,s:i,s:i,s:b}", "owner", d->owner, "claimed",
                               claimed, "fired", fired, "requeued", requeued, "reaped", reaped,
                               "paused", f.c.paused),
                     now, NULL);
    }
    atomic_store(&d->last_tick_ns, now);
    orchd_tick_record(d, oc_now_mono_ns() - tick_start);
    json_decref(f.cancels);
    json_decref(f.deadlines);
    json_decref(f.schedules);
}

void orchd_on_progress(void *ud, const struct oc_progress *p)
{
    struct orchd *d = ud;
    struct oc_log_fields f = {.run_id = p->run_id, .step_id = p->step_id,
                              .attempt = p->attempt, .component = "engine"};
    orchd_metrics_progress(d, p);
    switch (p->type) {
    case OC_EV_RUN_STARTED:
        oc_log_at(ORCH_LOG_INFO, &f, "run %s", p->message ? p->message : "started");
        break;
    case OC_EV_STEP_STARTED:
        oc_log_at(ORCH_LOG_INFO, &f, "step started");
        break;
    case OC_EV_STEP_RETRY:
        oc_log_at(ORCH_LOG_WARN, &f, "attempt failed, retrying: %s",
                  p->message ? p->message : "");
        break;
    case OC_EV_STEP_FINISHED:
        oc_log_at(p->state == ORCH_STEP_SUCCEEDED || p->state == ORCH_STEP_SKIPPED
                      ? ORCH_LOG_INFO
                      : ORCH_LOG_WARN,
                  &f, "step %s%s%s", orch_step_state_name(p->state), p->message ? ": " : "",
                  p->message ? p->message : "");
        break;
    case OC_EV_RUN_FINISHED:
        oc_log_at(p->state == ORCH_RUN_SUCCEEDED || p->state == ORCH_RUN_WAITING
                      ? ORCH_LOG_INFO
                      : ORCH_LOG_WARN,
                  &f, "run %s%s%s", orch_run_state_name(p->state), p->message ? ": " : "",
                  p->message ? p->message : "");
        if (p->state != ORCH_RUN_WAITING && d->notifier)
            orchd_notify_run(d->notifier, p->run_id, p->workflow, p->state, p->message);
        break;
    default:
        break;
    }
}
