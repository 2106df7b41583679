/* store-sqlite through its vtable, as the core uses it: runs, CAS on
 * attempts and runs, idempotency, events, logs, leases, claims, blobs,
 * schema refusal, two handles on one file, and six first opens at once. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "builtins.h"
#include "host.h"
#include "node.h"
#include "options.h"
#include "store.h"
#include "tick_ledger.h"
#include "util.h"
/* White-box: the plugin's statements, for their query plans. */
#include "../../plugins/store-sqlite/sqlite.h"

static const struct orch_plugin_desc *t_desc;
static const struct orch_store_vtable *t_vt;
static char t_dir[64];

struct t_store {
    struct orch_store *h;
    void *cfg;
};

static struct t_store t_open(const char *file)
{
    struct t_store s = {0};
    char *path = oc_xasprintf("%s/%s", t_dir, file);
    struct oc_node *with = oc_node_new(OC_NODE_MAP, NULL);
    oc_node_map_put(with, oc_node_scalar("path", NULL), oc_node_scalar(path, NULL));
    free(path);
    struct oc_diag d = {0};
    assert_int_equal(oc_options_apply(t_desc, "store", with, 0, &s.cfg, &d), 0);
    oc_node_free(with);
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(t_vt->open(&ctx, s.cfg, &s.h, &err), ORCH_OK);
    assert_int_equal(t_vt->migrate(s.h, 0, NULL, &err), ORCH_OK);
    return s;
}

static void t_close(struct t_store *s)
{
    t_vt->close(s->h);
    oc_options_free(t_desc, s->cfg);
}

