/* The health document: GET /v1/health (read role) says everything an
 * operator checks before trusting a daemon, GET /health (public) only
 * whether it is "ok" or "degraded", with 200 or 503 so that a load
 * balancer or a container HEALTHCHECK needs no body parsing. Degraded
 * means: the store does not answer, the scheduler has not ticked for
 * three ticks (plus 5 s of slack), no plugin loaded, or a secret the
 * config references is not set. /health/live stays 200 while the process
 * serves (what /health answered before). GET /v1/health/ready (can this
 * daemon take work now) and /v1/health/env (which referenced secrets and
 * variables are set, never their values) are here too. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "http.h"
#include "store.h"
#include "util.h"
#include "version.h"

void orchd_tick_record(struct orchd *d, int64_t dur_ns)
{
    uint32_t busy, cap;
    oc_engine_pool_usage(d->eng, &busy, &cap);
    size_t active;
    oc_engine_run_ids(d->eng, &active);
    struct orchd_tick_stats *t = &d->ticks;
    pthread_mutex_lock(&t->lock);
    t->dur_ns[t->next] = dur_ns;
    t->next = (t->next + 1) % ORCHD_TICKS_KEPT;
    if (t->n < ORCHD_TICKS_KEPT)
        t->n++;
    t->pool_busy = busy;
    t->pool_capacity = cap;
    t->runs_active = (uint32_t)active;
    pthread_mutex_unlock(&t->lock);
}

void orchd_starting_note(struct orchd *d, const char *note)
{
    pthread_mutex_lock(&d->starting_lock);
    free(d->starting_note);
    d->starting_note = note ? oc_xstrdup(note) : NULL;
    pthread_mutex_unlock(&d->starting_lock);
}

char *orchd_starting_why(struct orchd *d)
{
    pthread_mutex_lock(&d->starting_lock);
    char *why = oc_xstrdup(d->starting_note ? d->starting_note : "connecting to the store");
    pthread_mutex_unlock(&d->starting_lock);
    return why;
}

/* Runs of one state: how many, and the oldest by the time it entered that
 * state (updated_ns; for queued runs not before not_before_ns, and runs
 * held until a future not_before are counted apart as delayed). */
struct orchd_run_count {
    int64_t now;
    json_int_t n, delayed;
    int64_t oldest_ns;          /* 0 = none */
};

static int32_t orchd_run_count_cb(void *ud, const struct orch_run_rec *r)
{
    struct orchd_run_count *c = ud;
    if (r->not_before_ns > c->now) {
        c->delayed++;
        return 0;
    }
    c->n++;
    int64_t since = r->updated_ns > r->not_before_ns ? r->updated_ns : r->not_before_ns;
    if (since && (!c->oldest_ns || since < c->oldest_ns))
        c->oldest_ns = since;
    return 0;
}

/* Lease holders of claimed runs, by owner: how many runs each holds and
 * when it last renewed (a renewal sets the expiry to now + lease_ttl). */
struct orchd_run_owners {
    json_t *by_owner;           /* owner -> {runs, expires_ns} */
};

static int32_t orchd_run_owner_cb(void *ud, const struct orch_run_rec *r)
{
    struct orchd_run_owners *o = ud;
    if (!r->owner)
        return 0;
    json_t *e = json_object_get(o->by_owner, r->owner);
    if (!e) {
        e = json_pack("{s:I,s:I}", "runs", (json_int_t)0, "expires_ns", (json_int_t)0);
        json_object_set_new(o->by_owner, r->owner, e);
    }
    json_object_set_new(e, "runs", json_integer(json_integer_value(json_object_get(e, "runs")) + 1));
    if (r->lease_expires_ns > json_integer_value(json_object_get(e, "expires_ns")))
        json_object_set_new(e, "expires_ns", json_integer(r->lease_expires_ns));
    return 0;
}

struct orchd_leases {
    json_t *list;
    int64_t now, ttl_ns;
};

