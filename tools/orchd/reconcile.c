/* The ownership ledger's reconciliation, now and then from the tick:
 * instances whose run ended or vanished, standalone instances idle too
 * long, creates whose daemon died; then what the backends still hold of
 * rows that say destroyed. Each is reaped through the engine. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "instances.h"
#include "orchd.h"

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
    if (d->store->vt->instance_list(d->store->h, NULL, orchd_inst_cb, &rc, &err) != ORCH_OK) {
        /* Nothing is reaped on a partial list: the next pass reads it whole. */
        oc_log(ORCH_LOG_WARN, "reaper", "read the instance ledger: %s", oc_error_text(&err));
        orchd_tick_error(d);
        json_array_clear(rc.candidates);
    }
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
            reap = now - rec.last_used_ns > orchd_cfg_of(d->cfg)->idle_instance_ms * 1000000 &&
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
    if (oc_engine_reap_leftovers(d->eng, d->cfg, NULL, &err) < 0) {
        oc_log(ORCH_LOG_WARN, "reaper", "read the instance ledger for leftovers: %s",
               oc_error_text(&err));
        orchd_tick_error(d);
    }
    oc_error_clear(&err);
    return n;
}
