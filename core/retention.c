#include "retention.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flags.h"
#include "host.h"
#include "run_artifacts.h"
#include "runctl.h"
#include "util.h"

/* Runs read from the store per page: enough to keep the statements few,
 * few enough that a page's copies stay small. */
#define OC_RET_PAGE 100

int64_t oc_retention_limit_ms(const struct oc_retention *r, uint32_t state)
{
    if (!r || !r->set)
        return 0;
    switch (state) {
    case ORCH_RUN_SUCCEEDED: return r->succeeded_ms;
    case ORCH_RUN_FAILED: return r->failed_ms;
    case ORCH_RUN_CANCELLED: return r->cancelled_ms;
    default: return 0; /* queued, running, waiting: never */
    }
}

/* now - ms in ns, 0 when ms is 0 or the subtraction would pass the
 * clock's start (nothing is that old). */
static int64_t oc_ret_before(int64_t ms, int64_t now_ns)
{
    if (ms <= 0 || ms > now_ns / 1000000)
        return 0;
    return now_ns - ms * 1000000;
}

int64_t oc_retention_cutoff_ns(const struct oc_retention *r, uint32_t state, int64_t now_ns)
{
    return oc_ret_before(oc_retention_limit_ms(r, state), now_ns);
}

int64_t oc_retention_artifacts_cutoff_ns(const struct oc_retention *r, int64_t now_ns)
{
    return r && r->set ? oc_ret_before(r->artifacts_ms, now_ns) : 0;
}

enum oc_retention_verdict oc_retention_judge(const struct oc_retention *r, uint32_t state,
                                             int64_t updated_ns, int64_t now_ns)
{
    int64_t cut = oc_retention_cutoff_ns(r, state, now_ns);
    if (cut && updated_ns < cut)
        return OC_RET_DELETE;
    if (state != ORCH_RUN_SUCCEEDED && state != ORCH_RUN_FAILED && state != ORCH_RUN_CANCELLED)
        return OC_RET_KEEP;
    int64_t art = oc_retention_artifacts_cutoff_ns(r, now_ns);
    return art && updated_ns < art ? OC_RET_EXPIRE_ARTIFACTS : OC_RET_KEEP;
}

const char *oc_retention_verdict_name(enum oc_retention_verdict v)
{
    switch (v) {
    case OC_RET_DELETE: return "delete";
    case OC_RET_EXPIRE_ARTIFACTS: return "expire-artifacts";
    default: return "keep";
    }
}

/* ---- the sweep ---- */

struct oc_ret {
    struct oc_registry *reg;
    struct oc_store *st;
    const struct oc_retention *r;
    const struct oc_retention_opts *o;
    struct oc_retention_report *rep;
    uint64_t acted;
};

/* The records are borrowed: a page is copied before anything is written. */
static int32_t oc_ret_page_cb(void *ud, const struct orch_run_rec *r)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:i,s:I}", "id", r->id, "workflow",
                                        r->workflow ? r->workflow : "", "state", (int)r->state,
                                        "updated", (json_int_t)r->updated_ns));
    return 0;
}

static int oc_ret_budget_left(struct oc_ret *w)
{
    if ((w->o->max_runs && w->acted >= w->o->max_runs) ||
        (w->o->deadline_mono_ns && oc_now_mono_ns() >= w->o->deadline_mono_ns)) {
        w->rep->more = 1;
        return 0;
    }
    return 1;
}

static void oc_ret_tell(struct oc_ret *w, const json_t *run, enum oc_retention_verdict v,
                        uint64_t blobs, uint64_t bytes, const struct orch_run_purge *p,
                        const char *error)
{
    if (!w->o->fn)
        return;
    struct oc_retention_item it = {
        .run_id = json_string_value(json_object_get(run, "id")),
        .workflow = json_string_value(json_object_get(run, "workflow")),
        .state = (uint32_t)json_integer_value(json_object_get(run, "state")),
        .ended_ns = (int64_t)json_integer_value(json_object_get(run, "updated")),
        .verdict = v, .blobs = blobs, .blob_bytes = bytes, .purge = p, .error = error,
    };
    w->o->fn(w->o->ud, &it);
}

/* The per-run control flags die with the run; a failure leaves a flag
 * that names no run, which nothing reads. */
static void oc_ret_flags_drop(struct oc_store *st, const char *id)
{
    static const char *const prefixes[] = {OC_FLAG_CANCEL, OC_FLAG_DEADLINE};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        char *k = oc_flag_key(prefixes[i], id);
        oc_flag_write(st, k, NULL, NULL);
        free(k);
    }
}