static json_t *orchd_lease_json(const char *name, const char *owner, int64_t expires_ns,
                                int64_t now, int64_t ttl_ns)
{
    json_t *j = json_pack("{s:s,s:I}", "owner", owner, "expires_in_ms",
                          (json_int_t)((expires_ns - now) / 1000000));
    if (name)
        json_object_set_new(j, "name", json_string(name));
    /* Assumes the holder renews with this daemon's lease_ttl. */
    json_object_set_new(j, "last_renewal_age_ms",
                        json_integer((json_int_t)((now - (expires_ns - ttl_ns)) / 1000000)));
    return j;
}

static int32_t orchd_lease_cb(void *ud, const struct orch_lease_rec *l)
{
    struct orchd_leases *ls = ud;
    json_array_append_new(ls->list, orchd_lease_json(l->name, l->owner, l->expires_ns, ls->now,
                                                     ls->ttl_ns));
    return 0;
}

static int32_t orchd_health_flag_cb(void *ud, const char *name, const char *value)
{
    return orchd_control_cb(ud, name, value);
}

/* The run counts of the full document. Failed and waiting runs only
 * count: one aggregate read (run_stats), so the document costs the same
 * with 100,000 dead letters. The queue and the running runs are listed
 * (delays; lease owners into owners). Under the API lock. */
static void orchd_health_runs(struct orchd *d, json_t *doc, json_t *problems, int64_t now,
                              struct orchd_run_owners *owners)
{
    const struct orch_store_vtable *vt = d->api->vt;
    struct orch_store *h = d->api->h;
    struct orch_error err;
    oc_error_init(&err);
    static const struct {
        uint32_t state;
        const char *key;
    } counted[] = {{ORCH_RUN_QUEUED, "queue"},
                   {ORCH_RUN_RUNNING, "running"},
                   {ORCH_RUN_WAITING, "waiting_for_approval"},
                   {ORCH_RUN_FAILED, "dead_letters"}};
    struct orch_run_stats stats;
    int have_stats = oc_store_run_stats(d->api, &stats, &err) == ORCH_OK;
    oc_error_clear(&err);
    for (size_t i = 0; i < sizeof counted / sizeof counted[0]; i++) {
        if (have_stats && (counted[i].state == ORCH_RUN_FAILED ||
                           counted[i].state == ORCH_RUN_WAITING)) {
            json_object_set_new(doc, counted[i].key,
                                json_integer((json_int_t)stats.by_state[counted[i].state]));
            continue;
        }
        struct orch_run_filter f = {.struct_size = sizeof f, .state = counted[i].state};
        struct orchd_run_count n = {.now = now};
        /* The queue does not respect not_before for the other states. */
        if (counted[i].state != ORCH_RUN_QUEUED)
            n.now = INT64_MAX;
        orch_status rc = vt->run_list(h, &f, orchd_run_count_cb, &n, &err);
        if (rc == ORCH_OK && counted[i].state == ORCH_RUN_RUNNING)
            rc = vt->run_list(h, &f, orchd_run_owner_cb, owners, &err);
        if (rc != ORCH_OK) {
            json_array_append_new(problems, json_sprintf("store: listing runs: %s",
                                                         oc_error_text(&err)));
            oc_error_clear(&err);
            continue;
        }
        if (counted[i].state == ORCH_RUN_QUEUED) {
            json_t *q = json_pack("{s:I,s:I}", "depth", n.n, "delayed", n.delayed);
            json_object_set_new(q, "oldest_age_ms",
                                n.oldest_ns ? json_integer((now - n.oldest_ns) / 1000000)
                                            : json_null());
            json_object_set_new(doc, "queue", q);
        } else {
            json_object_set_new(doc, counted[i].key, json_integer(n.n));
        }
    }
}

/* The leases of the full document: one row per owner of running runs
 * (from owners, freed here), then the store's named leases. Under the API
 * lock. */