static int setup(void **state)
{
    (void)state;
    struct orch_error err;
    oc_error_init(&err);
    for (const struct oc_builtin *b = oc_builtins; b->id; b++)
        if (!strcmp(b->id, "store-sqlite"))
            assert_int_equal(b->entry(oc_host(), &t_desc, &err), ORCH_OK);
    assert_non_null(t_desc);
    t_vt = t_desc->vtable;
    snprintf(t_dir, sizeof t_dir, "/tmp/orch-sq-XXXXXX");
    assert_non_null(mkdtemp(t_dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    oc_rm_rf(t_dir);
    return 0;
}

static struct orch_run_rec t_run(const char *id, const char *key, int64_t created)
{
    return (struct orch_run_rec){.struct_size = sizeof(struct orch_run_rec),
                                 .state = ORCH_RUN_RUNNING, .id = id, .workflow = "w",
                                 .idempotency_key = key, .inputs_json = "{}", .source = "src",
                                 .source_path = "f.yaml", .created_ns = created,
                                 .updated_ns = created};
}

static int32_t t_collect_ids(void *ud, const struct orch_run_rec *r)
{
    struct oc_buf *b = ud;
    oc_buf_addf(b, "%s:%s,", r->id, orch_run_state_name(r->state));
    return 0;
}

static void test_runs_and_idempotency(void **state)
{
    (void)state;
    struct t_store s = t_open("runs.db");
    struct orch_error err;
    oc_error_init(&err);
    struct orch_run_rec a = t_run("r-a", "key-1", 1), b = t_run("r-b", NULL, 2);
    assert_int_equal(t_vt->run_create(s.h, &a, NULL, NULL, &err), ORCH_OK);
    assert_int_equal(t_vt->run_create(s.h, &b, NULL, NULL, &err), ORCH_OK);
    struct orch_run_rec dup = t_run("r-c", "key-1", 3);
    struct oc_buf got = {0};
    assert_int_equal(t_vt->run_create(s.h, &dup, t_collect_ids, &got, &err), ORCH_E_EXISTS);
    assert_string_equal(got.data, "r-a:running,");
    oc_buf_free(&got);
    oc_error_clear(&err);
    /* newest first, filters */
    struct orch_run_filter f = {.struct_size = sizeof f};
    assert_int_equal(t_vt->run_list(s.h, &f, t_collect_ids, &got, &err), ORCH_OK);
    assert_string_equal(got.data, "r-b:running,r-a:running,");
    oc_buf_free(&got);
    /* CAS: wrong expected state conflicts, right one succeeds */
    assert_int_equal(t_vt->run_cas(s.h, "r-a", ORCH_RUN_QUEUED, NULL, ORCH_RUN_FAILED, "x", 5,
                                   &err), ORCH_E_CONFLICT);
    oc_error_clear(&err);
    assert_int_equal(t_vt->run_cas(s.h, "r-a", ORCH_RUN_RUNNING, NULL, ORCH_RUN_SUCCEEDED, NULL,
                                   5, &err), ORCH_OK);
    assert_int_equal(t_vt->run_cas(s.h, "nope", 0, NULL, ORCH_RUN_FAILED, NULL, 5, &err),
                     ORCH_E_NOT_FOUND);
    oc_error_clear(&err);
    f.state = ORCH_RUN_SUCCEEDED;
    assert_int_equal(t_vt->run_list(s.h, &f, t_collect_ids, &got, &err), ORCH_OK);
    assert_string_equal(got.data, "r-a:succeeded,");
    oc_buf_free(&got);
    t_close(&s);
}

static int32_t t_collect_att(void *ud, const struct orch_attempt_rec *a)
{
    oc_buf_addf(ud, "%s#%u:%s:%s,", a->step_id, a->attempt, orch_step_state_name(a->state),
                a->outputs_json ? a->outputs_json : "-");
    return 0;
}

static void test_attempt_cas(void **state)
{
    (void)state;
    struct t_store s = t_open("att.db");
    struct orch_error err;
    oc_error_init(&err);
    struct orch_run_rec r = t_run("r-1", NULL, 1);
    assert_int_equal(t_vt->run_create(s.h, &r, NULL, NULL, &err), ORCH_OK);
    struct orch_attempt_rec a = {.struct_size = sizeof a, .state = ORCH_STEP_RUNNING,
                                 .run_id = "r-1", .step_id = "build", .attempt = 1,
                                 .exit_code = -1, .started_ns = 10};
    assert_int_equal(t_vt->attempt_cas(s.h, &a, 0, &err), ORCH_OK);
    assert_int_equal(t_vt->attempt_cas(s.h, &a, 0, &err), ORCH_E_EXISTS);
    oc_error_clear(&err);
    a.state = ORCH_STEP_SUCCEEDED;
    a.outputs_json = "{\"sha\":\"1\"}";
    /* Only from RUNNING: a second writer that thinks it is PENDING loses. */
    assert_int_equal(t_vt->attempt_cas(s.h, &a, ORCH_STEP_PENDING, &err), ORCH_E_CONFLICT);
    oc_error_clear(&err);
    assert_int_equal(t_vt->attempt_cas(s.h, &a, ORCH_STEP_RUNNING, &err), ORCH_OK);
    /* A writer whose owner does not own the run loses. */
    a.owner = "daemon-2";
    a.state = ORCH_STEP_FAILED;
    assert_int_equal(t_vt->attempt_cas(s.h, &a, ORCH_STEP_SUCCEEDED, &err), ORCH_E_CONFLICT);
    oc_error_clear(&err);
    struct oc_buf got = {0};
    assert_int_equal(t_vt->attempt_list(s.h, "r-1", t_collect_att, &got, &err), ORCH_OK);
    assert_string_equal(got.data, "build#1:succeeded:{\"sha\":\"1\"},");
    oc_buf_free(&got);
    t_close(&s);
}

static int32_t t_collect_log(void *ud, const struct orch_log_rec *l)
{
    oc_buf_add(ud, l->data, l->len);
    return 0;
}

static int32_t t_collect_ev(void *ud, const struct orch_event_rec *e)
{
    oc_buf_addf(ud, "%lld:%s,", (long long)e->seq, e->type);
    return 0;
}

static void test_events_and_logs(void **state)
{
    (void)state;
    struct t_store s = t_open("ev.db");
    struct orch_error err;
    oc_error_init(&err);
    int64_t seq1 = 0, seq2 = 0;
    assert_int_equal(t_vt->event_append(s.h, "r", "a", "{}", 1, &seq1, &err), ORCH_OK);
    assert_int_equal(t_vt->event_append(s.h, "r", "b", "{}", 2, &seq2, &err), ORCH_OK);
    assert_true(seq2 > seq1);
    struct oc_buf got = {0};
    assert_int_equal(t_vt->event_list(s.h, "r", seq1, 0, t_collect_ev, &got, &err), ORCH_OK);
    char want[32];
    snprintf(want, sizeof want, "%lld:b,", (long long)seq2);
    assert_string_equal(got.data, want);
    oc_buf_free(&got);
    const char bin[] = {'o', 0, 'k'};
    assert_int_equal(t_vt->log_append(s.h, "r", "s", 1, 1, "hello ", 6, 1, &err), ORCH_OK);
    assert_int_equal(t_vt->log_append(s.h, "r", "s", 1, 2, bin, 3, 2, &err), ORCH_OK);
    assert_int_equal(t_vt->log_append(s.h, "r", "s", 2, 1, "other", 5, 3, &err), ORCH_OK);
    assert_int_equal(t_vt->log_read(s.h, "r", "s", 1, 0, t_collect_log, &got, &err), ORCH_OK);
    assert_int_equal(got.len, 9);
    assert_memory_equal(got.data, "hello o\0k", 9);
    oc_buf_free(&got);
    t_close(&s);
}

static void test_leases_and_claims(void **state)
{
    (void)state;
    struct t_store s = t_open("lease.db");
    struct orch_error err;
    oc_error_init(&err);
    int64_t exp;
    assert_int_equal(t_vt->lease_acquire(s.h, "sched", "a", 1000, 0, &exp, &err), ORCH_OK);
    assert_int_equal(exp, 1000 * 1000000LL);
    assert_int_equal(t_vt->lease_acquire(s.h, "sched", "b", 1000, 500, &exp, &err),
                     ORCH_E_CONFLICT);
    assert_non_null(strstr(err.message, "held by a"));
    oc_error_clear(&err);
    /* expired: b takes over */
    assert_int_equal(t_vt->lease_acquire(s.h, "sched", "b", 1000, 2000000000LL, &exp, &err),
                     ORCH_OK);
    assert_int_equal(t_vt->lease_release(s.h, "sched", "a", &err), ORCH_E_CONFLICT);
    oc_error_clear(&err);
    assert_int_equal(t_vt->lease_release(s.h, "sched", "b", &err), ORCH_OK);
    struct orch_run_rec q = t_run("r-q", NULL, 1);
    q.state = ORCH_RUN_QUEUED;
    assert_int_equal(t_vt->run_create(s.h, &q, NULL, NULL, &err), ORCH_OK);
    struct oc_buf got = {0};
    assert_int_equal(t_vt->run_claim(s.h, "d1", 1000, 10, t_collect_ids, &got, &err), ORCH_OK);
    assert_string_equal(got.data, "r-q:running,");
    oc_buf_free(&got);
    /* held: nothing to claim until the lease expires */
    assert_int_equal(t_vt->run_claim(s.h, "d2", 1000, 20, t_collect_ids, &got, &err),
                     ORCH_E_NOT_FOUND);
    oc_error_clear(&err);
    assert_int_equal(t_vt->run_heartbeat(s.h, "r-q", "d2", 1000, 30, &err), ORCH_E_CONFLICT);
    oc_error_clear(&err);
    assert_int_equal(t_vt->run_claim(s.h, "d2", 1000, 5000000000LL, t_collect_ids, &got, &err),
                     ORCH_OK);
    assert_string_equal(got.data, "r-q:running,");
    oc_buf_free(&got);
    /* the first owner's heartbeat now fails: it lost the run */
    assert_int_equal(t_vt->run_heartbeat(s.h, "r-q", "d1", 1000, 5000000001LL, &err),
                     ORCH_E_CONFLICT);
    oc_error_clear(&err);
    t_close(&s);
}

/* A claim takes the oldest of the due queued runs and the running runs
 * whose lease expired, whichever the store holds, and each of its picks
 * walks an index: no plan scans the table, and the queued runs are walked
 * in order, never sorted (one query over both scanned and sorted every
 * row: 20 ms a claim at 100,000 queued runs). */
static void test_claim_order_and_plans(void **state)
{
    (void)state;
    struct t_store s = t_open("claims.db");
    struct orch_error err;
    oc_error_init(&err);
    struct orch_run_rec r = t_run("r-old-running", NULL, 5);
    assert_int_equal(t_vt->run_create(s.h, &r, NULL, NULL, &err), ORCH_OK);
    static const char *const q[] = {"r-q-b", "r-q-a", "r-q-late"};
    static const int64_t at[] = {7, 7, 9};
    for (int i = 0; i < 3; i++) {
        struct orch_run_rec x = t_run(q[i], NULL, at[i]);
        x.state = ORCH_RUN_QUEUED;
        assert_int_equal(t_vt->run_create(s.h, &x, NULL, NULL, &err), ORCH_OK);
    }
    /* r-old-running's owner d0 died: its lease expired at 100. It is the
     * oldest (5), then r-q-a and r-q-b (7: by id), then r-q-late (9). */
    struct oc_buf got = {0};
    t_close(&s);
    sqlite3 *db;
    char *path = oc_xasprintf("%s/claims.db", t_dir);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "UPDATE runs SET owner = 'd0', lease_expires_ns = 100 "
                                      "WHERE id = 'r-old-running'", NULL, NULL, NULL), SQLITE_OK);
    s = t_open("claims.db");
    const char *want[] = {"r-old-running:running,", "r-q-a:running,", "r-q-b:running,",
                          "r-q-late:running,"};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(t_vt->run_claim(s.h, "d1", 1000, 1000, t_collect_ids, &got, &err), ORCH_OK);
        assert_string_equal(got.data, want[i]);
        oc_buf_free(&got);
    }
    t_close(&s);
    static const enum sq_stmt picks[] = {SQ_CLAIM_QUEUED, SQ_CLAIM_EXPIRED};
    for (int i = 0; i < 2; i++) {
        char *sql = oc_xasprintf("EXPLAIN QUERY PLAN %s", sq_stmt_text(picks[i]));
        sqlite3_stmt *st;
        assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
        int rows = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            const char *d = (const char *)sqlite3_column_text(st, 3);
            rows++;
            if (!strncmp(d, "SCAN runs", 9) && !strstr(d, "USING INDEX"))
                fail_msg("claim pick %d scans the table: %s", i, d);
            /* The queued pick walks in created order (however many are
             * queued); the expired one sorts only the running runs, which
             * its index on state finds (a daemon's max_runs, not the store). */
            if (i == 0 && !strcmp(d, "USE TEMP B-TREE FOR ORDER BY"))
                fail_msg("the queued pick sorts every queued run: %s", sql);
            if (i == 1 && !strncmp(d, "SEARCH runs", 11) && !strstr(d, "(state=?)"))
                fail_msg("the expired pick is not by state: %s", d);
        }
        assert_true(rows > 0);
        sqlite3_finalize(st);
        free(sql);
    }
    sqlite3_close(db);
    free(path);
}