/* One run to delete: its blobs first (a run whose blobs cannot go now
 * keeps its rows, so the next sweep finds it again), then its rows in one
 * store transaction, guarded by its state and age. */
static void oc_ret_delete(struct oc_ret *w, const json_t *run, int64_t cutoff)
{
    const char *id = json_string_value(json_object_get(run, "id"));
    struct orch_error err;
    oc_error_init(&err);
    uint64_t blobs = 0, bytes = 0;
    orch_status rc = oc_run_artifacts_remove(w->reg, w->st, id, w->o->dry_run, &blobs, &bytes,
                                             &err);
    struct orch_run_purge p = {.struct_size = sizeof p};
    if (rc == ORCH_OK && !w->o->dry_run) {
        rc = oc_store_run_delete(w->st, id, cutoff, &p, &err);
        if (rc == ORCH_E_NOT_FOUND || rc == ORCH_E_CONFLICT) {
            /* Gone already (another sweeper), or requeued since it was
             * listed: neither is this sweep's to count. */
            oc_error_clear(&err);
            return;
        }
        if (rc == ORCH_OK)
            oc_ret_flags_drop(w->st, id);
    }
    w->acted++;
    struct oc_retention_report *rep = w->rep;
    rep->blobs += blobs;
    rep->blob_bytes += bytes;
    if (rc != ORCH_OK) {
        rep->errors++;
        oc_ret_tell(w, run, OC_RET_DELETE, blobs, bytes, NULL, oc_error_text(&err));
        oc_error_clear(&err);
        return;
    }
    rep->runs++;
    rep->attempts += p.attempts;
    rep->events += p.events;
    rep->log_chunks += p.log_chunks;
    rep->log_bytes += p.log_bytes;
    rep->instances += p.instances;
    oc_ret_tell(w, run, OC_RET_DELETE, blobs, bytes, w->o->dry_run ? NULL : &p, NULL);
}

/* Deleting: each ended state with a limit, oldest first, paged on
 * (updated_ns, id) so a run kept by an error is stepped over. */
static orch_status oc_ret_delete_pass(struct oc_ret *w, uint32_t state, struct orch_error *err)
{
    int64_t cutoff = oc_retention_cutoff_ns(w->r, state, w->o->now_ns);
    if (!cutoff)
        return ORCH_OK;
    int64_t after_ns = 0;
    char *after_id = NULL;
    orch_status rc = ORCH_OK;
    for (;;) {
        json_t *page = json_array();
        rc = oc_store_run_list_ended(w->st, state, after_ns, after_id, cutoff, OC_RET_PAGE,
                                     oc_ret_page_cb, page, err);
        size_t n = json_array_size(page), i;
        json_t *run;
        json_array_foreach(rc == ORCH_OK ? page : NULL, i, run) {
            if (!oc_ret_budget_left(w))
                break;
            oc_ret_delete(w, run, cutoff);
            after_ns = (int64_t)json_integer_value(json_object_get(run, "updated"));
            free(after_id);
            after_id = oc_xstrdup(json_string_value(json_object_get(run, "id")));
        }
        json_decref(page);
        if (rc != ORCH_OK || n < OC_RET_PAGE || w->rep->more)
            break;
    }
    free(after_id);
    return rc;
}

struct oc_ret_cursor {
    int64_t ns;
    char *id;
};

static int32_t oc_ret_cursor_cb(void *ud, const char *name, const char *value)
{
    struct oc_ret_cursor *c = ud;
    if (strcmp(name, OC_FLAG_RETENTION_ARTIFACTS) || !value)
        return 0;
    char *end;
    long long ns = strtoll(value, &end, 10);
    if (end != value && *end == ' ' && end[1]) {
        c->ns = ns;
        c->id = oc_xstrdup(end + 1);
    }
    return 0;
}

/* Expiring artifacts: ended runs past artifacts: that stay. The cursor
 * flag remembers where the last sweep stopped (an ended run changes only
 * by a requeue, which makes it newer than any cursor), so a sweep reads
 * only the runs that aged since; a run whose blobs could not go stops the
 * pass there, to be tried again. */
