/* Shared artifact namespaces (artifact_ns.h): names, the key rule, the
 * version ledger in the state store and the allocation under a lease. */
#define _GNU_SOURCE
#include "artifact_ns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_json.h"
#include "host.h"
#include "run_artifacts.h"
#include "util.h"

static char *oc_artns_lease(const char *ns, const char *name)
{
    return oc_xasprintf("artifact-ns/%s/%s", ns, name);
}

/* ---- the ledger: a namespace's stream folded into its versions ---- */

struct oc_artns_fold {
    const char *name;            /* NULL: every name */
    json_t *by_key;              /* "NAME\nVERSION" -> entry */
};

static json_t *oc_artns_entry(struct oc_artns_fold *f, const char *name, uint64_t version,
                              int create)
{
    char *k = oc_xasprintf("%s\n%llu", name, (unsigned long long)version);
    json_t *e = json_object_get(f->by_key, k);
    if (!e && create) {
        e = json_pack("{s:s,s:I,s:s}", "name", name, "version", (json_int_t)version, "state",
                      "writing");
        json_object_set_new(f->by_key, k, e);
    }
    free(k);
    return e;
}

static int32_t oc_artns_fold_ev(void *ud, const struct orch_event_rec *ev)
{
    struct oc_artns_fold *f = ud;
    if (strncmp(ev->type, "artifact.ns.", 12))
        return 0;
    json_t *d = json_loads(ev->data_json ? ev->data_json : "{}", 0, NULL);
    const char *name = json_string_value(json_object_get(d, "name"));
    if (!name || (f->name && strcmp(name, f->name))) {
        json_decref(d);
        return 0;
    }
    json_t *vs = json_object_get(d, "versions");
    if (!strcmp(ev->type, OC_ARTNS_EV_PRUNED) && json_is_array(vs)) {
        size_t i;
        json_t *v;
        json_array_foreach(vs, i, v) {
            json_t *e = oc_artns_entry(f, name, (uint64_t)json_integer_value(v), 0);
            if (e) {
                json_object_set_new(e, "state", json_string("pruned"));
                json_object_set_new(e, "pruned", oc_api_time(ev->ts_ns));
            }
        }
        json_decref(d);
        return 0;
    }
    uint64_t version = (uint64_t)json_integer_value(json_object_get(d, "version"));
    if (!version) {
        json_decref(d);
        return 0;
    }
    json_t *e = oc_artns_entry(f, name, version, !strcmp(ev->type, OC_ARTNS_EV_ALLOCATED));
    if (!e) {
        json_decref(d);
        return 0;
    }
    if (!strcmp(ev->type, OC_ARTNS_EV_ALLOCATED)) {
        json_object_set(e, "run", json_object_get(d, "run"));
        json_object_set(e, "step", json_object_get(d, "step"));
        json_object_set_new(e, "allocated", oc_api_time(ev->ts_ns));
        if (json_object_get(d, "conflict"))
            json_object_set(e, "conflict", json_object_get(d, "conflict"));
    } else if (!strcmp(ev->type, OC_ARTNS_EV_STORED)) {
        json_object_set_new(e, "state", json_string("stored"));
        json_object_set(e, "size", json_object_get(d, "size"));
        json_object_set(e, "sha256", json_object_get(d, "sha256"));
        json_object_set_new(e, "stored", oc_api_time(ev->ts_ns));
    } else if (!strcmp(ev->type, OC_ARTNS_EV_FAILED)) {
        json_object_set_new(e, "state", json_string("failed"));
        json_object_set(e, "error", json_object_get(d, "error"));
    }
    json_decref(d);
    return 0;
}

static int oc_artns_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "name")),
                   json_string_value(json_object_get(y, "name")));
    if (c)
        return c;
    json_int_t vx = json_integer_value(json_object_get(x, "version"));
    json_int_t vy = json_integer_value(json_object_get(y, "version"));
    return (vx > vy) - (vx < vy);
}

orch_status oc_artns_list(const struct oc_artns_state *s, const char *ns, const char *name,
                          json_t **list, struct orch_error *err)
{
    *list = NULL;
    if (!oc_artns_ns_ok(ns))
        return oc_error_set(err, ORCH_E_INVALID_ARG, "'%.64s' is not a namespace name", ns);
    struct oc_artns_fold f = {name, json_object()};
    char *stream = oc_artns_stream(ns);
    orch_status rc = s->vt->event_list(s->h, stream, 0, 0, oc_artns_fold_ev, &f, err);
    free(stream);
    if (rc != ORCH_OK) {
        json_decref(f.by_key);
        return rc;
    }
    size_t n = json_object_size(f.by_key), i = 0;
    json_t **v = oc_xcalloc(n ? n : 1, sizeof *v);
    const char *k;
    json_t *e;
    json_object_foreach(f.by_key, k, e) v[i++] = e;
    qsort(v, n, sizeof *v, oc_artns_cmp);
    *list = json_array();
    for (i = 0; i < n; i++)
        json_array_append(*list, v[i]);
    free(v);
    json_decref(f.by_key);
    return ORCH_OK;
}

