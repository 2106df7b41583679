/* store-sqlite: the embedded default store. One SQLite file in WAL mode,
 * so `orch runs` can read while a run writes; every statement prepared
 * once per handle. */
#define _POSIX_C_SOURCE 200809L /* clock_gettime, nanosleep */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "sq.h"

const struct orch_host *sq_host;

static const char *const sq_sync_values[] = {"normal", "full", NULL};

static const struct orch_option sq_options[] = {
    ORCH_OPTION(struct sq_cfg, path, "path", ORCH_OPT_PATH, 0, NULL,
                "database file (default: <state dir>/orch.db)"),
    ORCH_OPTION(struct sq_cfg, busy_timeout_ms, "busy_timeout", ORCH_OPT_DURATION, 0, "5s",
                "how long a writer waits for another process's lock"),
    ORCH_OPTION_ENUM(struct sq_cfg, synchronous, "synchronous", 0, "normal", sq_sync_values,
                     "fsync policy: normal (durable across process crashes) or full (also "
                     "power loss)"),
};

static const char *const sq_sql[SQ_STMT_COUNT_] = {
    [SQ_RUN_INSERT] = "INSERT INTO runs(id, workflow, state, idempotency_key, inputs_json, "
                      "source, source_path, owner, error, created_ns, updated_ns, "
                      "lease_expires_ns, not_before_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?)",
    [SQ_RUN_GET] = "SELECT * FROM runs WHERE id = ?",
    [SQ_RUN_BY_KEY] = "SELECT * FROM runs WHERE idempotency_key = ?",
    [SQ_RUN_LIST] = "SELECT * FROM runs WHERE (?1 = 0 OR state = ?1) AND (?2 IS NULL OR "
                    "workflow = ?2) AND created_ns > ?3 ORDER BY created_ns DESC, id DESC "
                    "LIMIT ?4",
    [SQ_RUN_CAS] = "UPDATE runs SET state = ?1, error = ?2, updated_ns = ?3 WHERE id = ?4 "
                   "AND (?5 = 0 OR state = ?5) AND (?6 IS NULL OR owner = ?6)",
    [SQ_RUN_EXISTS] = "SELECT state, owner FROM runs WHERE id = ?",
    [SQ_ATT_INSERT] = "INSERT INTO attempts(run_id, step_id, attempt, state, exit_code, "
                      "owner, instance_id, outputs_json, error, status, started_ns, "
                      "finished_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
    [SQ_ATT_UPDATE] = "UPDATE attempts SET state = ?4, exit_code = ?5, owner = ?6, "
                      "instance_id = ?7, outputs_json = ?8, error = ?9, status = ?10, "
                      "started_ns = ?11, finished_ns = ?12 WHERE run_id = ?1 AND step_id = "
                      "?2 AND attempt = ?3 AND state = ?13 AND (SELECT owner FROM runs "
                      "WHERE id = ?1) IS ?6",
    [SQ_ATT_LIST] = "SELECT * FROM attempts WHERE run_id = ? ORDER BY step_id, attempt",
    [SQ_EV_INSERT] = "INSERT INTO events(run_id, type, data_json, ts_ns) VALUES(?,?,?,?)",
    [SQ_EV_LIST] = "SELECT seq, run_id, type, data_json, ts_ns FROM events WHERE (?1 IS NULL "
                   "OR run_id = ?1) AND seq > ?2 ORDER BY seq LIMIT ?3",
    [SQ_LOG_INSERT] = "INSERT INTO logs(run_id, step_id, attempt, stream, data, ts_ns) "
                      "VALUES(?,?,?,?,?,?)",
    [SQ_LOG_READ] = "SELECT seq, stream, data, ts_ns FROM logs WHERE run_id = ? AND step_id "
                    "= ? AND attempt = ? AND seq > ? ORDER BY seq",
    [SQ_LOG_READ_ALL] = "SELECT seq, stream, data, ts_ns FROM logs WHERE run_id = ? AND "
                        "seq > ? ORDER BY seq",
    [SQ_INST_PUT] = "INSERT OR REPLACE INTO instances(id, state, backend, run_id, "
                    "backend_id, handle, labels_json, owner, created_ns, updated_ns, "
                    "last_used_ns) VALUES(?,?,?,?,?,?,?,?,?,?,?)",
    [SQ_INST_LIST] = "SELECT * FROM instances WHERE run_id = ? ORDER BY created_ns, id",
    [SQ_INST_LIST_ALL] = "SELECT * FROM instances ORDER BY created_ns, id",
    [SQ_INST_DELETE] = "DELETE FROM instances WHERE id = ?",
    [SQ_FLAG_SET] = "INSERT OR REPLACE INTO flags(name, value) VALUES(?,?)",
    [SQ_FLAG_DELETE] = "DELETE FROM flags WHERE name = ?",
    [SQ_FLAG_LIST] = "SELECT name, value FROM flags ORDER BY name",
    [SQ_LEASE_ACQUIRE] = "INSERT INTO leases(name, owner, expires_ns) VALUES(?1, ?2, ?3) "
                         "ON CONFLICT(name) DO UPDATE SET owner = ?2, expires_ns = ?3 "
                         "WHERE leases.owner = ?2 OR leases.expires_ns <= ?4",
    [SQ_LEASE_GET] = "SELECT owner, expires_ns FROM leases WHERE name = ?",
    [SQ_LEASE_RELEASE] = "DELETE FROM leases WHERE name = ? AND owner = ?",
    [SQ_LEASE_LIST] = "SELECT name, owner, expires_ns FROM leases ORDER BY name",
    [SQ_CLAIM_PICK] = "SELECT id FROM runs WHERE (state = 1 AND not_before_ns <= ?1) OR "
                      "(state = 2 AND owner IS NOT NULL AND lease_expires_ns <= ?1) ORDER "
                      "BY created_ns, id LIMIT 1",
    [SQ_CLAIM_TAKE] = "UPDATE runs SET owner = ?2, lease_expires_ns = ?3, state = 2, "
                      "updated_ns = ?4 WHERE id = ?1",
    [SQ_HEARTBEAT] = "UPDATE runs SET lease_expires_ns = ?3 WHERE id = ?1 AND owner = ?2",
    [SQ_RELEASE_RUN] = "UPDATE runs SET owner = NULL, lease_expires_ns = 0 WHERE id = ?1 "
                       "AND owner = ?2",
    [SQ_BLOB_PUT] = "INSERT OR REPLACE INTO blobs(key, data, size) VALUES(?,?,?)",
    [SQ_BLOB_GET] = "SELECT data FROM blobs WHERE key = ?",
    [SQ_BLOB_DELETE] = "DELETE FROM blobs WHERE key = ?",
    /* run_counts is kept by triggers; the queued run's age comes from the
     * partial index runs_queued_created (schema 2). */
    [SQ_RUN_STATS] = "SELECT state, n, CASE WHEN state = 1 THEN (SELECT min(created_ns) FROM "
                     "runs WHERE state = 1) END FROM run_counts",
    [SQ_BLOB_LIST] = "SELECT key, size FROM blobs WHERE substr(key, 1, length(?1)) = ?1 "
                     "ORDER BY key",
};

