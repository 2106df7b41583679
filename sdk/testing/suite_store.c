/* The store suite: what several orch processes sharing one store rely on.
 * Leases and claims never overlap, the ledger keeps its order, CAS
 * conflicts are reported, blobs and logs come back byte for byte,
 * rollback really undoes, and two processes writing at once lose nothing. */
#define _GNU_SOURCE
#include "cf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "options.h"

struct st {
    struct cf *c;
    const struct orch_store_vtable *vt;
    void *cfg;
    struct orch_store *h;
    struct cf_ctx x;
    struct cf_mark live0;
    struct orch_error err;
};

static int st_open(struct cf *c, struct st *s)
{
    memset(s, 0, sizeof *s);
    s->c = c;
    s->vt = cf_traced_vtable(ORCH_KIND_STORE, c->desc->vtable);
    s->live0 = cf_mark();
    oc_error_init(&s->err);
    cf_ctx_init(&s->x, c, "store");
    int failed = c->failed;
    s->cfg = cf_options(c, c->conf->with);
    if (c->failed > failed)
        return -1;
    orch_status rc = s->vt->open(&s->x.ctx, s->cfg, &s->h, &s->err);
    if (rc == ORCH_OK && s->vt->migrate)
        rc = s->vt->migrate(s->h, 0, NULL, &s->err);
    if (rc != ORCH_OK) {
        cf_fail_err(c, rc, &s->err, "open and migrate");
        oc_error_clear(&s->err);
        return -1;
    }
    return 0;
}

static void st_close(struct st *s)
{
    if (s->h)
        s->vt->close(s->h);
    s->h = NULL;
    oc_options_free(s->c->desc, s->cfg);
    s->cfg = NULL;
    oc_error_clear(&s->err);
    cf_ctx_fini(&s->x);
    cf_check_leaks(s->c, s->live0, "after close");
}

/* rc must be want; reports what, the status and the message otherwise. */
static int st_want(struct st *s, orch_status rc, orch_status want, const char *what)
{
    int ok = rc == want;
    if (!ok)
        cf_fail(s->c, "%s: got %s%s%s, want %s", what, orch_strerror(rc),
                s->err.message ? ": " : "", s->err.message ? s->err.message : "",
                orch_strerror(want));
    oc_error_clear(&s->err);
    return ok;
}

#define ST_BEGIN(c, s)                                                         \
    struct st s;                                                               \
    if (st_open(c, &s) != 0) {                                                 \
        st_close(&s);                                                          \
        return;                                                                \
    }

static struct orch_run_rec st_run(const char *id, const char *key, uint32_t state)
{
    struct orch_run_rec r = {.struct_size = sizeof r, .state = state, .id = id,
                             .workflow = "conformance", .idempotency_key = key,
                             .inputs_json = "{\"n\":1}", .source = "workflows: {}",
                             .source_path = "conformance.yaml", .created_ns = 1000,
                             .updated_ns = 1000};
    return r;
}

struct st_seen {
    int n;
    char id[64], owner[64];
    uint32_t state;
    char inputs[64];
};

static int32_t st_on_run(void *ud, const struct orch_run_rec *r)
{
    struct st_seen *w = ud;
    w->n++;
    snprintf(w->id, sizeof w->id, "%s", r->id ? r->id : "");
    snprintf(w->owner, sizeof w->owner, "%s", r->owner ? r->owner : "");
    snprintf(w->inputs, sizeof w->inputs, "%s", r->inputs_json ? r->inputs_json : "");
    w->state = r->state;
    return 0;
}

static void st_schema(struct cf *c)
{
    struct st s;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.vt = cf_traced_vtable(ORCH_KIND_STORE, c->desc->vtable);
    s.live0 = cf_mark();
    cf_ctx_init(&s.x, c, "store");
    s.cfg = cf_options(c, c->conf->with);
    if (!c->failed) {
        orch_status rc = s.vt->open(&s.x.ctx, s.cfg, &s.h, &s.err);
        if (st_want(&s, rc, ORCH_OK, "open a new store")) {
            int32_t cur = -1, sup = -1;
            rc = s.vt->schema_version(s.h, &cur, &sup, &s.err);
            if (st_want(&s, rc, ORCH_OK, "schema_version") && sup < 1)
                cf_fail(c, "schema_version: supported version %d, want >= 1", sup);
            char *plan = NULL;
            rc = s.vt->migrate(s.h, 1, &plan, &s.err);
            if (st_want(&s, rc, ORCH_OK, "migrate dry run") && (!plan || !*plan) && cur < sup)
                cf_fail(c, "migrate dry run on an older schema gave no plan text");
            oc_host()->free(plan);
            int32_t cur2 = -1;
            s.vt->schema_version(s.h, &cur2, &sup, &s.err);
            oc_error_clear(&s.err);
            if (cur2 != cur)
                cf_fail(c, "migrate dry run changed the schema version (%d -> %d)", cur, cur2);
            rc = s.vt->migrate(s.h, 0, NULL, &s.err);
            st_want(&s, rc, ORCH_OK, "migrate");
            s.vt->schema_version(s.h, &cur2, &sup, &s.err);
            oc_error_clear(&s.err);
            if (cur2 != sup)
                cf_fail(c, "after migrate the schema is at %d, want %d", cur2, sup);
            rc = s.vt->migrate(s.h, 0, NULL, &s.err);
            st_want(&s, rc, ORCH_OK, "migrate again (must be a no-op)");
        }
    }
    st_close(&s);
}