static void orchd_health_leases(struct orchd *d, const struct oc_config *cfg, json_t *doc,
                                json_t *problems, int64_t now, struct orchd_run_owners *owners)
{
    const struct orch_store_vtable *vt = d->api->vt;
    struct orch_error err;
    oc_error_init(&err);
    int64_t ttl_ns = orchd_cfg_of(cfg)->lease_ttl_ms * 1000000;
    struct orchd_leases ls = {.list = json_array(), .now = now, .ttl_ns = ttl_ns};
    const char *owner;
    json_t *e;
    json_object_foreach(owners->by_owner, owner, e) {
        json_t *l = orchd_lease_json(NULL, owner,
                                     json_integer_value(json_object_get(e, "expires_ns")), now,
                                     ttl_ns);
        json_object_set(l, "runs", json_object_get(e, "runs"));
        json_array_append_new(ls.list, l);
    }
    json_decref(owners->by_owner);
    owners->by_owner = NULL;
    if (vt->lease_list && vt->lease_list(d->api->h, orchd_lease_cb, &ls, &err) != ORCH_OK)
        json_array_append_new(problems,
                              json_sprintf("store: listing leases: %s", oc_error_text(&err)));
    oc_error_clear(&err);
    json_object_set_new(doc, "leases", ls.list);
}

/* What the store says, under the API lock: reachability (a read of the
 * control flags, timed), and for the full document the schema, counts of
 * runs and leases (the public /health does not list runs for anyone who
 * asks). */
static void orchd_health_store(struct orchd *d, const struct oc_config *cfg, json_t *doc,
                               json_t *problems, int64_t now, int full)
{
    const struct orch_store_vtable *vt = d->api->vt;
    struct orch_store *h = d->api->h;
    struct orch_error err;
    oc_error_init(&err);
    struct orchd_control c = {0};
    ORCHD_API_LOCK(d);
    int64_t t0 = oc_now_mono_ns();
    orch_status rc = vt->flag_list(h, orchd_health_flag_cb, &c, &err);
    int64_t latency = oc_now_mono_ns() - t0;
    json_t *store = json_pack("{s:s,s:b,s:f}", "uses", cfg->store.uses, "reachable",
                              rc == ORCH_OK, "latency_ms", (double)latency / 1e6);
    json_object_set_new(doc, "store", store);
    if (rc != ORCH_OK) {
        json_object_set_new(store, "error", json_string(oc_error_text(&err)));
        json_array_append_new(problems, json_sprintf("store: %s", oc_error_text(&err)));
        oc_error_clear(&err);
        ORCHD_API_UNLOCK(d);
        return; /* the rest would fail the same way */
    }
    if (!full) {
        ORCHD_API_UNLOCK(d);
        return;
    }
    json_object_set_new(doc, "control", json_pack("{s:b,s:b,s:b}", "paused", c.paused, "proof",
                                                  c.proof, "draining", c.draining));
    int32_t cur = 0, sup = 0;
    if (vt->schema_version && vt->schema_version(h, &cur, &sup, &err) == ORCH_OK)
        json_object_set_new(store, "schema", json_pack("{s:i,s:i,s:b}", "version", (int)cur,
                                                       "supported", (int)sup,
                                                       "current", cur == sup));
    oc_error_clear(&err);
    struct orchd_run_owners owners = {.by_owner = json_object()};
    orchd_health_runs(d, doc, problems, now, &owners);
    orchd_health_leases(d, cfg, doc, problems, now, &owners);
    ORCHD_API_UNLOCK(d);
}