static int oc_artns_is(const json_t *e, const char *name)
{
    return !strcmp(json_string_value(json_object_get(e, "name")), name);
}

static const char *oc_artns_state_of(const json_t *e)
{
    return json_string_value(json_object_get(e, "state"));
}

json_t *oc_artns_pick(const json_t *list, const char *ns, const char *name,
                      uint64_t version, struct orch_error *err)
{
    json_t *best = NULL, *e;
    size_t i;
    json_array_foreach(list, i, e) {
        if (!oc_artns_is(e, name))
            continue;
        uint64_t v = (uint64_t)json_integer_value(json_object_get(e, "version"));
        if (version ? v == version : !strcmp(oc_artns_state_of(e), "stored"))
            best = e; /* the list is by version: the last is the latest */
    }
    if (!best) {
        if (version)
            oc_error_set(err, ORCH_E_NOT_FOUND, "namespace %s has no version %llu of '%s'", ns,
                         (unsigned long long)version, name);
        else
            oc_error_set(err, ORCH_E_NOT_FOUND, "namespace %s has no stored version of '%s'",
                         ns, name);
        return NULL;
    }
    const char *state = oc_artns_state_of(best);
    if (strcmp(state, "stored")) {
        oc_error_set(err, ORCH_E_NOT_FOUND, "version %llu of '%s' in namespace %s is %s%s",
                     (unsigned long long)version, name, ns, state,
                     !strcmp(state, "pruned") ? " (beyond the namespace's keep)"
                     : !strcmp(state, "writing") ? " (its writer has not finished, or died)"
                                                 : "");
        return NULL;
    }
    return best;
}

/* ---- allocation under the name's lease ---- */

static void oc_artns_pause(int64_t ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Takes the lease, waiting (2 ms doubling to 100 ms between tries) while
 * another writer holds it. */
static orch_status oc_artns_lock(const struct oc_artns_state *s, const char *lease,
                                 const char *owner, struct orch_error *err)
{
    int64_t until = oc_now_mono_ns() + (int64_t)OC_ARTNS_LEASE_WAIT_MS * 1000000;
    int64_t pause = 2;
    for (;;) {
        int64_t exp;
        orch_status rc = s->vt->lease_acquire(s->h, lease, owner, OC_ARTNS_LEASE_TTL_MS,
                                              oc_now_real_ns(), &exp, err);
        if (rc != ORCH_E_CONFLICT)
            return rc;
        oc_error_clear(err);
        if (oc_now_mono_ns() > until)
            return oc_error_set(err, ORCH_E_TIMEOUT, "the lease %s stayed held for %d s",
                                lease, OC_ARTNS_LEASE_WAIT_MS / 1000);
        oc_artns_pause(pause);
        pause = pause < 100 ? pause * 2 : 100;
    }
}

static void oc_artns_unlock(const struct oc_artns_state *s, const char *lease,
                            const char *owner)
{
    struct orch_error e;
    oc_error_init(&e);
    s->vt->lease_release(s->h, lease, owner, &e); /* else it expires */
    oc_error_clear(&e);
}

static char *oc_artns_owner(const char *run_id, const char *step_id)
{
    static unsigned seq;
    return oc_xasprintf("%s/%s/%ld/%u/%lld", run_id ? run_id : "-", step_id ? step_id : "-",
                        (long)getpid(), ++seq, (long long)oc_now_real_ns());
}

static orch_status oc_artns_append(const struct oc_artns_state *s, const char *ns,
                                   const char *type, json_t *data, struct orch_error *err)
{
    char *stream = oc_artns_stream(ns);
    char *txt = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    int64_t seq;
    orch_status rc = s->vt->event_append(s->h, stream, type, txt ? txt : "{}",
                                         oc_now_real_ns(), &seq, err);
    free(txt);
    free(stream);
    return rc;
}

/* What the versions of w->name say about w: the highest allocated one
 * (*latest), and the newest one another run allocated above what this run
 * last saw (*other: borrowed, NULL when none). A failed write changed
 * nothing and counts for neither. */
static void oc_artns_judge(const json_t *list, const struct oc_artns_write *w,
                           uint64_t *latest, const json_t **other)
{
    uint64_t seen = w->read_version;
    *latest = 0;
    *other = NULL;
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        uint64_t v = (uint64_t)json_integer_value(json_object_get(e, "version"));
        if (v > *latest)
            *latest = v;
        const char *run = json_string_value(json_object_get(e, "run"));
        if (run && w->run_id && !strcmp(run, w->run_id) && v > seen &&
            strcmp(oc_artns_state_of(e), "failed"))
            seen = v; /* this run's own write: it knows that one */
    }
    if (!w->read_version)
        return; /* a blind write: nothing was read, nothing can be lost */
    json_array_foreach(list, i, e) {
        uint64_t v = (uint64_t)json_integer_value(json_object_get(e, "version"));
        const char *run = json_string_value(json_object_get(e, "run"));
        if (v > seen && strcmp(oc_artns_state_of(e), "failed") &&
            !(run && w->run_id && !strcmp(run, w->run_id)))
            *other = e;
    }
}