static void st_runs(struct cf *c)
{
    ST_BEGIN(c, s);
    struct orch_run_rec r = st_run("cf-run-1", "cf-key-1", ORCH_RUN_QUEUED);
    struct st_seen w = {0};
    st_want(&s, s.vt->run_create(s.h, &r, st_on_run, &w, &s.err), ORCH_OK, "run_create");
    memset(&w, 0, sizeof w);
    if (st_want(&s, s.vt->run_get(s.h, "cf-run-1", st_on_run, &w, &s.err), ORCH_OK,
                "run_get") &&
        (w.n != 1 || strcmp(w.id, "cf-run-1") || w.state != ORCH_RUN_QUEUED ||
         strcmp(w.inputs, "{\"n\":1}")))
        cf_fail(c, "run_get returned %d record(s): id '%s' state %u inputs '%s'", w.n, w.id,
                w.state, w.inputs);
    struct orch_run_rec dup = st_run("cf-run-2", "cf-key-1", ORCH_RUN_QUEUED);
    memset(&w, 0, sizeof w);
    if (st_want(&s, s.vt->run_create(s.h, &dup, st_on_run, &w, &s.err), ORCH_E_EXISTS,
                "run_create with a taken idempotency key") &&
        strcmp(w.id, "cf-run-1"))
        cf_fail(c, "run_create with a taken key must call back with the existing run "
                   "cf-run-1, called back with '%s'", w.id);
    st_want(&s, s.vt->run_get(s.h, "cf-run-2", st_on_run, &w, &s.err), ORCH_E_NOT_FOUND,
            "run_get of the refused duplicate");
    st_want(&s, s.vt->run_cas(s.h, "cf-run-1", ORCH_RUN_RUNNING, NULL, ORCH_RUN_FAILED, NULL,
                              2000, &s.err),
            ORCH_E_CONFLICT, "run_cas expecting the wrong state");
    st_want(&s, s.vt->run_cas(s.h, "cf-run-1", ORCH_RUN_QUEUED, NULL, ORCH_RUN_RUNNING, NULL,
                              2000, &s.err),
            ORCH_OK, "run_cas expecting the right state");
    st_want(&s, s.vt->run_cas(s.h, "cf-run-1", ORCH_RUN_QUEUED, NULL, ORCH_RUN_FAILED, NULL,
                              3000, &s.err),
            ORCH_E_CONFLICT, "run_cas repeating a transition that already happened");
    struct orch_attempt_rec a = {.struct_size = sizeof a, .state = ORCH_STEP_RUNNING,
                                 .run_id = "cf-run-1", .step_id = "build", .attempt = 1,
                                 .exit_code = -1, .started_ns = 2000};
    st_want(&s, s.vt->attempt_cas(s.h, &a, 0, &s.err), ORCH_OK, "attempt_cas insert");
    st_want(&s, s.vt->attempt_cas(s.h, &a, 0, &s.err), ORCH_E_EXISTS,
            "attempt_cas inserting the same attempt twice");
    a.state = ORCH_STEP_SUCCEEDED;
    st_want(&s, s.vt->attempt_cas(s.h, &a, ORCH_STEP_PENDING, &s.err), ORCH_E_CONFLICT,
            "attempt_cas expecting the wrong state");
    st_want(&s, s.vt->attempt_cas(s.h, &a, ORCH_STEP_RUNNING, &s.err), ORCH_OK,
            "attempt_cas expecting the right state");
    st_close(&s);
}

/* run_stats counts what run_list would, by state, and names the oldest
 * queued run's creation time (ABI 1.1, CAP_STATS). */
static void st_run_stats(struct cf *c)
{
    ST_BEGIN(c, s);
    static const struct { const char *id; uint32_t state; int64_t created; } runs[] = {
        {"cf-stats-1", ORCH_RUN_QUEUED, 5000}, {"cf-stats-2", ORCH_RUN_QUEUED, 4000},
        {"cf-stats-3", ORCH_RUN_RUNNING, 3000}, {"cf-stats-4", ORCH_RUN_FAILED, 2000},
        {"cf-stats-5", ORCH_RUN_FAILED, 1000}, {"cf-stats-6", ORCH_RUN_FAILED, 6000},
    };
    struct st_seen w = {0};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        struct orch_run_rec r = st_run(runs[i].id, NULL, runs[i].state);
        r.created_ns = r.updated_ns = runs[i].created;
        st_want(&s, s.vt->run_create(s.h, &r, st_on_run, &w, &s.err), ORCH_OK, "run_create");
    }
    struct orch_run_stats st = {.struct_size = sizeof st};
    if (st_want(&s, s.vt->run_stats(s.h, &st, &s.err), ORCH_OK, "run_stats") &&
        (st.by_state[ORCH_RUN_QUEUED] != 2 || st.by_state[ORCH_RUN_RUNNING] != 1 ||
         st.by_state[ORCH_RUN_FAILED] != 3 || st.by_state[ORCH_RUN_SUCCEEDED] != 0 ||
         st.oldest_queued_ns != 4000))
        cf_fail(c, "run_stats after 2 queued, 1 running, 3 failed runs: queued %llu running %llu "
                   "failed %llu succeeded %llu, oldest queued %lld (want 2 1 3 0, 4000)",
                (unsigned long long)st.by_state[ORCH_RUN_QUEUED],
                (unsigned long long)st.by_state[ORCH_RUN_RUNNING],
                (unsigned long long)st.by_state[ORCH_RUN_FAILED],
                (unsigned long long)st.by_state[ORCH_RUN_SUCCEEDED], (long long)st.oldest_queued_ns);
    st_close(&s);
}

/* The tick ledger (ABI 1.2, CAP_TICKS): every field back as written,
 * newest first with seq breaking a tie of start times, since and limit
 * honoured, a non-zero return stopping the walk, pruning by age and by
 * count (the last appended kept). */
struct st_ticks {
    int n, stop_after;
    int64_t started[8], seq[8];
    char owner[8][16];
    struct orch_tick_rec last;
};

static int32_t st_on_tick(void *ud, const struct orch_tick_rec *t)
{
    struct st_ticks *w = ud;
    if (w->n < 8) {
        w->started[w->n] = t->started_ns;
        w->seq[w->n] = t->seq;
        snprintf(w->owner[w->n], sizeof w->owner[0], "%s", t->owner ? t->owner : "(null)");
    }
    w->last = *t;
    w->n++;
    return w->stop_after && w->n >= w->stop_after;
}

