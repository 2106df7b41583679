/* The engine thread's tick: read the control flags, act on cancel requests
 * and approval deadlines, renew leases, claim runs, fire schedules
 * (schedules.c) and, now and then, reconcile the ownership ledger
 * (reconcile.c); then record what the tick did. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "host.h"
#include "orchd.h"
#include "runctl.h"
#include "util.h"

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
        orch_status rc = oc_run_deadline_passed(d->store, run, now, &err);
        if (rc == ORCH_OK)
            n++;
        else if (rc != ORCH_E_CONFLICT && rc != ORCH_E_NOT_FOUND)
            orchd_tick_error(d); /* not a run that moved on: the store failed */
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

/* The flags read again just before claiming: the tick's first read can be
 * a whole tick old by now (cancels, deadlines, leases, schedules came in
 * between), and a pause acknowledged in that time must hold for the runs
 * queued after it. A failed read keeps the tick's answer. */
static int orchd_still_accepting(struct orchd *d)
{
    struct orchd_control c = {0};
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = d->store->vt->flag_list(d->store->h, orchd_control_cb, &c, &err);
    oc_error_clear(&err);
    if (rc != ORCH_OK)
        return 1;
    atomic_store(&d->paused, c.paused);
    atomic_store(&d->draining, c.draining);
    return !c.paused && !c.draining;
}

/* Claims until the daemon drives worker.max_runs, worker.max_claims_per_tick
 * were taken, or the tick has run for worker.max_tick (the rest wait for
 * the next tick, so renewals and cancels are never starved by a long
 * queue). One claim is always tried: a tick slowed by something else still
 * makes progress. */
static int orchd_claim(struct orchd *d, int64_t now, int64_t tick_deadline_mono)
{
    int n = 0;
    size_t active;
    oc_engine_run_ids(d->eng, &active);
    struct oc_store *st = d->store;
    const struct orchd_cfg *dc = orchd_cfg_of(d->cfg);
    while (active < dc->max_runs && (uint32_t)n < dc->max_claims_per_tick &&
           (!n || oc_now_mono_ns() < tick_deadline_mono)) {
        struct orch_error err;
        oc_error_init(&err);
        char id[128] = "";
        orch_status rc = oc_run_claim(st, d->owner, orchd_cfg_of(d->cfg)->lease_ttl_ms, now, id,
                                      sizeof id, &err);
        if (rc != ORCH_OK) {
            if (rc != ORCH_E_NOT_FOUND) {
                oc_log(ORCH_LOG_WARN, "scheduler", "claim: %s", oc_error_text(&err));
                orchd_tick_error(d);
            }
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
            orchd_tick_error(d);
            orchd_fail_unloadable(d, id, oc_error_text(&err), now);
        } else {
            /* A store read that failed, or a run that moved on: nothing
             * was decided; hand it back for a later claim. */
            oc_log_at(ORCH_LOG_ERROR, &f, "cannot load the run now, handing it back: %s",
                      oc_error_text(&err));
            orchd_tick_error(d);
            oc_error_clear(&err);
            oc_run_hand_back(st, id, d->owner, now, &err);
            oc_error_clear(&err);
            break; /* the store is not answering well: try again next tick */
        }
        oc_error_clear(&err);
    }
    return n;
}

/* Singleton mode: hold (take, renew) the leader lease for a lease_ttl,
 * or stand by. A leader that finds another holder has lost it (it did not
 * renew in time): it hands its runs back at once, so two daemons never
 * drive together. 1 when this daemon drives. */