struct t_src {
    const char *p;
    size_t left;
};

static int64_t t_read(void *ud, void *buf, uint64_t len)
{
    struct t_src *s = ud;
    size_t n = s->left < len ? s->left : (size_t)len;
    memcpy(buf, s->p, n);
    s->p += n;
    s->left -= n;
    return (int64_t)n;
}

static int32_t t_write(void *ud, const void *buf, uint64_t len)
{
    oc_buf_add(ud, buf, (size_t)len);
    return 0;
}

static void test_blobs(void **state)
{
    (void)state;
    struct t_store s = t_open("blob.db");
    struct orch_error err;
    oc_error_init(&err);
    size_t big = 200000;
    char *data = oc_xmalloc(big);
    for (size_t i = 0; i < big; i++)
        data[i] = (char)(i * 7);
    struct t_src src = {data, big};
    assert_int_equal(t_vt->blob_put(s.h, "runs/r1/out.bin", t_read, &src, &err), ORCH_OK);
    struct oc_buf got = {0};
    assert_int_equal(t_vt->blob_get(s.h, "runs/r1/out.bin", t_write, &got, &err), ORCH_OK);
    assert_int_equal(got.len, big);
    assert_memory_equal(got.data, data, big);
    oc_buf_free(&got);
    assert_int_equal(t_vt->blob_put(s.h, "../escape", t_read, &src, &err), ORCH_E_INVALID_ARG);
    oc_error_clear(&err);
    assert_int_equal(t_vt->blob_delete(s.h, "runs/r1/out.bin", &err), ORCH_OK);
    assert_int_equal(t_vt->blob_get(s.h, "runs/r1/out.bin", t_write, &got, &err),
                     ORCH_E_NOT_FOUND);
    oc_error_clear(&err);
    free(data);
    t_close(&s);
}