static int st_ticks_list(struct st *s, int64_t since, uint32_t limit, struct st_ticks *w,
                         const char *what)
{
    int stop = w->stop_after;
    memset(w, 0, sizeof *w);
    w->stop_after = stop;
    return st_want(s, s->vt->tick_list(s->h, since, limit, st_on_tick, w, &s->err), ORCH_OK,
                   what);
}

static void st_ticks(struct cf *c)
{
    ST_BEGIN(c, s);
    /* Appended out of start order, and two with one start time. */
    static const int64_t starts[] = {3000, 1000, 2000, 5000, 4000, 5000};
    for (uint32_t i = 0; i < 6; i++) {
        struct orch_tick_rec t = {.struct_size = sizeof t, .seq = 999,
                                  .owner = i % 2 ? "cf-b" : "cf-a", .started_ns = starts[i], .duration_ns = 70 + i,
                                  .claimed = 1 + i, .dispatched = 2 + i, .fired = 3 + i,
                                  .requeued = 4 + i, .reaped = 5 + i, .errors = 6 + i};
        st_want(&s, s.vt->tick_append(s.h, &t, &s.err), ORCH_OK, "tick_append");
    }
    struct st_ticks w = {0};
    if (st_ticks_list(&s, 0, 100, &w, "tick_list of all")) {
        /* Newest first: the two 5000s (the later append first), 4000, ... */
        static const int64_t want[] = {5000, 5000, 4000, 3000, 2000, 1000};
        int order_ok = w.n == 6 && w.seq[0] > w.seq[1];
        for (int i = 0; order_ok && i < 6; i++)
            order_ok = w.started[i] == want[i];
        if (!order_ok)
            cf_fail(c, "tick_list of 6 ticks: %d returned, starts %lld %lld %lld %lld %lld %lld, "
                       "seq of the two at 5000 %lld %lld (want 5000 5000 4000 3000 2000 1000, "
                       "the later append first)", w.n, (long long)w.started[0],
                    (long long)w.started[1], (long long)w.started[2], (long long)w.started[3],
                    (long long)w.started[4], (long long)w.started[5], (long long)w.seq[0],
                    (long long)w.seq[1]);
        /* The last one called back is the second append (start 1000). */
        const struct orch_tick_rec *t = &w.last;
        if (t->duration_ns != 71 || t->claimed != 2 || t->dispatched != 3 || t->fired != 4 ||
            t->requeued != 5 || t->reaped != 6 || t->errors != 7 || strcmp(w.owner[5], "cf-b") ||
            t->seq == 999)
            cf_fail(c, "tick_list gave back the tick appended as owner cf-b, 71 ns, counts "
                       "2 3 4 5 6 7 as owner %s, %lld ns, counts %u %u %u %u %u %u, seq %lld "
                       "(the store assigns seq)", w.owner[5], (long long)t->duration_ns,
                    t->claimed, t->dispatched, t->fired, t->requeued, t->reaped, t->errors,
                    (long long)t->seq);
    }
    if (st_ticks_list(&s, 3000, 100, &w, "tick_list since 3000") && w.n != 4)
        cf_fail(c, "tick_list since 3000 returned %d ticks, want 4 (3000, 4000, 5000, 5000)", w.n);
    if (st_ticks_list(&s, 0, 2, &w, "tick_list limit 2") &&
        (w.n != 2 || w.started[0] != 5000 || w.started[1] != 5000))
        cf_fail(c, "tick_list limit 2 returned %d ticks starting %lld %lld, want the newest two",
                w.n, (long long)w.started[0], (long long)w.started[1]);
    w.stop_after = 1;
    if (st_ticks_list(&s, 0, 100, &w, "tick_list stopped by its callback") && w.n != 1)
        cf_fail(c, "tick_list went on after its callback returned non-zero: %d calls", w.n);
    w.stop_after = 0;
    st_want(&s, s.vt->tick_prune(s.h, 2500, 0, &s.err), ORCH_OK, "tick_prune before 2500");
    if (st_ticks_list(&s, 0, 100, &w, "tick_list after pruning by age") &&
        (w.n != 4 || w.started[3] != 3000))
        cf_fail(c, "tick_prune before 2500 left %d ticks, the oldest %lld (want 4, 3000)", w.n,
                w.n ? (long long)w.started[w.n < 8 ? w.n - 1 : 7] : 0LL);
    /* The last two appended started at 4000 and 5000; the newest two by
     * start would be both 5000s: which a store keeps is told apart here. */
    st_want(&s, s.vt->tick_prune(s.h, 0, 2, &s.err), ORCH_OK, "tick_prune keeping 2");
    if (st_ticks_list(&s, 0, 100, &w, "tick_list after pruning by count") &&
        (w.n != 2 || w.started[0] != 5000 || w.started[1] != 4000))
        cf_fail(c, "tick_prune keeping 2 left %d ticks starting %lld %lld (want the last two "
                   "appended: 5000 4000)", w.n, w.n ? (long long)w.started[0] : 0LL,
                w.n > 1 ? (long long)w.started[1] : 0LL);
    st_close(&s);
}

struct st_events {
    int n, bad_order;
    int64_t last;
    char types[8][16];
};

static int32_t st_on_event(void *ud, const struct orch_event_rec *e)
{
    struct st_events *w = ud;
    if (e->seq <= w->last)
        w->bad_order++;
    w->last = e->seq;
    if (w->n < 8)
        snprintf(w->types[w->n], sizeof w->types[0], "%s", e->type);
    w->n++;
    return 0;
}