static orch_status oc_ret_artifacts_pass(struct oc_ret *w, struct orch_error *err)
{
    int64_t cutoff = oc_retention_artifacts_cutoff_ns(w->r, w->o->now_ns);
    if (!cutoff)
        return ORCH_OK;
    struct oc_ret_cursor cur = {0};
    orch_status rc = w->st->vt->flag_list(w->st->h, oc_ret_cursor_cb, &cur, err);
    int stuck = 0, moved = 0;
    while (rc == ORCH_OK && !stuck) {
        json_t *page = json_array();
        rc = oc_store_run_list_ended(w->st, 0, cur.ns, cur.id, cutoff, OC_RET_PAGE,
                                     oc_ret_page_cb, page, err);
        size_t n = json_array_size(page), i;
        json_t *run;
        json_array_foreach(rc == ORCH_OK ? page : NULL, i, run) {
            if (!oc_ret_budget_left(w))
                break;
            const char *id = json_string_value(json_object_get(run, "id"));
            uint64_t arts = 0, bytes = 0;
            struct orch_error e;
            oc_error_init(&e);
            orch_status one = oc_run_artifacts_expire(w->reg, w->st, id, w->o->dry_run,
                                                      w->o->now_ns, &arts, &bytes, &e);
            if (one != ORCH_OK) {
                w->rep->errors++;
                oc_ret_tell(w, run, OC_RET_EXPIRE_ARTIFACTS, 0, 0, NULL, oc_error_text(&e));
                oc_error_clear(&e);
                stuck = 1;
                break;
            }
            if (arts) {
                w->acted++;
                w->rep->artifact_runs++;
                w->rep->artifacts += arts;
                w->rep->blob_bytes += bytes;
                oc_ret_tell(w, run, OC_RET_EXPIRE_ARTIFACTS, arts, bytes, NULL, NULL);
            }
            cur.ns = (int64_t)json_integer_value(json_object_get(run, "updated"));
            free(cur.id);
            cur.id = oc_xstrdup(id);
            moved = 1;
        }
        json_decref(page);
        if (n < OC_RET_PAGE || w->rep->more)
            break;
    }
    if (rc == ORCH_OK && moved && !w->o->dry_run) {
        char *v = oc_xasprintf("%" PRId64 " %s", cur.ns, cur.id);
        rc = oc_flag_write(w->st, OC_FLAG_RETENTION_ARTIFACTS, v, err);
        free(v);
    }
    free(cur.id);
    return rc;
}

orch_status oc_retention_sweep(struct oc_registry *reg, struct oc_store *st,
                               const struct oc_retention *r, const struct oc_retention_opts *o,
                               struct oc_retention_report *rep, struct orch_error *err)
{
    memset(rep, 0, sizeof *rep);
    if (!r || !r->set ||
        !(r->succeeded_ms || r->failed_ms || r->cancelled_ms || r->artifacts_ms))
        return ORCH_OK;
    /* A store without retention answers the first listing with its
     * UNSUPPORTED (core/store.c says which store and why). */
    struct oc_ret w = {reg, st, r, o, rep, 0};
    static const uint32_t states[] = {ORCH_RUN_SUCCEEDED, ORCH_RUN_FAILED, ORCH_RUN_CANCELLED};
    orch_status rc = ORCH_OK;
    for (size_t i = 0; i < sizeof states / sizeof states[0] && rc == ORCH_OK && !rep->more; i++)
        rc = oc_ret_delete_pass(&w, states[i], err);
    if (rc == ORCH_OK && !rep->more)
        rc = oc_ret_artifacts_pass(&w, err);
    if (rep->runs && !o->dry_run) {
        struct orch_error e;
        oc_error_init(&e);
        if (oc_store_reclaim(st, &rep->reclaimed_bytes, &e) != ORCH_OK)
            rep->errors++; /* the rows are gone; the space comes back next time */
        oc_error_clear(&e);
    }
    return rc;
}

json_t *oc_retention_report_json(const struct oc_retention_report *rep)
{
    return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:b}",
                     "runs", (json_int_t)rep->runs, "attempts", (json_int_t)rep->attempts,
                     "events", (json_int_t)rep->events, "log_chunks",
                     (json_int_t)rep->log_chunks, "log_bytes", (json_int_t)rep->log_bytes,
                     "instances", (json_int_t)rep->instances, "blobs", (json_int_t)rep->blobs,
                     "blob_bytes", (json_int_t)rep->blob_bytes, "artifact_runs",
                     (json_int_t)rep->artifact_runs, "artifacts", (json_int_t)rep->artifacts,
                     "reclaimed_bytes", (json_int_t)rep->reclaimed_bytes, "errors",
                     (json_int_t)rep->errors, "more", rep->more);
}
