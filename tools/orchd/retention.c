/* orchd's retention sweep: the file's retention: applied by core/retention.c
 * (the rule orch gc applies too) on the engine thread, at the first tick
 * and then every worker.retention_every; a sweep stopped by its bounds
 * (runs per tick, half of worker.max_tick) goes on at the next tick
 * rather than waiting for the next period. Daemons sharing a store sweep
 * one at a time: the sweeper holds the orchd.retention lease, and the
 * others skip their turn; the deletes are safe without it too (each is a
 * compare-and-set on the run's state and age in the store). */
#include <stdio.h>
#include <stdlib.h>

#include "host.h"
#include "orchd.h"
#include "retention.h"
#include "runctl.h"

#define ORCHD_RETENTION_LEASE "orchd.retention"
/* Runs one tick's sweep acts on at most. */
#define ORCHD_RETENTION_BATCH 200

static void orchd_retention_count(struct orchd *d, const struct oc_retention_report *r)
{
    pthread_mutex_lock(&d->m.lock);
    d->m.retention_sweeps++;
    d->m.retention_runs += r->runs;
    d->m.retention_blobs += r->blobs + r->artifacts;
    d->m.retention_log_bytes += r->log_bytes;
    d->m.retention_reclaimed += r->reclaimed_bytes;
    d->m.retention_errors += r->errors;
    pthread_mutex_unlock(&d->m.lock);
}

static void orchd_retention_kept(void *ud, const struct oc_retention_item *it)
{
    (void)ud;
    if (it->error)
        oc_log(ORCH_LOG_WARN, "retention", "run %s kept: %s", it->run_id, it->error);
}

void orchd_retention(struct orchd *d, int64_t now, int64_t mono)
{
    const struct oc_retention *r = &d->cfg->retention;
    int64_t every_ns = orchd_cfg_of(d->cfg)->retention_every_ms * 1000000;
    if (!r->set || (!d->retention_more && d->last_retention_mono &&
                    mono - d->last_retention_mono < every_ns))
        return;
    d->last_retention_mono = mono;
    d->retention_more = 0;
    struct orch_error err;
    oc_error_init(&err);
    if (!oc_store_has_retention(d->store)) {
        if (!d->retention_warned)
            oc_log(ORCH_LOG_WARN, "retention", "store %s cannot delete runs (ABI 1.3 "
                   "capability retention): retention: is not applied",
                   d->store->plugin->desc->name);
        d->retention_warned = 1;
        return;
    }
    int64_t ttl = orchd_cfg_of(d->cfg)->lease_ttl_ms;
    orch_status lrc = oc_named_lease(d->store, ORCHD_RETENTION_LEASE, d->owner, ttl, now, NULL,
                                     &err);
    if (lrc == ORCH_E_CONFLICT) {
        oc_error_clear(&err); /* another daemon sweeps now */
        return;
    }
    oc_error_clear(&err); /* no named leases: the compare-and-set deletes suffice */
    struct oc_retention_opts o = {
        .now_ns = now, .max_runs = ORCHD_RETENTION_BATCH,
        .deadline_mono_ns = oc_now_mono_ns() + orchd_cfg_of(d->cfg)->max_tick_ms * 500000,
        .fn = orchd_retention_kept,
    };
    struct oc_retention_report rep;
    if (oc_retention_sweep(d->reg, d->store, r, &o, &rep, &err) != ORCH_OK) {
        oc_log(ORCH_LOG_WARN, "retention", "sweep: %s", oc_error_text(&err));
        orchd_tick_error(d);
        rep.errors++;
    }
    oc_error_clear(&err);
    if (lrc == ORCH_OK)
        oc_named_lease(d->store, ORCHD_RETENTION_LEASE, d->owner, 0, now, NULL, NULL);
    orchd_retention_count(d, &rep);
    d->retention_more = rep.more;
    if (rep.runs || rep.artifact_runs || rep.errors)
        oc_log(ORCH_LOG_INFO, "retention", "removed %llu runs (%llu attempts, %llu events, "
               "%llu log bytes), %llu blobs of %llu bytes, the artifacts of %llu more runs; "
               "%llu bytes reclaimed%s%s", (unsigned long long)rep.runs,
               (unsigned long long)rep.attempts, (unsigned long long)rep.events,
               (unsigned long long)rep.log_bytes,
               (unsigned long long)(rep.blobs + rep.artifacts),
               (unsigned long long)rep.blob_bytes, (unsigned long long)rep.artifact_runs,
               (unsigned long long)rep.reclaimed_bytes, rep.errors ? "; some runs kept" : "",
               rep.more ? "; more at the next tick" : "");
}