static void st_ledger(struct cf *c)
{
    ST_BEGIN(c, s);
    int64_t seqs[50];
    for (int k = 0; k < 50; k++) {
        char type[16];
        snprintf(type, sizeof type, "cf.e%02d", k);
        st_want(&s, s.vt->event_append(s.h, k % 2 ? "cf-run-a" : NULL, type, "{}", 1000 + k,
                                       &seqs[k], &s.err),
                ORCH_OK, "event_append");
        if (k && seqs[k] <= seqs[k - 1])
            cf_fail(c, "event_append: seq %lld after %lld is not increasing",
                    (long long)seqs[k], (long long)seqs[k - 1]);
    }
    struct st_events w = {0};
    st_want(&s, s.vt->event_list(s.h, NULL, 0, 0, st_on_event, &w, &s.err), ORCH_OK,
            "event_list");
    if (w.n != 50 || w.bad_order || strcmp(w.types[0], "cf.e00") || strcmp(w.types[7], "cf.e07"))
        cf_fail(c, "event_list: %d events (want 50), %d out of order, first '%s'", w.n,
                w.bad_order, w.types[0]);
    memset(&w, 0, sizeof w);
    st_want(&s, s.vt->event_list(s.h, "cf-run-a", 0, 0, st_on_event, &w, &s.err), ORCH_OK,
            "event_list of one run");
    if (w.n != 25)
        cf_fail(c, "event_list of one run: %d events, want 25", w.n);
    memset(&w, 0, sizeof w);
    st_want(&s, s.vt->event_list(s.h, NULL, seqs[39], 5, st_on_event, &w, &s.err), ORCH_OK,
            "event_list after a seq with a limit");
    if (w.n != 5 || strcmp(w.types[0], "cf.e40"))
        cf_fail(c, "event_list after seq of event 39, limit 5: %d events starting at '%s', "
                   "want 5 starting at cf.e40", w.n, w.types[0]);
    st_close(&s);
}

static int32_t st_on_log(void *ud, const struct orch_log_rec *l)
{
    oc_buf_add(ud, l->data, (size_t)l->len);
    return 0;
}

/* Takes up to `left` rows, then asks the store to stop. */
struct st_log_page {
    int left, got;
    int64_t last;
};

static int32_t st_on_log_page(void *ud, const struct orch_log_rec *l)
{
    struct st_log_page *p = ud;
    p->got++;
    p->last = l->seq;
    return --p->left <= 0;
}

static void st_logs(struct cf *c)
{
    ST_BEGIN(c, s);
    static const char chunk[] = {'a', 0, 'b', (char)0xff, '\n'};
    for (int k = 0; k < 20; k++)
        st_want(&s, s.vt->log_append(s.h, "cf-run", "build", 1, ORCH_STREAM_STDOUT, chunk,
                                     sizeof chunk, 1000 + k, &s.err),
                ORCH_OK, "log_append");
    struct oc_buf got = {0};
    st_want(&s, s.vt->log_read(s.h, "cf-run", "build", 1, 0, st_on_log, &got, &s.err), ORCH_OK,
            "log_read");
    int same = got.len == 20 * sizeof chunk;
    for (size_t k = 0; same && k < got.len; k++)
        same = got.data[k] == chunk[k % sizeof chunk];
    if (!same)
        cf_fail(c, "log_read returned %zu bytes that differ from the 20 binary chunks "
                   "appended (%zu bytes)", got.len, 20 * sizeof chunk);
    oc_buf_free(&got);
    /* Paged as orchd reads it: stop after 3 rows, go on after the last. */
    struct st_log_page pg = {.left = 3};
    st_want(&s, s.vt->log_read(s.h, "cf-run", "build", 1, 0, st_on_log_page, &pg, &s.err),
            ORCH_OK, "log_read stopped by its callback");
    if (pg.got != 3)
        cf_fail(c, "log_read called its callback %d times after it returned non-zero on the "
                   "3rd row, want 3", pg.got);
    int pages = 1, rows = pg.got;
    while (pg.got && pages < 20) {
        pg = (struct st_log_page){.left = 3, .last = pg.last};
        int64_t after = pg.last;
        st_want(&s, s.vt->log_read(s.h, "cf-run", "build", 1, after, st_on_log_page, &pg,
                                   &s.err),
                ORCH_OK, "log_read after a seq");
        rows += pg.got;
        pages++;
    }
    if (rows != 20)
        cf_fail(c, "log_read in pages of 3 rows (after_seq = the last row's seq) gave %d rows, "
                   "want 20", rows);
    st_close(&s);
}

struct st_lease {
    char owner[64];
    int n;
};

static int32_t st_on_lease(void *ud, const struct orch_lease_rec *l)
{
    struct st_lease *w = ud;
    if (!strcmp(l->name, "cf-lease")) {
        snprintf(w->owner, sizeof w->owner, "%s", l->owner);
        w->n++;
    }
    return 0;
}