static void orchd_health_scheduler(struct orchd *d, const struct oc_config *cfg, json_t *doc,
                                   json_t *problems, int64_t now)
{
    /* Before the first tick the age counts from the start, so a daemon
     * that was just started is not degraded for the moment it needs. */
    int64_t last = atomic_load(&d->last_tick_ns);
    int64_t since = last ? last : atomic_load(&d->started_ns);
    int64_t age_ms = (now - since) / 1000000;
    int64_t limit_ms = 3 * orchd_cfg_of(cfg)->tick_ms + 5000;
    struct orchd_tick_stats *t = &d->ticks;
    int64_t slowest = 0;
    pthread_mutex_lock(&t->lock);
    for (size_t i = 0; i < t->n; i++)
        if (t->dur_ns[i] > slowest)
            slowest = t->dur_ns[i];
    json_t *pool = json_pack("{s:i,s:i}", "busy", (int)t->pool_busy, "capacity",
                             (int)t->pool_capacity);
    json_t *runs = json_pack("{s:i,s:i}", "active", (int)t->runs_active, "max",
                             (int)orchd_cfg_of(cfg)->max_runs);
    size_t recent = t->n;
    pthread_mutex_unlock(&t->lock);
    pthread_mutex_lock(&d->m.lock);
    uint64_t ticks = d->m.ticks, overruns = d->m.tick_overruns;
    pthread_mutex_unlock(&d->m.lock);
    json_t *s = json_pack("{s:I,s:I,s:f,s:i,s:I,s:I}", "tick_ms",
                          (json_int_t)orchd_cfg_of(cfg)->tick_ms, "ticks", (json_int_t)ticks,
                          "slowest_recent_tick_ms", (double)slowest / 1e6, "recent_ticks",
                          (int)recent, "max_tick_ms", (json_int_t)orchd_cfg_of(cfg)->max_tick_ms,
                          "tick_overruns", (json_int_t)overruns);
    json_object_set_new(s, "last_tick_age_ms", last ? json_integer(age_ms) : json_null());
    json_object_set_new(doc, "scheduler", s);
    json_object_set_new(doc, "executor_pool", pool);
    json_object_set_new(doc, "runs_driven", runs);
    if (age_ms > limit_ms)
        json_array_append_new(problems,
                              json_sprintf("scheduler: %s %lld ms ago (more than %lld ms)",
                                           last ? "last ticked" : "started without a tick",
                                           (long long)age_ms, (long long)limit_ms));
}

static void orchd_health_local(struct orchd *d, const struct orchd_conf *c, json_t *doc,
                               json_t *problems)
{
    json_t *names = json_array();
    size_t i;
    json_t *p;
    json_array_foreach(d->plugins, i, p)
        json_array_append(names, json_object_get(p, "name"));
    size_t loaded = json_array_size(d->plugins);
    json_object_set_new(doc, "plugins", json_pack("{s:I,s:I,s:o}", "loaded", (json_int_t)loaded,
                                                  "errors",
                                                  (json_int_t)json_array_size(d->plugin_errors),
                                                  "names", names));
    if (!loaded)
        json_array_append_new(problems, json_string("plugins: none loaded"));
    /* Presence only: a value never leaves. */
    json_t *sec = json_object();
    for (i = 0; i < c->n_secret_names; i++) {
        char *v = oc_secret_lookup(c->secret_names[i]);
        json_object_set_new(sec, c->secret_names[i], json_boolean(v != NULL));
        if (!v)
            json_array_append_new(problems, json_sprintf("secrets: %s is not set",
                                                         c->secret_names[i]));
        free(v);
    }
    json_object_set_new(doc, "secrets", sec);
}

/* The document (without what the store lists unless full); *ok set. */
static json_t *orchd_health_doc(struct orchd_req *rq, int full, int *ok)
{
    struct orchd *d = rq->d;
    int64_t now = orchd_now(d);
    json_t *doc = json_object(), *problems = json_array();
    json_object_set_new(doc, "status", json_null()); /* first, filled in last */
    json_object_set_new(doc, "version", json_string(oc_version()));
    json_object_set_new(doc, "worker", json_string(d->owner));
    static const char *const roles[] = {"worker", "leader", "standby"};
    json_object_set_new(doc, "role", json_string(roles[atomic_load(&d->role)]));
    json_object_set_new(doc, "uptime_ms",
                        json_integer((now - atomic_load(&d->started_ns)) / 1000000));
    orchd_health_store(d, rq->cfg, doc, problems, now, full);
    orchd_health_scheduler(d, rq->cfg, doc, problems, now);
    orchd_health_local(d, rq->conf, doc, problems);
    *ok = json_array_size(problems) == 0;
    json_object_set_new(doc, "status", json_string(*ok ? "ok" : "degraded"));
    json_object_set_new(doc, "problems", problems);
    return doc;
}