orch_status oc_artns_allocate(const struct oc_artns_state *s, const struct oc_artns_write *w,
                              struct oc_artns_alloc *out, struct orch_error *err)
{
    memset(out, 0, sizeof *out);
    if (!oc_artns_ns_ok(w->ns) || !oc_artns_name_ok(w->name))
        return oc_error_set(err, ORCH_E_INVALID_ARG, "bad namespace artifact %.64s/%.64s",
                            w->ns, w->name);
    char *lease = oc_artns_lease(w->ns, w->name);
    char *owner = oc_artns_owner(w->run_id, w->step_id);
    orch_status rc = oc_artns_lock(s, lease, owner, err);
    json_t *list = NULL;
    if (rc == ORCH_OK)
        rc = oc_artns_list(s, w->ns, w->name, &list, err);
    uint64_t latest = 0;
    const json_t *other = NULL;
    if (rc == ORCH_OK) {
        oc_artns_judge(list, w, &latest, &other);
        if (latest >= OC_ARTNS_VERSION_MAX)
            rc = oc_error_set(err, ORCH_E_INVALID_ARG, "'%s' in namespace %s has no version "
                              "number left", w->name, w->ns);
    }
    if (rc == ORCH_OK && other) {
        out->conflict = json_pack(
            "{s:s,s:s,s:I,s:I,s:O?,s:O?,s:s}", "namespace", w->ns, "name", w->name, "read",
            (json_int_t)w->read_version, "latest",
            json_integer_value(json_object_get(other, "version")), "other_run",
            json_object_get(other, "run"), "other_step", json_object_get(other, "step"),
            "action", w->fail_on_conflict ? "failed" : "written");
        if (w->fail_on_conflict)
            rc = oc_error_set(err, ORCH_E_CONFLICT,
                              "'%s' in namespace %s: this run read version %llu, and run %s "
                              "wrote version %lld since (on_conflict: fail)",
                              w->name, w->ns, (unsigned long long)w->read_version,
                              json_string_value(json_object_get(other, "run")),
                              (long long)json_integer_value(json_object_get(other, "version")));
    }
    /* Still ours (a holder slower than the lease's TTL lost it: then
     * another writer may have allocated in between; start again). */
    if (rc == ORCH_OK) {
        int64_t exp;
        rc = s->vt->lease_acquire(s->h, lease, owner, OC_ARTNS_LEASE_TTL_MS, oc_now_real_ns(),
                                  &exp, err);
        if (rc == ORCH_E_CONFLICT)
            oc_error_wrap(err, "the lease %s expired while a version was allocated", lease);
    }
    if (rc == ORCH_OK) {
        out->version = latest + 1;
        json_t *d = json_pack("{s:s,s:I,s:s?,s:s?,s:I}", "name", w->name, "version",
                              (json_int_t)out->version, "run", w->run_id, "step", w->step_id,
                              "read", (json_int_t)w->read_version);
        if (out->conflict)
            json_object_set(d, "conflict", out->conflict);
        rc = oc_artns_append(s, w->ns, OC_ARTNS_EV_ALLOCATED, d, err);
        if (rc != ORCH_OK)
            out->version = 0;
    }
    oc_artns_unlock(s, lease, owner);
    json_decref(list);
    free(lease);
    free(owner);
    return rc;
}

orch_status oc_artns_stored(const struct oc_artns_state *s, const char *ns, const char *name,
                            uint64_t version, uint64_t size, const char *sha256,
                            struct orch_error *err)
{
    return oc_artns_append(s, ns, OC_ARTNS_EV_STORED,
                           json_pack("{s:s,s:I,s:I,s:s}", "name", name, "version",
                                     (json_int_t)version, "size", (json_int_t)size, "sha256",
                                     sha256),
                           err);
}