static void st_leases(struct cf *c)
{
    ST_BEGIN(c, s);
    const int64_t t = 1700000000000000000ll, ms = 1000000;
    int64_t exp = 0, exp2 = 0;
    st_want(&s, s.vt->lease_acquire(s.h, "cf-lease", "A", 1000, t, &exp, &s.err), ORCH_OK,
            "lease_acquire of a free lease");
    if (exp != t + 1000 * ms)
        cf_fail(c, "lease_acquire: expires at now+%lld ms, want now+1000 ms",
                (long long)((exp - t) / ms));
    st_want(&s, s.vt->lease_acquire(s.h, "cf-lease", "B", 1000, t + 10 * ms, &exp2, &s.err),
            ORCH_E_CONFLICT, "lease_acquire of a lease another owner holds");
    st_want(&s, s.vt->lease_acquire(s.h, "cf-lease", "A", 1000, t + 500 * ms, &exp2, &s.err),
            ORCH_OK, "lease renewal by its owner");
    if (exp2 <= exp)
        cf_fail(c, "lease renewal did not extend the expiry");
    st_want(&s, s.vt->lease_acquire(s.h, "cf-lease", "B", 1000, t + 1400 * ms, &exp, &s.err),
            ORCH_E_CONFLICT, "lease_acquire before the renewed lease expired");
    st_want(&s, s.vt->lease_acquire(s.h, "cf-lease", "B", 1000, t + 1600 * ms, &exp, &s.err),
            ORCH_OK, "lease_acquire (steal) after expiry");
    struct st_lease w = {0};
    st_want(&s, s.vt->lease_list(s.h, st_on_lease, &w, &s.err), ORCH_OK, "lease_list");
    if (w.n != 1 || strcmp(w.owner, "B"))
        cf_fail(c, "lease_list after the steal: %d entries, owner '%s'; want one, owned by B",
                w.n, w.owner);
    st_want(&s, s.vt->lease_release(s.h, "cf-lease", "B", &s.err), ORCH_OK, "lease_release");
    st_want(&s, s.vt->lease_acquire(s.h, "cf-lease", "A", 1000, t + 1700 * ms, &exp, &s.err),
            ORCH_OK, "lease_acquire after release");
    /* Claims. */
    struct orch_run_rec r = st_run("cf-claim", NULL, ORCH_RUN_QUEUED);
    st_want(&s, s.vt->run_create(s.h, &r, st_on_run, &(struct st_seen){0}, &s.err), ORCH_OK,
            "run_create");
    struct st_seen got = {0};
    st_want(&s, s.vt->run_claim(s.h, "A", 1000, t, st_on_run, &got, &s.err), ORCH_OK,
            "run_claim of a queued run");
    if (got.n != 1 || strcmp(got.id, "cf-claim") || strcmp(got.owner, "A"))
        cf_fail(c, "run_claim called back %d time(s) with run '%s' owner '%s'", got.n, got.id,
                got.owner);
    st_want(&s, s.vt->run_claim(s.h, "B", 1000, t + 10 * ms, st_on_run, &got, &s.err),
            ORCH_E_NOT_FOUND, "run_claim while the only run is claimed");
    st_want(&s, s.vt->run_heartbeat(s.h, "cf-claim", "B", 1000, t + 20 * ms, &s.err),
            ORCH_E_CONFLICT, "run_heartbeat by an owner that does not hold the run");
    st_want(&s, s.vt->run_heartbeat(s.h, "cf-claim", "A", 1000, t + 900 * ms, &s.err), ORCH_OK,
            "run_heartbeat by its owner");
    st_want(&s, s.vt->run_claim(s.h, "B", 1000, t + 1500 * ms, st_on_run, &got, &s.err),
            ORCH_E_NOT_FOUND, "run_claim before the heartbeat's lease expired");
    memset(&got, 0, sizeof got);
    st_want(&s, s.vt->run_claim(s.h, "B", 1000, t + 2000 * ms, st_on_run, &got, &s.err), ORCH_OK,
            "run_claim of a run whose owner stopped heartbeating");
    if (strcmp(got.owner, "B"))
        cf_fail(c, "the taken-over run has owner '%s', want B", got.owner);
    st_want(&s, s.vt->run_heartbeat(s.h, "cf-claim", "A", 1000, t + 2100 * ms, &s.err),
            ORCH_E_CONFLICT, "run_heartbeat by the owner that lost the run");
    st_close(&s);
}

struct st_blob_src {
    const char *p;
    size_t n, off;
};

static int64_t st_blob_read(void *ud, void *buf, uint64_t len)
{
    struct st_blob_src *s = ud;
    size_t n = s->n - s->off < len ? s->n - s->off : (size_t)len;
    memcpy(buf, s->p + s->off, n);
    s->off += n;
    return (int64_t)n;
}

static int32_t st_blob_write(void *ud, const void *buf, uint64_t len)
{
    oc_buf_add(ud, buf, (size_t)len);
    return 0;
}

static int32_t st_on_blob(void *ud, const char *key, uint64_t size)
{
    if (!strcmp(key, "cf/dir/blob.bin") && size == (2u << 20) + 5)
        ++*(int *)ud;
    return 0;
}

static void st_blobs(struct cf *c)
{
    ST_BEGIN(c, s);
    size_t n = (2u << 20) + 5;
    char *data = oc_xmalloc(n);
    for (size_t k = 0; k < n; k++)
        data[k] = (char)(k * 31 + (k >> 9));
    struct st_blob_src src = {data, n, 0};
    st_want(&s, s.vt->blob_put(s.h, "cf/dir/blob.bin", st_blob_read, &src, &s.err), ORCH_OK,
            "blob_put of 2 MiB");
    struct oc_buf got = {0};
    if (st_want(&s, s.vt->blob_get(s.h, "cf/dir/blob.bin", st_blob_write, &got, &s.err),
                ORCH_OK, "blob_get") &&
        (got.len != n || memcmp(got.data, data, n)))
        cf_fail(c, "blob_get returned %zu bytes that differ from the %zu put", got.len, n);
    oc_buf_free(&got);
    int listed = 0;
    st_want(&s, s.vt->blob_list(s.h, "cf/", st_on_blob, &listed, &s.err), ORCH_OK, "blob_list");
    if (listed != 1)
        cf_fail(c, "blob_list cf/ listed cf/dir/blob.bin with its size %d times, want once",
                listed);
    src.off = 0;
    st_want(&s, s.vt->blob_put(s.h, "cf/../escape", st_blob_read, &src, &s.err),
            ORCH_E_INVALID_ARG, "blob_put with '..' in the key");
    st_want(&s, s.vt->blob_delete(s.h, "cf/dir/blob.bin", &s.err), ORCH_OK, "blob_delete");
    st_want(&s, s.vt->blob_get(s.h, "cf/dir/blob.bin", st_blob_write, &got, &s.err),
            ORCH_E_NOT_FOUND, "blob_get after blob_delete");
    oc_buf_free(&got);
    free(data);
    st_close(&s);
}