static void test_newer_schema_refused_and_two_handles(void **state)
{
    (void)state;
    struct t_store a = t_open("shared.db"), b = t_open("shared.db");
    struct orch_error err;
    oc_error_init(&err);
    struct orch_run_rec r1 = t_run("r-1", NULL, 1), r2 = t_run("r-2", NULL, 2);
    assert_int_equal(t_vt->run_create(a.h, &r1, NULL, NULL, &err), ORCH_OK);
    assert_int_equal(t_vt->run_create(b.h, &r2, NULL, NULL, &err), ORCH_OK);
    struct oc_buf got = {0};
    struct orch_run_filter f = {.struct_size = sizeof f};
    assert_int_equal(t_vt->run_list(a.h, &f, t_collect_ids, &got, &err), ORCH_OK);
    assert_string_equal(got.data, "r-2:running,r-1:running,");
    oc_buf_free(&got);
    t_close(&a);
    t_close(&b);
    /* A database from a newer orch is refused, not mangled. */
    char *path = oc_xasprintf("%s/shared.db", t_dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    free(path);
    struct t_store c = {0};
    struct oc_node *with = oc_node_new(OC_NODE_MAP, NULL);
    char *p2 = oc_xasprintf("%s/shared.db", t_dir);
    oc_node_map_put(with, oc_node_scalar("path", NULL), oc_node_scalar(p2, NULL));
    free(p2);
    struct oc_diag d = {0};
    assert_int_equal(oc_options_apply(t_desc, "store", with, 0, &c.cfg, &d), 0);
    oc_node_free(with);
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    assert_int_equal(t_vt->open(&ctx, c.cfg, &c.h, &err), ORCH_OK);
    assert_int_equal(t_vt->migrate(c.h, 0, NULL, &err), ORCH_E_CONFIG);
    assert_non_null(strstr(err.message, "newer"));
    oc_error_clear(&err);
    t_close(&c);
}

/* Six processes open one fresh file at the same moment, as `orch run`s
 * started together on a new state directory do: every one must get a
 * store (SQLite answers the WAL switch with an immediate SQLITE_BUSY that
 * the plugin must ride out), and the schema must come out whole. */
static void test_concurrent_first_open(void **state)
{
    (void)state;
    enum { ROUNDS = 30, OPENERS = 6 };
    for (int round = 0; round < ROUNDS; round++) {
        char *path = oc_xasprintf("%s/fresh-%d.db", t_dir, round);
        struct oc_node *with = oc_node_new(OC_NODE_MAP, NULL);
        oc_node_map_put(with, oc_node_scalar("path", NULL), oc_node_scalar(path, NULL));
        void *cfg = NULL;
        struct oc_diag d = {0};
        assert_int_equal(oc_options_apply(t_desc, "store", with, 0, &cfg, &d), 0);
        oc_node_free(with);
        int go[2];
        assert_int_equal(pipe(go), 0);
        pid_t kids[OPENERS];
        for (int i = 0; i < OPENERS; i++) {
            kids[i] = fork();
            assert_true(kids[i] >= 0);
            if (kids[i] == 0) {
                close(go[1]);
                char c;
                if (read(go[0], &c, 1) != 0)
                    _exit(9);
                struct orch_ctx ctx;
                oc_ctx_init(&ctx, "test");
                struct orch_error err;
                oc_error_init(&err);
                struct orch_store *h = NULL;
                if (t_vt->open(&ctx, cfg, &h, &err) != ORCH_OK) {
                    fprintf(stderr, "open: %s\n", err.message);
                    _exit(1);
                }
                if (t_vt->migrate(h, 0, NULL, &err) != ORCH_OK) {
                    fprintf(stderr, "migrate: %s\n", err.message);
                    _exit(2);
                }
                t_vt->close(h);
                _exit(0);
            }
        }
        close(go[0]);
        close(go[1]); /* every child's read returns 0 now: all start together */
        for (int i = 0; i < OPENERS; i++) {
            int status = 0;
            assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
            assert_true(WIFEXITED(status));
            assert_int_equal(WEXITSTATUS(status), 0);
        }
        struct orch_ctx ctx;
        oc_ctx_init(&ctx, "test");
        struct orch_error err;
        oc_error_init(&err);
        struct orch_store *h = NULL;
        assert_int_equal(t_vt->open(&ctx, cfg, &h, &err), ORCH_OK);
        int32_t cur = 0, sup = 0;
        assert_int_equal(t_vt->schema_version(h, &cur, &sup, &err), ORCH_OK);
        assert_int_equal(cur, sup);
        t_vt->close(h);
        oc_options_free(t_desc, cfg);
        free(path);
    }
}

/* The core's tick ledger: through the store's slots when it declares
 * CAP_TICKS, "more" when the limit cut the answer; UNSUPPORTED naming the
 * store when it does not (an ABI 1.1 store), whatever its vtable holds.
 * And the one reading of "since". */
static void test_tick_ledger_core(void **state)
{
    (void)state;
    struct t_store s = t_open("ticks.db");
    struct oc_plugin p = {.id = "store-sqlite", .desc = t_desc};
    struct oc_store st = {.plugin = &p, .vt = t_vt, .h = s.h};
    struct orch_error err;
    oc_error_init(&err);
    assert_true(oc_store_has_ticks(&st));
    struct orch_tick_rec t = {.struct_size = sizeof t, .owner = "w", .started_ns = 5,
                              .claimed = 2};
    assert_int_equal(oc_store_tick_append(&st, &t, &err), ORCH_OK);
    json_t *doc;
    assert_int_equal(oc_tick_list_json(&st, 0, 1, &doc, &err), ORCH_OK);
    assert_int_equal(json_array_size(json_object_get(doc, "ticks")), 1);
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(doc, "ticks"), 0), "claimed")), 2);
    assert_true(json_is_false(json_object_get(doc, "more")));
    json_decref(doc);
    t.started_ns = 6;
    assert_int_equal(oc_store_tick_append(&st, &t, &err), ORCH_OK);
    assert_int_equal(oc_tick_list_json(&st, 0, 1, &doc, &err), ORCH_OK);
    assert_true(json_is_true(json_object_get(doc, "more")));
    json_decref(doc);
    assert_int_equal(oc_tick_list_json(&st, 0, 0, &doc, &err), ORCH_E_INVALID_ARG);
    assert_null(doc);
    oc_error_clear(&err);

    struct orch_plugin_desc d11 = *t_desc;
    d11.caps &= ~ORCH_STORE_CAP_TICKS;
    p.desc = &d11;
    assert_false(oc_store_has_ticks(&st));
    assert_int_equal(oc_tick_list_json(&st, 0, 5, &doc, &err), ORCH_E_UNSUPPORTED);
    assert_non_null(strstr(err.message, "store sqlite keeps no tick ledger"));
    oc_error_clear(&err);
    assert_int_equal(oc_store_tick_append(&st, &t, &err), ORCH_E_UNSUPPORTED);
    oc_error_clear(&err);
    t_close(&s);

    int64_t now = 1796310000LL * 1000000000, at;
    assert_int_equal(oc_tick_since_parse("10m", now, &at), 0);
    assert_int_equal(at, now - 600LL * 1000000000);
    assert_int_equal(oc_tick_since_parse("2026-12-03T14:00:00Z", now, &at), 0);
    assert_int_equal(at, 1796306400LL * 1000000000);
    assert_int_equal(oc_tick_since_parse("2026-12-03T14:00:00.000000042Z", now, &at), 0);
    assert_int_equal(at, 1796306400LL * 1000000000 + 42);
    char text[40];
    oc_fmt_utc_time(text, sizeof text, 1796306400LL * 1000000000 + 42);
    assert_string_equal(text, "2026-12-03T14:00:00.000000042Z");
    const char *bad[] = {"", "x", "-5m", "2099-01-01T00:00:00Z", "2026-12-03T14:00:00+01:00",
                         "100000d", "2026-12-03T14:00:00.Z", "2026-12-03T14:00:00.1234567891Z",
                         " 2026-12-03T14:00:00Z", "2026-12-3T14:00:00Z", "2026-12-03T4:00:00Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(oc_tick_since_parse(bad[i], now, &at), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_runs_and_idempotency),
        cmocka_unit_test(test_attempt_cas),
        cmocka_unit_test(test_events_and_logs),
        cmocka_unit_test(test_leases_and_claims),
        cmocka_unit_test(test_claim_order_and_plans),
        cmocka_unit_test(test_blobs),
        cmocka_unit_test(test_newer_schema_refused_and_two_handles),
        cmocka_unit_test(test_concurrent_first_open),
        cmocka_unit_test(test_tick_ledger_core),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