orch_status sq_fail(struct orch_store *st, struct orch_error *err, const char *what)
{
    int code = sqlite3_errcode(st->db);
    orch_status rc = code == SQLITE_BUSY || code == SQLITE_LOCKED ? ORCH_E_TRANSIENT
                     : code == SQLITE_CONSTRAINT                   ? ORCH_E_EXISTS
                     : code == SQLITE_NOMEM                        ? ORCH_E_NOMEM
                                                                   : ORCH_E_IO;
    return sq_host->error_set(err, rc, "sqlite: %s: %s", what, sqlite3_errmsg(st->db));
}

void sq_settle(struct orch_store *st)
{
    if (!st->deferred_sync)
        return;
    char pragma[48];
    snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%s", st->deferred_sync);
    st->deferred_sync = NULL;
    sqlite3_exec(st->db, pragma, NULL, NULL, NULL);
}

sqlite3_stmt *sq_stmt(struct orch_store *st, enum sq_stmt which, struct orch_error *err)
{
    sq_settle(st);
    sqlite3_stmt *s = st->stmt[which];
    if (!s) {
        if (sqlite3_prepare_v3(st->db, sq_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                               &st->stmt[which], NULL) != SQLITE_OK) {
            sq_fail(st, err, "prepare");
            return NULL;
        }
        return st->stmt[which];
    }
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

orch_status sq_exec(struct orch_store *st, const char *sql, struct orch_error *err)
{
    char *msg = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        orch_status rc = sq_host->error_set(err, ORCH_E_IO, "sqlite: %s",
                                            msg ? msg : sqlite3_errmsg(st->db));
        sqlite3_free(msg);
        return rc;
    }
    return ORCH_OK;
}