static void st_txn(struct cf *c)
{
    ST_BEGIN(c, s);
    struct st_seen w = {0};
    st_want(&s, s.vt->txn_begin(s.h, &s.err), ORCH_OK, "txn_begin");
    struct orch_run_rec r = st_run("cf-txn-undone", NULL, ORCH_RUN_QUEUED);
    st_want(&s, s.vt->run_create(s.h, &r, st_on_run, &w, &s.err), ORCH_OK, "run_create in txn");
    int64_t seq;
    st_want(&s, s.vt->event_append(s.h, "cf-txn-undone", "cf.txn", "{}", 1, &seq, &s.err),
            ORCH_OK, "event_append in txn");
    st_want(&s, s.vt->txn_rollback(s.h, &s.err), ORCH_OK, "txn_rollback");
    st_want(&s, s.vt->run_get(s.h, "cf-txn-undone", st_on_run, &w, &s.err), ORCH_E_NOT_FOUND,
            "run_get of a run created in a rolled-back transaction");
    struct st_events e = {0};
    s.vt->event_list(s.h, "cf-txn-undone", 0, 0, st_on_event, &e, &s.err);
    oc_error_clear(&s.err);
    if (e.n)
        cf_fail(c, "an event appended in a rolled-back transaction is still listed");
    st_want(&s, s.vt->txn_begin(s.h, &s.err), ORCH_OK, "txn_begin");
    r.id = "cf-txn-kept";
    st_want(&s, s.vt->run_create(s.h, &r, st_on_run, &w, &s.err), ORCH_OK, "run_create in txn");
    st_want(&s, s.vt->txn_commit(s.h, &s.err), ORCH_OK, "txn_commit");
    st_want(&s, s.vt->run_get(s.h, "cf-txn-kept", st_on_run, &w, &s.err), ORCH_OK,
            "run_get of a committed run");
    st_close(&s);
}

/* One of st_concurrent's two processes: its own handle, `events` ledger
 * appends and as many claims, each claimed run's id written to out. */
static int st_race_writer(struct cf *c, int p, int events, int out)
{
    struct st me;
    if (st_open(c, &me) != 0)
        return 1;
    char owner[8];
    snprintf(owner, sizeof owner, "P%d", p);
    for (int k = 0; k < events; k++) {
        int64_t seq;
        orch_status rc = me.vt->event_append(me.h, "cf-race", owner, "{}", k, &seq, &me.err);
        if (rc != ORCH_OK)
            cf_fail_err(c, rc, &me.err, "process %d: event_append", p);
        oc_error_clear(&me.err);
        struct st_seen got = {0};
        rc = me.vt->run_claim(me.h, owner, 60000, oc_now_real_ns(), st_on_run, &got, &me.err);
        if (rc == ORCH_OK && dprintf(out, "%s\n", got.id) < 0)
            return 1;
        else if (rc != ORCH_OK && rc != ORCH_E_NOT_FOUND && rc != ORCH_E_TRANSIENT)
            cf_fail_err(c, rc, &me.err, "process %d: run_claim", p);
        oc_error_clear(&me.err);
    }
    st_close(&me);
    return 0;
}

/* Two processes, each with its own handle, race for the same runs and
 * append to the ledger at once. */
static void st_concurrent(struct cf *c)
{
    ST_BEGIN(c, s);
    enum { RUNS = 20, EVENTS = 100 };
    for (int k = 0; k < RUNS; k++) {
        char id[32];
        snprintf(id, sizeof id, "cf-race-%02d", k);
        struct orch_run_rec r = st_run(id, NULL, ORCH_RUN_QUEUED);
        struct st_seen w = {0};
        st_want(&s, s.vt->run_create(s.h, &r, st_on_run, &w, &s.err), ORCH_OK, "run_create");
    }
    int fds[2];
    if (pipe(fds) != 0) {
        cf_fail(c, "pipe");
        st_close(&s);
        return;
    }
    pid_t kids[2];
    fflush(NULL);
    for (int p = 0; p < 2; p++) {
        kids[p] = fork();
        if (kids[p] == 0) {
            close(fds[0]);
            _exit(st_race_writer(c, p, EVENTS, fds[1]));
        }
    }
    close(fds[1]);
    struct oc_buf claimed = {0};
    char buf[512];
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0)
        oc_buf_add(&claimed, buf, (size_t)n);
    close(fds[0]);
    for (int p = 0; p < 2; p++) {
        int stt = 0;
        waitpid(kids[p], &stt, 0);
        if (!WIFEXITED(stt) || WEXITSTATUS(stt))
            cf_fail(c, "writer process %d failed (status %d)", p, stt);
    }
    for (int k = 0; k < RUNS; k++) {
        char id[32];
        snprintf(id, sizeof id, "cf-race-%02d\n", k);
        int times = 0;
        for (const char *q = claimed.data; q && (q = strstr(q, id)); q++)
            times++;
        if (times != 1) {
            cf_fail(c, "run cf-race-%02d was claimed %d times by the two processes, want "
                       "exactly once", k, times);
            break;
        }
    }
    oc_buf_free(&claimed);
    struct st_events e = {0};
    st_want(&s, s.vt->event_list(s.h, "cf-race", 0, 0, st_on_event, &e, &s.err), ORCH_OK,
            "event_list");
    if (e.n != 2 * EVENTS || e.bad_order)
        cf_fail(c, "two processes appended %d events; the ledger has %d (%d out of order)",
                2 * EVENTS, e.n, e.bad_order);
    st_close(&s);
}

static orch_status st_torture_once(struct cf *c, void *ud)
{
    (void)ud;
    struct st s;
    orch_status rc = ORCH_E_NOMEM;
    if (st_open(c, &s) == 0) {
        char id[32];
        snprintf(id, sizeof id, "cf-torture-%d", c->torture_n);
        struct orch_run_rec r = st_run(id, NULL, ORCH_RUN_QUEUED);
        struct st_seen w = {0};
        rc = s.vt->run_create(s.h, &r, st_on_run, &w, &s.err);
        oc_error_clear(&s.err);
        if (rc == ORCH_OK)
            rc = s.vt->run_get(s.h, id, st_on_run, &w, &s.err);
        oc_error_clear(&s.err);
    }
    s.live0 = CF_MARK_NONE;
    st_close(&s);
    return rc;
}

