/* Versioned schema migrations, each in one transaction under an advisory
 * lock (two processes migrating at once serialise; the second finds the
 * work done), and transactions for the core. */
#include <stdio.h>
#include <string.h>

#include "postgres.h"

/* Identity of the advisory lock: "orch" in ASCII. */
#define PG_MIGRATE_LOCK "1869767528"

static const char *const pg_migrations[] = {
    /* 1 */
    "CREATE TABLE runs(id text PRIMARY KEY, workflow text NOT NULL, state integer NOT NULL,"
    " idempotency_key text UNIQUE, inputs_json text, source text, source_path text,"
    " owner text, error text, created_ns bigint NOT NULL, updated_ns bigint NOT NULL,"
    " lease_expires_ns bigint NOT NULL DEFAULT 0, not_before_ns bigint NOT NULL DEFAULT 0);"
    "CREATE INDEX runs_created ON runs(created_ns);"
    "CREATE INDEX runs_claim ON runs(state, not_before_ns);"
    "CREATE TABLE attempts(run_id text NOT NULL, step_id text NOT NULL,"
    " attempt integer NOT NULL, state integer NOT NULL, exit_code integer NOT NULL,"
    " owner text, instance_id text, outputs_json text, error text, status integer NOT NULL,"
    " started_ns bigint NOT NULL, finished_ns bigint NOT NULL,"
    " PRIMARY KEY(run_id, step_id, attempt));"
    "CREATE TABLE events(seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, run_id text,"
    " type text NOT NULL, data_json text, ts_ns bigint NOT NULL);"
    "CREATE INDEX events_run ON events(run_id, seq);"
    "CREATE TABLE logs(seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " run_id text NOT NULL, step_id text NOT NULL, attempt integer NOT NULL,"
    " stream integer NOT NULL, data bytea NOT NULL, ts_ns bigint NOT NULL);"
    "CREATE INDEX logs_step ON logs(run_id, step_id, attempt, seq);"
    "CREATE TABLE instances(id text PRIMARY KEY, state integer NOT NULL,"
    " backend text NOT NULL, run_id text, backend_id text, handle text, labels_json text,"
    " owner text, created_ns bigint NOT NULL, updated_ns bigint NOT NULL,"
    " last_used_ns bigint NOT NULL);"
    "CREATE INDEX instances_run ON instances(run_id);"
    "CREATE TABLE flags(name text PRIMARY KEY, value text NOT NULL);"
    "CREATE TABLE leases(name text PRIMARY KEY, owner text NOT NULL,"
    " expires_ns bigint NOT NULL);"
    "CREATE TABLE blobs(key text PRIMARY KEY, data bytea NOT NULL, size bigint NOT NULL);",
    /* 2: the reconciler looks for live instances, recovery for the runs
     * of one owner; both scanned whole tables before. */
    "CREATE INDEX instances_live ON instances(state) WHERE state IN (1, 2);"
    "CREATE INDEX runs_owner ON runs(owner) WHERE owner IS NOT NULL;",
    /* 3: the claim's queue, in claim order, holding only queued runs. */
    "CREATE INDEX runs_queue ON runs(created_ns, id COLLATE \"C\") WHERE state = 1;",
    /* 4: the tick ledger (ABI 1.2), read newest first and pruned by age,
     * both along one index. */
    "CREATE TABLE ticks(seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
    " owner text NOT NULL, started_ns bigint NOT NULL, duration_ns bigint NOT NULL,"
    " claimed bigint NOT NULL, dispatched bigint NOT NULL, fired bigint NOT NULL,"
    " requeued bigint NOT NULL, reaped bigint NOT NULL, errors bigint NOT NULL);"
    "CREATE INDEX ticks_started ON ticks(started_ns, seq);",
    /* 5: run retention (ABI 1.3): ended runs found oldest first by state
     * and age. */
    "CREATE INDEX runs_ended ON runs(state, updated_ns, id COLLATE \"C\");",
};

#define PG_SCHEMA (int32_t)(sizeof pg_migrations / sizeof pg_migrations[0])