void sq_bind_text(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, i);
}

const char *sq_col_text(sqlite3_stmt *s, int i)
{
    return (const char *)sqlite3_column_text(s, i);
}

/* sqlite does not create directories; the state dir may be new. */
static void sq_mkdir_parent(const char *path)
{
    char *p = sq_host->strdup(path);
    if (!p)
        return;
    for (char *s = p + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0700);
            *s = '/';
        }
    sq_host->free(p);
}

static void sq_close(struct orch_store *st)
{
    if (!st)
        return;
    for (int i = 0; i < SQ_STMT_COUNT_; i++)
        sqlite3_finalize(st->stmt[i]);
    sqlite3_close(st->db);
    sq_host->free(st);
}

/* Turning a new file to WAL takes an exclusive lock, and SQLite answers
 * SQLITE_BUSY at once, without its busy handler, when another process is
 * creating or converting the same file: two `orch run`s started together
 * on a fresh state directory. The pragmas are idempotent, so they are
 * retried, backing off, for as long as busy_timeout allows. */
static orch_status sq_exec_open_pragmas(struct orch_store *st, const char *pragmas,
                                        int64_t busy_timeout_ms, struct orch_error *err)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    long pause_us = 500;
    for (;;) {
        int code = sqlite3_exec(st->db, pragmas, NULL, NULL, NULL);
        if (code == SQLITE_OK)
            return ORCH_OK;
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t spent_ms = (int64_t)(now.tv_sec - start.tv_sec) * 1000 +
                           (now.tv_nsec - start.tv_nsec) / 1000000;
        if ((code & 0xff) != SQLITE_BUSY || spent_ms >= busy_timeout_ms)
            return sq_host->error_set(err, (code & 0xff) == SQLITE_BUSY ? ORCH_E_TRANSIENT : ORCH_E_IO,
                                      "sqlite: %s", sqlite3_errmsg(st->db));
        struct timespec pause = {0, pause_us * 1000};
        nanosleep(&pause, NULL);
        if (pause_us < 50000)
            pause_us *= 2;
    }
}