/* Run retention (ABI 1.3, CAP_RETENTION): run_list_ended returns only
 * ended runs older than the bound, oldest first, paged without a skip;
 * run_delete takes a run with its attempts, events, logs and destroyed
 * instances' rows and nothing else, refuses a live or a newer run and
 * says NOT_FOUND for a run already gone. The runs' times lie far from the
 * other cases' so a shared store's earlier rows do not count. */
#define ST_RET_T0 7000000000000LL

struct st_ret_seen {
    int n;
    char ids[8][32];
};

static int32_t st_on_ret_run(void *ud, const struct orch_run_rec *r)
{
    struct st_ret_seen *w = ud;
    if (w->n < 8)
        snprintf(w->ids[w->n], sizeof w->ids[0], "%s", r->id);
    w->n++;
    return 0;
}

static int32_t st_count_cb(void *ud, const void *rec)
{
    (void)rec;
    (*(int *)ud)++;
    return 0;
}
static int32_t st_count_att(void *ud, const struct orch_attempt_rec *a)
{
    return st_count_cb(ud, a);
}
static int32_t st_count_ev(void *ud, const struct orch_event_rec *e)
{
    return st_count_cb(ud, e);
}
static int32_t st_count_log(void *ud, const struct orch_log_rec *l)
{
    return st_count_cb(ud, l);
}
static int32_t st_count_inst(void *ud, const struct orch_instance_rec *i)
{
    return st_count_cb(ud, i);
}