/* The schema's version: 0 when orch's version table is not there yet. */
static orch_status pg_version_now(struct orch_store *st, int32_t *v, struct orch_error *err)
{
    *v = 0;
    orch_status rc = pg_sql(st, "SELECT 1", err); /* (re)connects when needed */
    if (rc != ORCH_OK)
        return rc;
    PGresult *r = PQexec(st->conn, "SELECT to_regclass('orch_schema') IS NOT NULL");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(st, r, err, "schema version");
        PQclear(r);
        return rc;
    }
    int exists = !strcmp(PQgetvalue(r, 0, 0), "t");
    PQclear(r);
    if (!exists)
        return ORCH_OK;
    r = PQexec(st->conn, "SELECT max(version) FROM orch_schema");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        rc = pg_fail(st, r, err, "schema version");
        PQclear(r);
        return rc;
    }
    *v = (int32_t)pg_int(r, 0, 0);
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_schema_version(struct orch_store *st, int32_t *current, int32_t *supported,
                              struct orch_error *err)
{
    *supported = PG_SCHEMA;
    return pg_version_now(st, current, err);
}

static orch_status pg_newer(struct orch_store *st, int32_t cur, struct orch_error *err)
{
    (void)st;
    return pg_host->error_set(err, ORCH_E_CONFIG,
                              "schema %s has version %d, newer than this orch "
                              "understands (%d): upgrade orch",
                              st->cfg.schema, cur, PG_SCHEMA);
}

orch_status pg_migrate(struct orch_store *st, int32_t dry_run, char **plan,
                       struct orch_error *err)
{
    int32_t cur;
    orch_status rc = pg_version_now(st, &cur, err);
    if (rc != ORCH_OK)
        return rc;
    if (cur > PG_SCHEMA)
        return pg_newer(st, cur, err);
    if (dry_run) {
        char buf[160];
        if (cur == PG_SCHEMA)
            snprintf(buf, sizeof buf, "schema %s: version %d is current", st->cfg.schema, cur);
        else
            snprintf(buf, sizeof buf, "schema %s: migrate version %d -> %d (%d step%s, each "
                     "in a transaction)", st->cfg.schema, cur, PG_SCHEMA, PG_SCHEMA - cur,
                     PG_SCHEMA - cur == 1 ? "" : "s");
        if (plan)
            *plan = pg_host->strdup(buf);
        return ORCH_OK;
    }
    char create[160];
    snprintf(create, sizeof create, "CREATE SCHEMA IF NOT EXISTS %s", st->schema_ident);
    for (;;) {
        if ((rc = pg_sql(st, "BEGIN", err)) != ORCH_OK)
            return rc;
        st->in_txn = 1;
        int32_t v;
        if ((rc = pg_sql(st, "SELECT pg_advisory_xact_lock(" PG_MIGRATE_LOCK ")", err)) ||
            (rc = pg_sql(st, create, err)) ||
            (rc = pg_sql(st, "CREATE TABLE IF NOT EXISTS orch_schema(version integer "
                             "PRIMARY KEY, applied_ns bigint NOT NULL)", err)) ||
            (rc = pg_version_now(st, &v, err)))
            goto fail;
        if (v > PG_SCHEMA) {
            rc = pg_newer(st, v, err);
            goto fail;
        }
        if (v == PG_SCHEMA) {
            st->in_txn = 0;
            return pg_sql(st, "COMMIT", err);
        }
        char mark[160];
        snprintf(mark, sizeof mark,
                 "INSERT INTO orch_schema(version, applied_ns) VALUES(%d, "
                 "(extract(epoch from clock_timestamp()) * 1e9)::bigint)", v + 1);
        if ((rc = pg_sql(st, pg_migrations[v], err)) || (rc = pg_sql(st, mark, err)))
            goto fail;
        st->in_txn = 0;
        if ((rc = pg_sql(st, "COMMIT", err)) != ORCH_OK)
            return rc;
    }
fail:
    st->in_txn = 0;
    PQclear(PQexec(st->conn, "ROLLBACK"));
    return rc;
}

orch_status pg_txn_begin(struct orch_store *st, struct orch_error *err)
{
    if (st->in_txn)
        return pg_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "transaction already open");
    orch_status rc = pg_sql(st, "BEGIN", err);
    st->in_txn = rc == ORCH_OK;
    return rc;
}

orch_status pg_txn_commit(struct orch_store *st, struct orch_error *err)
{
    st->in_txn = 0;
    return pg_sql(st, "COMMIT", err);
}

orch_status pg_txn_rollback(struct orch_store *st, struct orch_error *err)
{
    st->in_txn = 0;
    /* A connection lost inside the transaction rolled it back already. */
    if (!st->conn || PQstatus(st->conn) != CONNECTION_OK)
        return ORCH_OK;
    return pg_sql(st, "ROLLBACK", err);
}
