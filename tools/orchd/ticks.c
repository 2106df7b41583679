/* The tick ledger, written by the engine thread: one row per tick in the
 * store (ABI 1.2 tick_append), pruned by age and count when the daemon
 * reconciles; and GET /v1/ticks, which reads it. A store without a ledger
 * (ABI 1.1) keeps the older record: a `tick` event for each tick that did
 * something. */
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "http.h"
#include "runctl.h"
#include "tick_ledger.h"

void orchd_tick_error(struct orchd *d)
{
    d->tick_errors++;
}

void orchd_tick_ledger(struct orchd *d, struct orch_tick_rec *t, int paused)
{
    const struct orchd_cfg *c = orchd_cfg_of(d->cfg);
    uint64_t dispatched = oc_engine_steps_dispatched(d->eng);
    t->dispatched = (uint32_t)(dispatched - d->dispatched_seen);
    d->dispatched_seen = dispatched;
    t->errors = d->tick_errors;
    d->tick_errors = 0;
    t->owner = d->owner;
    struct orch_error err;
    oc_error_init(&err);
    if (oc_store_has_ticks(d->store)) {
        if (c->tick_ledger_keep && oc_store_tick_append(d->store, t, &err) != ORCH_OK) {
            oc_log(ORCH_LOG_WARN, "scheduler", "tick ledger: %s", oc_error_text(&err));
            d->tick_errors++; /* counted in the next tick's row */
        }
    } else if (t->claimed || t->fired || t->requeued || t->reaped) {
        oc_run_event(d->store, NULL, "tick",
                     json_pack("{s:s,s:i,s:i,s:i,s:i,s:b}", "owner", d->owner, "claimed",
                               (int)t->claimed, "fired", (int)t->fired, "requeued",
                               (int)t->requeued, "reaped", (int)t->reaped, "paused", paused),
                     t->started_ns, NULL);
    }
    oc_error_clear(&err);
}

void orchd_tick_prune(struct orchd *d, int64_t now)
{
    if (!oc_store_has_ticks(d->store))
        return;
    const struct orchd_cfg *c = orchd_cfg_of(d->cfg);
    struct orch_error err;
    oc_error_init(&err);
    /* keep 0 writes no ticks; the ones written before are pruned by age. */
    if (oc_store_tick_prune(d->store, now - c->tick_ledger_max_age_ms * 1000000,
                            c->tick_ledger_keep, &err) != ORCH_OK) {
        oc_log(ORCH_LOG_WARN, "scheduler", "prune the tick ledger: %s", oc_error_text(&err));
        d->tick_errors++;
    }
    oc_error_clear(&err);
}

/* GET /v1/ticks[?since=10m|2026-12-03T14:00:00Z][&limit=N]: newest first. */
void orchd_ticks_list(struct orchd_req *rq)
{
    int64_t since = 0;
    const char *s = orchd_query(rq, "since");
    if (s && oc_tick_since_parse(s, orchd_now(rq->d), &since) != 0) {
        orchd_fail(rq, 400, "invalid", "since must be a duration ago (90s, 10m, 2h) or a UTC "
                   "time (2026-12-03T14:00:00Z) not in the future, not '%s'", s);
        return;
    }
    uint32_t limit = 100;
    const char *l = orchd_query(rq, "limit");
    if (l) {
        char *end;
        long v = strtol(l, &end, 10);
        if (!*l || *end || v < 1 || v > OC_TICKS_MAX) {
            orchd_fail(rq, 400, "invalid", "limit must be 1..%d, not '%s'", OC_TICKS_MAX, l);
            return;
        }
        limit = (uint32_t)v;
    }
    if (!oc_store_has_ticks(rq->d->api)) {
        orchd_fail(rq, 501, "unsupported", "store %s keeps no tick ledger (ABI 1.2 capability "
                   "ticks); busy ticks are 'tick' events", rq->d->api->plugin->desc->name);
        return;
    }
    json_t *out;
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(rq->d);
    orch_status rc = oc_tick_list_json(rq->d->api, since, limit, &out, &err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc != ORCH_OK)
        orchd_fail_err(rq, &err);
    else
        orchd_reply(rq, 200, out);
    oc_error_clear(&err);
}