/* The ids run_list_ended gives, joined with spaces, into out. */
static int st_ret_list(struct st *s, uint32_t state, const char *after, int64_t after_ns,
                       uint32_t limit, char *out, size_t cap)
{
    struct st_ret_seen w = {0};
    if (!st_want(s, s->vt->run_list_ended(s->h, state, after_ns, after, ST_RET_T0 + 500, limit,
                                          st_on_ret_run, &w, &s->err),
                 ORCH_OK, "run_list_ended"))
        return -1;
    out[0] = 0;
    for (int i = 0; i < w.n && i < 8; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", w.ids[i]);
    return 0;
}

static void st_retention(struct cf *c)
{
    ST_BEGIN(c, s);
    static const struct { const char *id; uint32_t state; int64_t at; } runs[] = {
        {"cf-ret-a", ORCH_RUN_SUCCEEDED, 100}, {"cf-ret-b", ORCH_RUN_FAILED, 200},
        {"cf-ret-c", ORCH_RUN_CANCELLED, 300}, {"cf-ret-d", ORCH_RUN_RUNNING, 50},
        {"cf-ret-e", ORCH_RUN_QUEUED, 60},     {"cf-ret-f", ORCH_RUN_WAITING, 70},
        {"cf-ret-g", ORCH_RUN_SUCCEEDED, 900},
    };
    struct st_seen w = {0};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        struct orch_run_rec r = st_run(runs[i].id, NULL, runs[i].state);
        r.created_ns = r.updated_ns = ST_RET_T0 + runs[i].at;
        st_want(&s, s.vt->run_create(s.h, &r, st_on_run, &w, &s.err), ORCH_OK, "run_create");
    }
    for (uint32_t n = 1; n <= 2; n++) {
        struct orch_attempt_rec a = {.struct_size = sizeof a, .state = ORCH_STEP_SUCCEEDED,
                                     .run_id = "cf-ret-a", .step_id = "s", .attempt = n,
                                     .started_ns = ST_RET_T0, .finished_ns = ST_RET_T0 + 1};
        st_want(&s, s.vt->attempt_cas(s.h, &a, 0, &s.err), ORCH_OK, "attempt_cas insert");
    }
    int64_t seq;
    for (int i = 0; i < 3; i++)
        st_want(&s, s.vt->event_append(s.h, "cf-ret-a", "step.succeeded", "{}", ST_RET_T0, &seq,
                                       &s.err), ORCH_OK, "event_append");
    st_want(&s, s.vt->event_append(s.h, "cf-ret-g", "run.finished", "{}", ST_RET_T0, &seq,
                                   &s.err), ORCH_OK, "event_append");
    st_want(&s, s.vt->log_append(s.h, "cf-ret-a", "s", 1, ORCH_STREAM_STDOUT, "hello", 5,
                                 ST_RET_T0, &s.err), ORCH_OK, "log_append");
    st_want(&s, s.vt->log_append(s.h, "cf-ret-a", "s", 2, ORCH_STREAM_STDERR, "w\0rld", 5,
                                 ST_RET_T0, &s.err), ORCH_OK, "log_append");
    static const struct { const char *id; uint32_t state; } insts[] = {
        {"cf-ret-i1", ORCH_INST_DESTROYED}, {"cf-ret-i2", ORCH_INST_RUNNING}};
    for (size_t i = 0; i < 2; i++) {
        struct orch_instance_rec in = {.struct_size = sizeof in, .state = insts[i].state,
                                       .id = insts[i].id, .backend = "local",
                                       .run_id = "cf-ret-a", .labels_json = "{}",
                                       .created_ns = ST_RET_T0, .updated_ns = ST_RET_T0,
                                       .last_used_ns = ST_RET_T0};
        st_want(&s, s.vt->instance_put(s.h, &in, &s.err), ORCH_OK, "instance_put");
    }
    char got[300];
    const int64_t from = ST_RET_T0 - 1;
    if (!st_ret_list(&s, 0, "", from, 0, got, sizeof got) &&
        strcmp(got, "cf-ret-a cf-ret-b cf-ret-c"))
        cf_fail(c, "run_list_ended before T0+500: '%s' (want the ended runs, oldest first: "
                   "cf-ret-a cf-ret-b cf-ret-c; never a running, queued, waiting or newer one)",
                got);
    if (!st_ret_list(&s, ORCH_RUN_FAILED, "", from, 0, got, sizeof got) &&
        strcmp(got, "cf-ret-b"))
        cf_fail(c, "run_list_ended of failed runs: '%s' (want cf-ret-b)", got);
    if (!st_ret_list(&s, 0, "cf-ret-a", ST_RET_T0 + 100, 1, got, sizeof got) &&
        strcmp(got, "cf-ret-b"))
        cf_fail(c, "run_list_ended after (T0+100, cf-ret-a), limit 1: '%s' (want cf-ret-b)",
                got);
    struct st_ret_seen none = {0};
    st_want(&s, s.vt->run_list_ended(s.h, ORCH_RUN_RUNNING, 0, NULL, ST_RET_T0 + 500, 0,
                                     st_on_ret_run, &none, &s.err),
            ORCH_E_INVALID_ARG, "run_list_ended of running runs");
    struct orch_run_purge p = {.struct_size = sizeof p};
    st_want(&s, s.vt->run_delete(s.h, "cf-ret-d", ST_RET_T0 + 500, &p, &s.err), ORCH_E_CONFLICT,
            "run_delete of a running run");
    st_want(&s, s.vt->run_delete(s.h, "cf-ret-f", ST_RET_T0 + 500, &p, &s.err), ORCH_E_CONFLICT,
            "run_delete of a waiting run");
    st_want(&s, s.vt->run_delete(s.h, "cf-ret-g", ST_RET_T0 + 500, &p, &s.err), ORCH_E_CONFLICT,
            "run_delete of a run updated after before_ns");
    st_want(&s, s.vt->run_delete(s.h, "cf-ret-none", ST_RET_T0 + 500, &p, &s.err),
            ORCH_E_NOT_FOUND, "run_delete of no run");
    if (st_want(&s, s.vt->run_delete(s.h, "cf-ret-a", ST_RET_T0 + 500, &p, &s.err), ORCH_OK,
                "run_delete of an old succeeded run") &&
        (p.attempts != 2 || p.events != 3 || p.log_chunks != 2 || p.log_bytes != 10 ||
         p.instances != 1))
        cf_fail(c, "run_delete counted %llu attempts, %llu events, %llu log chunks of %llu "
                   "bytes, %llu instances (want 2, 3, 2 of 10, 1: the destroyed one)",
                (unsigned long long)p.attempts, (unsigned long long)p.events,
                (unsigned long long)p.log_chunks, (unsigned long long)p.log_bytes,
                (unsigned long long)p.instances);
    struct st_seen g = {0};
    st_want(&s, s.vt->run_get(s.h, "cf-ret-a", st_on_run, &g, &s.err), ORCH_E_NOT_FOUND,
            "run_get of a deleted run");
    int att = 0, ev = 0, logs = 0, inst = 0, ev_g = 0;
    st_want(&s, s.vt->attempt_list(s.h, "cf-ret-a", st_count_att, &att, &s.err), ORCH_OK,
            "attempt_list");
    st_want(&s, s.vt->event_list(s.h, "cf-ret-a", 0, 0, st_count_ev, &ev, &s.err), ORCH_OK,
            "event_list");
    st_want(&s, s.vt->log_read(s.h, "cf-ret-a", NULL, 0, 0, st_count_log, &logs, &s.err),
            ORCH_OK, "log_read");
    st_want(&s, s.vt->instance_list(s.h, "cf-ret-a", st_count_inst, &inst, &s.err), ORCH_OK,
            "instance_list");
    st_want(&s, s.vt->event_list(s.h, "cf-ret-g", 0, 0, st_count_ev, &ev_g, &s.err), ORCH_OK,
            "event_list");
    if (g.n || att || ev || logs || inst != 1 || ev_g != 1)
        cf_fail(c, "after run_delete: run found %d, %d attempts, %d events, %d log chunks, "
                   "%d instance rows (want 0, 0, 0, 0 and 1: the running instance's row "
                   "stays); another run's events %d (want 1)", g.n, att, ev, logs, inst, ev_g);
    st_want(&s, s.vt->run_delete(s.h, "cf-ret-a", ST_RET_T0 + 500, NULL, &s.err),
            ORCH_E_NOT_FOUND, "run_delete of a run deleted already");
    if (!st_ret_list(&s, 0, "", from, 0, got, sizeof got) && strcmp(got, "cf-ret-b cf-ret-c"))
        cf_fail(c, "run_list_ended after the delete: '%s' (want cf-ret-b cf-ret-c)", got);
    uint64_t freed = 0;
    if (s.vt->reclaim)
        st_want(&s, s.vt->reclaim(s.h, &freed, &s.err), ORCH_OK, "reclaim");
    st_close(&s);
}

static void st_torture(struct cf *c)
{
    cf_torture(c, "open, migrate, run_create, run_get, close", st_torture_once, NULL);
}

const struct cf_case cf_store_cases[] = {
    {"store/schema-and-migrate", ORCH_STORE_CAP_RUNS, 0, st_schema},
    {"store/runs-idempotency-cas", ORCH_STORE_CAP_RUNS | ORCH_STORE_CAP_CAS, 0, st_runs},
    {"store/ledger-order", ORCH_STORE_CAP_RUNS, 0, st_ledger},
    {"store/run-stats", ORCH_STORE_CAP_STATS, 0, st_run_stats},
    {"store/ticks", ORCH_STORE_CAP_TICKS, 0, st_ticks},
    {"store/retention", ORCH_STORE_CAP_RETENTION, 0, st_retention},
    {"store/logs-binary", ORCH_STORE_CAP_RUNS, 0, st_logs},
    {"store/leases-and-claims", ORCH_STORE_CAP_LEASES, 0, st_leases},
    {"store/blobs", ORCH_STORE_CAP_BLOBS, 0, st_blobs},
    {"store/txn-rollback", ORCH_STORE_CAP_TXN, 0, st_txn},
    {"store/concurrent-processes", ORCH_STORE_CAP_LEASES, 0, st_concurrent},
    {"store/torture", ORCH_STORE_CAP_RUNS, 1, st_torture},
    {NULL, 0, 0, NULL},
};
