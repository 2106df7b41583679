/* Schema migrations, keyed on PRAGMA user_version; and transactions. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

static const char *const sq_migrations[] = {
    /* 1 */
    "CREATE TABLE runs(id TEXT PRIMARY KEY, workflow TEXT NOT NULL, state INTEGER NOT NULL,"
    " idempotency_key TEXT UNIQUE, inputs_json TEXT, source TEXT, source_path TEXT,"
    " owner TEXT, error TEXT, created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL,"
    " lease_expires_ns INTEGER NOT NULL DEFAULT 0, not_before_ns INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX runs_created ON runs(created_ns);"
    "CREATE INDEX runs_claim ON runs(state, not_before_ns);"
    "CREATE TABLE attempts(run_id TEXT NOT NULL, step_id TEXT NOT NULL,"
    " attempt INTEGER NOT NULL, state INTEGER NOT NULL, exit_code INTEGER NOT NULL,"
    " owner TEXT, instance_id TEXT, outputs_json TEXT, error TEXT, status INTEGER NOT NULL,"
    " started_ns INTEGER NOT NULL, finished_ns INTEGER NOT NULL,"
    " PRIMARY KEY(run_id, step_id, attempt));"
    "CREATE TABLE events(seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT,"
    " type TEXT NOT NULL, data_json TEXT, ts_ns INTEGER NOT NULL);"
    "CREATE INDEX events_run ON events(run_id, seq);"
    "CREATE TABLE logs(seq INTEGER PRIMARY KEY AUTOINCREMENT, run_id TEXT NOT NULL,"
    " step_id TEXT NOT NULL, attempt INTEGER NOT NULL, stream INTEGER NOT NULL,"
    " data BLOB NOT NULL, ts_ns INTEGER NOT NULL);"
    "CREATE INDEX logs_step ON logs(run_id, step_id, attempt, seq);"
    "CREATE TABLE instances(id TEXT PRIMARY KEY, state INTEGER NOT NULL,"
    " backend TEXT NOT NULL, run_id TEXT, backend_id TEXT, handle TEXT, labels_json TEXT,"
    " owner TEXT, created_ns INTEGER NOT NULL, updated_ns INTEGER NOT NULL,"
    " last_used_ns INTEGER NOT NULL);"
    "CREATE INDEX instances_run ON instances(run_id);"
    "CREATE TABLE flags(name TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE leases(name TEXT PRIMARY KEY, owner TEXT NOT NULL,"
    " expires_ns INTEGER NOT NULL);"
    "CREATE TABLE blobs(key TEXT PRIMARY KEY, data BLOB NOT NULL, size INTEGER NOT NULL);",
    /* 2: run_stats without a scan. Counts by state kept by triggers (one
     * writer at a time in SQLite, so the counter rows are never contended),
     * and the oldest queued run from a partial index. */
    "CREATE TABLE run_counts(state INTEGER PRIMARY KEY, n INTEGER NOT NULL);"
    "INSERT INTO run_counts SELECT state, count(*) FROM runs GROUP BY state;"
    "CREATE TRIGGER runs_count_ins AFTER INSERT ON runs BEGIN"
    " INSERT INTO run_counts VALUES(NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;"
    " END;"
    "CREATE TRIGGER runs_count_del AFTER DELETE ON runs BEGIN"
    " UPDATE run_counts SET n = n - 1 WHERE state = OLD.state; END;"
    "CREATE TRIGGER runs_count_upd AFTER UPDATE OF state ON runs"
    " WHEN OLD.state IS NOT NEW.state BEGIN"
    " UPDATE run_counts SET n = n - 1 WHERE state = OLD.state;"
    " INSERT INTO run_counts VALUES(NEW.state, 1) ON CONFLICT(state) DO UPDATE SET n = n + 1;"
    " END;"
    "CREATE INDEX runs_queued_created ON runs(created_ns) WHERE state = 1;",
    /* 3: the tick ledger (ABI 1.2), read newest first and pruned by age,
     * both along one index. */
    "CREATE TABLE ticks(seq INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL,"
    " started_ns INTEGER NOT NULL, duration_ns INTEGER NOT NULL, claimed INTEGER NOT NULL,"
    " dispatched INTEGER NOT NULL, fired INTEGER NOT NULL, requeued INTEGER NOT NULL,"
    " reaped INTEGER NOT NULL, errors INTEGER NOT NULL);"
    "CREATE INDEX ticks_started ON ticks(started_ns, seq);",
    /* 4: run retention (ABI 1.3): ended runs found oldest first by state
     * and age. Before this step the file is switched to
     * auto_vacuum=INCREMENTAL by one VACUUM (sq_vacuum_mode_set). */
    "CREATE INDEX runs_ended ON runs(state, updated_ns, id);",
};