void orchd_health(struct orchd_req *rq)
{
    /* While the daemon waits for its store there is no document to read. */
    int ok = 0;
    if (!atomic_load(&rq->d->starting))
        json_decref(orchd_health_doc(rq, 0, &ok));
    orchd_reply(rq, ok ? 200 : 503, json_pack("{s:s}", "status", ok ? "ok" : "degraded"));
}

void orchd_health_full(struct orchd_req *rq)
{
    int ok;
    json_t *doc = orchd_health_doc(rq, 1, &ok);
    orchd_reply(rq, ok ? 200 : 503, doc);
}

void orchd_health_live(struct orchd_req *rq)
{
    orchd_reply(rq, 200, json_pack("{s:s}", "status", "ok"));
}

static int32_t orchd_flag_noop(void *ud, const char *n, const char *v)
{
    (void)ud;
    (void)n;
    (void)v;
    return 0;
}

void orchd_health_ready(struct orchd_req *rq)
{
    struct orchd *d = rq->d;
    struct orch_error err;
    oc_error_init(&err);
    /* While the daemon waits for its store, the store check is why. */
    char *why = NULL;
    if (atomic_load(&d->starting)) {
        why = orchd_starting_why(d);
    } else {
        ORCHD_API_LOCK(d);
        if (d->api->vt->flag_list(d->api->h, orchd_flag_noop, NULL, &err) != ORCH_OK)
            why = oc_xstrdup(oc_error_text(&err));
        ORCHD_API_UNLOCK(d);
    }
    int store_ok = !why;
    int64_t last = atomic_load(&d->last_tick_ns);
    int64_t age_ms = last ? (orchd_now(d) - last) / 1000000 : -1;
    int tick_ok = last && age_ms <= 3 * orchd_cfg_of(rq->cfg)->tick_ms + 5000;
    size_t errors = json_array_size(d->plugin_errors);
    int plugins_ok = json_array_size(d->plugins) > 0;
    int ready = store_ok && tick_ok && plugins_ok;
    json_t *j = json_pack("{s:b,s:{s:{s:b,s:s?},s:{s:b,s:i,s:i},s:{s:b,s:I}}}", "ready", ready,
                          "checks", "store", "ok", store_ok, "error", why, "plugins", "ok",
                          plugins_ok,
                          "loaded", (json_int_t)json_array_size(d->plugins), "errors",
                          (json_int_t)errors, "scheduler", "ok", tick_ok, "last_tick_age_ms",
                          (json_int_t)age_ms);
    free(why);
    oc_error_clear(&err);
    orchd_reply(rq, ready ? 200 : 503, j);
}

void orchd_health_env(struct orchd_req *rq)
{
    json_t *sec = json_object(), *env = json_object();
    const struct orchd_conf *c = rq->conf;
    for (size_t i = 0; i < c->n_secret_names; i++) {
        char *v = oc_secret_lookup(c->secret_names[i]);
        json_object_set_new(sec, c->secret_names[i], json_boolean(v != NULL));
        free(v); /* presence only: a value never leaves */
    }
    for (size_t i = 0; i < c->n_env_names; i++)
        json_object_set_new(env, c->env_names[i], json_boolean(getenv(c->env_names[i]) != NULL));
    orchd_reply(rq, 200, json_pack("{s:o,s:o}", "secrets", sec, "env", env));
}