static int orchd_lead(struct orchd *d, int64_t now)
{
    if (!d->singleton)
        return 1;
    /* A leader renews once a quarter of the lease has passed, as run
     * leases are; a standby tries every tick, to take over promptly. */
    int64_t ttl_ms = orchd_cfg_of(d->cfg)->lease_ttl_ms, mono = oc_now_mono_ns();
    if (atomic_load(&d->role) == ORCHD_LEADER && mono - d->leader_renewed_mono < ttl_ms * 250000)
        return 1;
    struct orch_error err;
    oc_error_init(&err);
    char *holder = NULL;
    orch_status rc = oc_named_lease(d->store, ORCHD_LEADER_LEASE, d->owner, ttl_ms, now, &holder,
                                    &err);
    if (rc == ORCH_OK)
        d->leader_renewed_mono = mono;
    if (rc != ORCH_OK && rc != ORCH_E_CONFLICT) {
        /* The store did not answer: the runs driven go on under their own
         * leases; nothing new is claimed until the lease is renewed. */
        oc_log(ORCH_LOG_WARN, "scheduler", "leader lease: %s", oc_error_text(&err));
        orchd_tick_error(d);
        oc_error_clear(&err);
        free(holder);
        return 0;
    }
    int was = atomic_load(&d->role);
    int now_role = rc == ORCH_OK ? ORCHD_LEADER : ORCHD_STANDBY;
    if (now_role != was || !d->role_said) {
        d->role_said = 1;
        struct oc_log_fields f = {.component = "scheduler"};
        if (now_role == ORCHD_LEADER)
            oc_log_at(ORCH_LOG_INFO, &f, "leader: this daemon drives the runs of the store "
                      "(lease %s)", ORCHD_LEADER_LEASE);
        else
            oc_log_at(was == ORCHD_LEADER ? ORCH_LOG_WARN : ORCH_LOG_INFO, &f,
                      "standby: %s holds the leader lease; this daemon serves the API and "
                      "takes over when that lease expires%s", holder ? holder : "another daemon",
                      was == ORCHD_LEADER ? " (the lease was lost: runs handed back)" : "");
        if (was == ORCHD_LEADER)
            oc_engine_abandon(d->eng);
        atomic_store(&d->role, now_role);
    }
    oc_error_clear(&err);
    free(holder);
    return now_role == ORCHD_LEADER;
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
        orchd_tick_error(d);
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
    oc_engine_heartbeat(d->eng, orchd_cfg_of(d->cfg)->lease_ttl_ms);
    /* Deadlines, schedules, claims and reconciling are the driver's: in
     * singleton mode the leader's alone. */
    int leading = orchd_lead(d, now);
    int requeued = leading ? orchd_deadlines(d, f.deadlines, now) : 0;
    int claimed = 0, fired = 0, reaped = 0;
    int accepting = leading && !f.c.paused && !f.c.draining && !d->stop &&
                    !(d->max_ticks && (int64_t)d->m.ticks >= d->max_ticks);
    if (accepting) {
        fired = orchd_fire_schedules(d, f.schedules, now);
        if (orchd_still_accepting(d))
            claimed = orchd_claim(d, now,
                                  tick_start + orchd_cfg_of(d->cfg)->max_tick_ms * 1000000);
    }
    int64_t mono = oc_now_mono_ns();
    if (leading && (!d->last_reconcile_mono ||
                    mono - d->last_reconcile_mono >= orchd_cfg_of(d->cfg)->reconcile_ms * 1000000)) {
        d->last_reconcile_mono = mono;
        reaped = orchd_reconcile(d);
        orchd_tick_prune(d, now);
    }
    if (leading)
        orchd_retention(d, now, mono);
    pthread_mutex_lock(&d->m.lock);
    d->m.ticks++;
    d->m.claims += (uint64_t)claimed;
    pthread_mutex_unlock(&d->m.lock);
    atomic_store(&d->last_tick_ns, now);
    int64_t took_ns = oc_now_mono_ns() - tick_start;
    if (took_ns > orchd_cfg_of(d->cfg)->max_tick_ms * 1000000) {
        pthread_mutex_lock(&d->m.lock);
        d->m.tick_overruns++;
        pthread_mutex_unlock(&d->m.lock);
        oc_log(ORCH_LOG_WARN, "scheduler", "tick took %lldms, over worker.max_tick (%lldms): "
               "claimed %d, fired %d, requeued %d, reaped %d", (long long)(took_ns / 1000000),
               (long long)orchd_cfg_of(d->cfg)->max_tick_ms, claimed, fired, requeued, reaped);
    }
    orchd_tick_record(d, took_ns);
    oc_log(ORCH_LOG_DEBUG, "scheduler", "tick: %lldus, claimed %d, fired %d, requeued %d, "
           "reaped %d%s", (long long)(took_ns / 1000), claimed, fired, requeued, reaped,
           leading ? "" : " (standby)");
    struct orch_tick_rec t = {.struct_size = sizeof t, .started_ns = now, .duration_ns = took_ns,
                              .claimed = (uint32_t)claimed, .fired = (uint32_t)fired,
                              .requeued = (uint32_t)requeued, .reaped = (uint32_t)reaped};
    orchd_tick_ledger(d, &t, f.c.paused);
    json_decref(f.cancels);
    json_decref(f.deadlines);
    json_decref(f.schedules);
}