static orch_status sq_open(struct orch_ctx *ctx, const void *cfgp, struct orch_store **out,
                           struct orch_error *err)
{
    const struct sq_cfg *cfg = cfgp;
    char *path = NULL;
    if (cfg->path) {
        path = sq_host->strdup(cfg->path);
    } else {
        /* No path: the database lives in orch's state directory. */
        const char *sd = sq_host->ctx_get(ctx, "state_dir");
        if (!sd || !*sd)
            return sq_host->error_set(err, ORCH_E_CONFIG,
                                      "option 'path' is not set and orch gave no state "
                                      "directory to put orch.db in");
        path = sq_host->strdup_printf("%s/orch.db", sd);
    }
    if (!path)
        return sq_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (!*path) {
        sq_host->free(path);
        return sq_host->error_set(err, ORCH_E_CONFIG, "store sqlite: option 'path' is empty");
    }
    sq_mkdir_parent(path);
    struct stat sb;
    int fresh = stat(path, &sb) != 0 || sb.st_size == 0;
    struct orch_store *st = sq_host->calloc(1, sizeof *st);
    if (!st) {
        sq_host->free(path);
        return sq_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                           SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        orch_status rc = sq_host->error_set(err, ORCH_E_IO, "sqlite: cannot open %s: %s",
                                            path, sqlite3_errmsg(st->db));
        sq_host->free(path);
        sq_close(st);
        return rc;
    }
    sqlite3_busy_timeout(st->db, (int)cfg->busy_timeout_ms);
    /* Closing checkpoints the WAL into the database with two fsyncs, half
     * of a short `orch run`; the WAL is a valid part of the database, so
     * the next opener (or the automatic checkpoint) does it instead. */
    sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    const char *sync = cfg->synchronous && !strcmp(cfg->synchronous, "full") ? "FULL" : "NORMAL";
    char pragmas[160];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA synchronous=%s; PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON;",
             fresh ? "OFF" : sync);
    if (fresh)
        st->deferred_sync = sync;
    orch_status rc = sq_exec_open_pragmas(st, pragmas, cfg->busy_timeout_ms, err);
    if (rc != ORCH_OK) {
        sq_host->error_set(err, rc, "sqlite: %s: %s", path, err->message);
        sq_host->free(path);
        sq_close(st);
        return rc;
    }
    sq_host->free(path);
    *out = st;
    return ORCH_OK;
}

static const struct orch_store_vtable sq_vtable = {
    .struct_size = sizeof(struct orch_store_vtable),
    .open = sq_open,
    .close = sq_close,
    .schema_version = sq_schema_version,
    .migrate = sq_migrate,
    .txn_begin = sq_txn_begin,
    .txn_commit = sq_txn_commit,
    .txn_rollback = sq_txn_rollback,
    .run_create = sq_run_create,
    .run_get = sq_run_get,
    .run_list = sq_run_list,
    .run_cas = sq_run_cas,
    .attempt_cas = sq_attempt_cas,
    .attempt_list = sq_attempt_list,
    .event_append = sq_event_append,
    .event_list = sq_event_list,
    .log_append = sq_log_append,
    .log_read = sq_log_read,
    .instance_put = sq_instance_put,
    .instance_list = sq_instance_list,
    .instance_delete = sq_instance_delete,
    .flag_set = sq_flag_set,
    .flag_list = sq_flag_list,
    .lease_acquire = sq_lease_acquire,
    .lease_release = sq_lease_release,
    .lease_list = sq_lease_list,
    .run_claim = sq_run_claim,
    .run_heartbeat = sq_run_heartbeat,
    .blob_put = sq_blob_put,
    .blob_get = sq_blob_get,
    .blob_delete = sq_blob_delete,
    .blob_list = sq_blob_list,
    .run_stats = sq_run_stats,
};

static const struct orch_plugin_desc sq_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STORE,
    .name = "sqlite",
    .version = "1.0.0",
    .description = "embedded SQLite store (WAL): runs, attempts, events, logs, leases, blobs",
    .license = "MIT",
    .caps = ORCH_STORE_CAP_RUNS | ORCH_STORE_CAP_TXN | ORCH_STORE_CAP_LEASES |
            ORCH_STORE_CAP_BLOBS | ORCH_STORE_CAP_CAS | ORCH_STORE_CAP_EMBEDDED |
            ORCH_STORE_CAP_STATS,
    .options = sq_options,
    .option_count = sizeof sq_options / sizeof sq_options[0],
    .config_size = sizeof(struct sq_cfg),
    .vtable_size = sizeof(struct orch_store_vtable),
    .vtable = &sq_vtable,
};

ORCH_PLUGIN_DEFINE(store, sqlite, sq_desc, sq_host)