orch_status oc_artns_failed(const struct oc_artns_state *s, const char *ns, const char *name,
                            uint64_t version, const char *why, struct orch_error *err)
{
    return oc_artns_append(s, ns, OC_ARTNS_EV_FAILED,
                           json_pack("{s:s,s:I,s:s}", "name", name, "version",
                                     (json_int_t)version, "error", why ? why : "write failed"),
                           err);
}

orch_status oc_artns_prune(const struct oc_artns_state *s, const struct orch_store_vtable *bvt,
                           struct orch_store *bh, const char *ns, const char *name,
                           uint64_t keep, const char *owner, uint64_t *n,
                           struct orch_error *err)
{
    *n = 0;
    if (!keep)
        return ORCH_OK;
    char *lease = oc_artns_lease(ns, name);
    char *own = oc_artns_owner(owner, "prune");
    orch_status rc = oc_artns_lock(s, lease, own, err);
    json_t *list = NULL, *gone = json_array();
    if (rc == ORCH_OK)
        rc = oc_artns_list(s, ns, name, &list, err);
    uint64_t stored = 0;
    size_t i;
    json_t *e;
    json_array_foreach(rc == ORCH_OK ? list : NULL, i, e)
        stored += !strcmp(oc_artns_state_of(e), "stored");
    /* Oldest first: the list is by version. */
    json_array_foreach(rc == ORCH_OK ? list : NULL, i, e) {
        if (stored <= keep)
            break;
        if (strcmp(oc_artns_state_of(e), "stored"))
            continue;
        uint64_t v = (uint64_t)json_integer_value(json_object_get(e, "version"));
        char *key = oc_artns_key(ns, name, v);
        rc = bvt->blob_delete(bh, key, err);
        free(key);
        if (rc == ORCH_E_NOT_FOUND) {
            oc_error_clear(err);
            rc = ORCH_OK;
        }
        if (rc != ORCH_OK)
            break;
        json_array_append_new(gone, json_integer((json_int_t)v));
        stored--;
    }
    if (json_array_size(gone)) {
        struct orch_error e2;
        oc_error_init(&e2);
        /* What went is recorded even when a later delete failed. */
        orch_status r2 = oc_artns_append(
            s, ns, OC_ARTNS_EV_PRUNED,
            json_pack("{s:s,s:O,s:I}", "name", name, "versions", gone, "keep",
                      (json_int_t)keep),
            rc == ORCH_OK ? err : &e2);
        if (rc == ORCH_OK)
            rc = r2;
        oc_error_clear(&e2);
        *n = json_array_size(gone);
    }
    oc_artns_unlock(s, lease, own);
    json_decref(gone);
    json_decref(list);
    free(lease);
    free(own);
    return rc;
}

/* ---- the CLI's and orchd's read ---- */

orch_status oc_artns_open(struct oc_registry *reg, struct oc_store *st,
                          const struct oc_config *cfg, const char *ns, const char *name,
                          uint64_t version, struct oc_run_artifact **out,
                          struct orch_error *err)
{
    *out = NULL;
    if (!oc_artns_ns_ok(ns))
        return oc_error_set(err, ORCH_E_INVALID_ARG, "'%.64s%s' is not a namespace name", ns,
                            strlen(ns) > 64 ? "..." : "");
    if (!oc_artns_name_ok(name))
        return oc_error_set(err, ORCH_E_INVALID_ARG,
                            "'%.64s%s' is not a name in a namespace (relative, no '.', '..' or "
                            "empty parts, no control characters or '@')",
                            name, strlen(name) > 64 ? "..." : "");
    struct oc_artns_state s = {st->vt, st->h};
    json_t *list;
    orch_status rc = oc_artns_list(&s, ns, name, &list, err);
    if (rc != ORCH_OK)
        return rc;
    json_t *e = json_incref(oc_artns_pick(list, ns, name, version, err));
    json_decref(list);
    if (!e)
        return err->code;
    int owned;
    struct oc_store *ast = oc_artifacts_store(reg, st, cfg, &owned, err);
    if (!ast) {
        json_decref(e);
        return err->code;
    }
    uint64_t v = (uint64_t)json_integer_value(json_object_get(e, "version"));
    *out = oc_artifact_reader(e, ast, owned, oc_artns_key(ns, name, v),
                              oc_xasprintf("version %llu of '%s' in namespace %s",
                                           (unsigned long long)v, name, ns));
    return ORCH_OK;
}