/* Schema 4's one-time switch of an older file to auto_vacuum=INCREMENTAL:
 * SQLite changes the mode of a file that has tables only by rewriting it
 * with VACUUM, which cannot run inside a transaction, so it runs before
 * the step's own transaction. It needs free disk space about the size of
 * the file and holds the write lock while it runs (busy_timeout for the
 * others); a file already in that mode (every file made since) is left
 * alone. Failing, the migration stops at schema 3 and is tried again at
 * the next open. */
static orch_status sq_vacuum_mode_set(struct orch_store *st, struct orch_error *err)
{
    sqlite3_stmt *s;
    int mode = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA auto_vacuum", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        mode = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    if (mode == 2)
        return ORCH_OK;
    orch_status rc = sq_exec(st, "PRAGMA auto_vacuum=INCREMENTAL; VACUUM", err);
    if (rc != ORCH_OK)
        return sq_host->error_set(err, rc, "switching the database to auto_vacuum=INCREMENTAL "
                                  "(one VACUUM, schema 4): %s", err->message);
    return ORCH_OK;
}

#define SQ_SCHEMA (int32_t)(sizeof sq_migrations / sizeof sq_migrations[0])

orch_status sq_schema_version(struct orch_store *st, int32_t *current, int32_t *supported,
                              struct orch_error *err)
{
    sqlite3_stmt *s;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
        return sq_fail(st, err, "user_version");
    *current = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int(s, 0) : 0;
    sqlite3_finalize(s);
    *supported = SQ_SCHEMA;
    return ORCH_OK;
}

orch_status sq_migrate(struct orch_store *st, int32_t dry_run, char **plan,
                       struct orch_error *err)
{
    int32_t cur = 0, sup = 0;
    orch_status rc = sq_schema_version(st, &cur, &sup, err);
    if (rc != ORCH_OK)
        return rc;
    if (cur > sup)
        return sq_host->error_set(err, ORCH_E_CONFIG,
                                  "the database has schema %d, newer than this "
                                  "orch understands (%d): upgrade orch",
                                  cur, sup);
    if (dry_run) {
        char buf[128];
        if (cur == sup)
            snprintf(buf, sizeof buf, "schema %d is current", cur);
        else
            snprintf(buf, sizeof buf, "migrate schema %d -> %d%s", cur, sup,
                     cur && cur < 4 ? " (with one VACUUM to auto_vacuum=INCREMENTAL)" : "");
        if (plan)
            *plan = sq_host->strdup(buf);
        return ORCH_OK;
    }
    for (int32_t v = cur; v < sup; v++) {
        if (v == 3 && (rc = sq_vacuum_mode_set(st, err)) != ORCH_OK)
            return rc;
        /* Each step in its own immediate transaction: two processes
         * migrating at once serialise, the second sees the new version. */
        if ((rc = sq_exec(st, "BEGIN IMMEDIATE", err)) != ORCH_OK)
            return rc;
        int32_t again = 0, s2 = 0;
        if ((rc = sq_schema_version(st, &again, &s2, err)) != ORCH_OK)
            goto fail;
        if (again > v)
            goto next;
        if ((rc = sq_exec(st, sq_migrations[v], err)) != ORCH_OK)
            goto fail;
        char pragma[48];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %d", v + 1);
        if ((rc = sq_exec(st, pragma, err)) != ORCH_OK)
            goto fail;
    next:
        if ((rc = sq_exec(st, "COMMIT", err)) != ORCH_OK)
            goto fail;
        continue;
    fail:
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        sq_settle(st);
        return rc;
    }
    sq_settle(st);
    return ORCH_OK;
}

orch_status sq_txn_begin(struct orch_store *st, struct orch_error *err)
{
    if (st->in_txn)
        return sq_host->error_set(err, ORCH_E_INVALID_ARG, "transaction already open");
    sq_settle(st);
    orch_status rc = sq_exec(st, "BEGIN IMMEDIATE", err);
    st->in_txn = rc == ORCH_OK;
    return rc;
}

orch_status sq_txn_commit(struct orch_store *st, struct orch_error *err)
{
    st->in_txn = 0;
    return sq_exec(st, "COMMIT", err);
}

orch_status sq_txn_rollback(struct orch_store *st, struct orch_error *err)
{
    st->in_txn = 0;
    return sq_exec(st, "ROLLBACK", err);
}
