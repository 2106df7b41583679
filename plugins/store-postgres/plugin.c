/* store-postgres: the shared store for several daemons. PostgreSQL does the
 * distributed part: claims are one UPDATE over FOR UPDATE SKIP LOCKED,
 * every completion a compare-and-set, wake-ups LISTEN/NOTIFY. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pg.h"

const struct orch_host *pg_host;

static const struct orch_option pg_options[] = {
    ORCH_OPTION(struct pg_cfg, conninfo, "conninfo", ORCH_OPT_STRING, ORCH_OPTF_SECRET, NULL,
                "a postgresql:// URL or key=value string (may hold a password: a secret); "
                "the options below override its parts"),
    ORCH_OPTION(struct pg_cfg, host, "host", ORCH_OPT_STRING, 0, NULL,
                "server host name, address, or socket directory"),
    ORCH_OPTION(struct pg_cfg, port, "port", ORCH_OPT_INT, 0, NULL, "server port"),
    ORCH_OPTION(struct pg_cfg, dbname, "dbname", ORCH_OPT_STRING, 0, NULL, "database name"),
    ORCH_OPTION(struct pg_cfg, user, "user", ORCH_OPT_STRING, 0, NULL, "role to connect as"),
    ORCH_OPTION(struct pg_cfg, password, "password", ORCH_OPT_STRING, ORCH_OPTF_SECRET, NULL,
                "the role's password: ${{ secrets.NAME }}"),
    ORCH_OPTION(struct pg_cfg, sslmode, "sslmode", ORCH_OPT_STRING, 0, NULL,
                "disable, allow, prefer, require, verify-ca or verify-full"),
    ORCH_OPTION(struct pg_cfg, application_name, "application_name", ORCH_OPT_STRING, 0,
                "orch", "shown in pg_stat_activity"),
    ORCH_OPTION(struct pg_cfg, connect_timeout_ms, "connect_timeout", ORCH_OPT_DURATION, 0,
                "10s", "for each connection attempt"),
    ORCH_OPTION(struct pg_cfg, reconnect_timeout_ms, "reconnect_timeout", ORCH_OPT_DURATION,
                0, "60s",
                "how long a lost connection is retried (with backoff) before an operation "
                "fails"),
    ORCH_OPTION(struct pg_cfg, schema, "schema", ORCH_OPT_STRING, 0, "orch",
                "the schema orch's tables live in (created by orch migrate)"),
};

#define RUN_COLS                                                                         \
    "id, workflow, state, idempotency_key, inputs_json, source, source_path, owner, "    \
    "error, created_ns, updated_ns, lease_expires_ns, not_before_ns"
#define ATT_COLS                                                                         \
    "run_id, step_id, attempt, state, exit_code, owner, instance_id, outputs_json, "     \
    "error, status, started_ns, finished_ns"
#define INST_COLS                                                                        \
    "id, state, backend, run_id, backend_id, handle, labels_json, owner, created_ns, "   \
    "updated_ns, last_used_ns"

/* Text orderings use the C collation: byte order, as the SQLite store and
 * the conformance suite have it, whatever the database's locale. */
static const char *const pg_sql_text[PG_STMT_COUNT_] = {
    [PG_RUN_INSERT] = "INSERT INTO runs(" RUN_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,"
                      "$11,$12,$13) ON CONFLICT DO NOTHING",
    [PG_RUN_GET] = "SELECT " RUN_COLS " FROM runs WHERE id = $1",
    [PG_RUN_BY_KEY] = "SELECT " RUN_COLS " FROM runs WHERE idempotency_key = $1",
    /* Counts from an index-only scan of runs_claim (no counter rows: several
     * daemons would contend on them for every state change); the oldest
     * queued run from the partial index runs_queue. */
    [PG_RUN_STATS] = "SELECT state, count(*), CASE WHEN state = 1 THEN (SELECT min(created_ns) "
                     "FROM runs WHERE state = 1) END FROM runs GROUP BY state",
    [PG_RUN_LIST] = "SELECT " RUN_COLS " FROM runs WHERE ($1::int = 0 OR state = $1) AND "
                    "($2::text IS NULL OR workflow = $2) AND created_ns > $3 ORDER BY "
                    "created_ns DESC, id COLLATE \"C\" DESC LIMIT $4",
    [PG_RUN_CAS] = "UPDATE runs SET state = $1, error = $2, updated_ns = $3 WHERE id = $4 "
                   "AND ($5::int = 0 OR state = $5) AND ($6::text IS NULL OR owner = $6)",
    [PG_RUN_STATE] = "SELECT state, owner, error FROM runs WHERE id = $1",
    [PG_ATT_INSERT] = "INSERT INTO attempts(" ATT_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,"
                      "$10,$11,$12) ON CONFLICT DO NOTHING",
    [PG_ATT_UPDATE] = "UPDATE attempts SET state = $4, exit_code = $5, owner = $6, "
                      "instance_id = $7, outputs_json = $8, error = $9, status = $10, "
                      "started_ns = $11, finished_ns = $12 WHERE run_id = $1 AND step_id = "
                      "$2 AND attempt = $3 AND state = $13 AND (SELECT owner FROM runs WHERE "
                      "id = $1) IS NOT DISTINCT FROM $6::text",
    [PG_ATT_STATE] = "SELECT state, owner, finished_ns FROM attempts WHERE run_id = $1 AND "
                     "step_id = $2 AND attempt = $3",
    [PG_ATT_LIST] = "SELECT " ATT_COLS " FROM attempts WHERE run_id = $1 ORDER BY step_id "
                    "COLLATE \"C\", attempt",
    [PG_EV_INSERT] = "INSERT INTO events(run_id, type, data_json, ts_ns) VALUES($1,$2,$3,$4) "
                     "RETURNING seq",
    /* A run's events and all events apart: one statement with "$1 IS NULL
     * OR run_id = $1" got a generic plan that scanned every event of every
     * run each time a daemon took a run over. */
    [PG_EV_LIST] = "SELECT seq, run_id, type, data_json, ts_ns FROM events WHERE seq > $1 "
                   "ORDER BY seq LIMIT $2",
    [PG_EV_LIST_RUN] = "SELECT seq, run_id, type, data_json, ts_ns FROM events WHERE run_id = "
                       "$1 AND seq > $2 ORDER BY seq LIMIT $3",
    [PG_LOG_INSERT] = "INSERT INTO logs(run_id, step_id, attempt, stream, data, ts_ns) "
                      "VALUES($1,$2,$3,$4,$5,$6)",
    /* Pages (pg_log_read loops): a whole log in one result would sit in
     * the reader's memory. */
    [PG_LOG_READ] = "SELECT seq, stream, data, ts_ns FROM logs WHERE run_id = $1 AND "
                    "step_id = $2 AND attempt = $3 AND seq > $4 ORDER BY seq LIMIT $5",
    [PG_LOG_READ_ALL] = "SELECT seq, stream, data, ts_ns FROM logs WHERE run_id = $1 AND "
                        "seq > $2 ORDER BY seq LIMIT $3",
    [PG_INST_PUT] = "INSERT INTO instances(" INST_COLS ") VALUES($1,$2,$3,$4,$5,$6,$7,$8,$9,"
                    "$10,$11) ON CONFLICT (id) DO UPDATE SET state = EXCLUDED.state, backend "
                    "= EXCLUDED.backend, run_id = EXCLUDED.run_id, backend_id = "
                    "EXCLUDED.backend_id, handle = EXCLUDED.handle, labels_json = "
                    "EXCLUDED.labels_json, owner = EXCLUDED.owner, created_ns = "
                    "EXCLUDED.created_ns, updated_ns = EXCLUDED.updated_ns, last_used_ns = "
                    "EXCLUDED.last_used_ns",
    [PG_INST_LIST] = "SELECT " INST_COLS " FROM instances WHERE run_id = $1 ORDER BY "
                     "created_ns, id COLLATE \"C\"",
    [PG_INST_LIST_ALL] = "SELECT " INST_COLS " FROM instances ORDER BY created_ns, id "
                         "COLLATE \"C\"",
    [PG_INST_DELETE] = "DELETE FROM instances WHERE id = $1",
    [PG_FLAG_SET] = "INSERT INTO flags(name, value) VALUES($1,$2) ON CONFLICT (name) DO "
                    "UPDATE SET value = EXCLUDED.value",
    [PG_FLAG_DELETE] = "DELETE FROM flags WHERE name = $1",
    [PG_FLAG_LIST] = "SELECT name, value FROM flags ORDER BY name COLLATE \"C\"",
    [PG_LEASE_ACQUIRE] = "INSERT INTO leases(name, owner, expires_ns) VALUES($1,$2,$3) ON "
                         "CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, expires_ns = "
                         "EXCLUDED.expires_ns WHERE leases.owner = $2 OR leases.expires_ns <= "
                         "$4",
    [PG_LEASE_GET] = "SELECT owner, expires_ns FROM leases WHERE name = $1",
    [PG_LEASE_RELEASE] = "DELETE FROM leases WHERE name = $1 AND owner = $2",
    [PG_LEASE_LIST] = "SELECT name, owner, expires_ns FROM leases ORDER BY name COLLATE \"C\"",
    /* One statement: the row is locked and re-checked by the subquery
     * (rows other claimers hold are skipped, not waited for). A run whose
     * lease expired comes first (recovery), then the oldest queued run;
     * each is found from its own index (runs_owner, runs_queue): one scan
     * over created_ns for both walked past every finished run, so each
     * claim cost more as the table grew (migration 3). COALESCE evaluates
     * the second only when the first finds nothing. */
    [PG_CLAIM] = "UPDATE runs SET owner = $1, lease_expires_ns = $2, state = 2, updated_ns = "
                 "$3 WHERE id = COALESCE((SELECT id FROM runs WHERE state = 2 AND owner IS NOT "
                 "NULL AND lease_expires_ns <= $3 ORDER BY created_ns, id COLLATE \"C\" LIMIT 1 "
                 "FOR UPDATE SKIP LOCKED), (SELECT id FROM runs WHERE state = 1 AND "
                 "not_before_ns <= $3 ORDER BY created_ns, id COLLATE \"C\" LIMIT 1 FOR UPDATE "
                 "SKIP LOCKED)) RETURNING " RUN_COLS,
    [PG_HEARTBEAT] = "UPDATE runs SET lease_expires_ns = $3 WHERE id = $1 AND owner = $2",
    [PG_RELEASE_RUN] = "UPDATE runs SET owner = NULL, lease_expires_ns = 0 WHERE id = $1 AND "
                       "owner = $2 RETURNING state",
    [PG_BLOB_PUT] = "INSERT INTO blobs(key, data, size) VALUES($1,$2,$3) ON CONFLICT (key) "
                    "DO UPDATE SET data = EXCLUDED.data, size = EXCLUDED.size",
    [PG_BLOB_GET] = "SELECT data FROM blobs WHERE key = $1",
    [PG_BLOB_DELETE] = "DELETE FROM blobs WHERE key = $1",
    [PG_BLOB_LIST] = "SELECT key, size FROM blobs WHERE left(key, length($1)) = $1 ORDER BY "
                     "key COLLATE \"C\"",
    [PG_NOTIFY] = "SELECT pg_notify($1, $2)",
};

void pg_arg_text(struct pg_args *a, const char *v)
{
    a->v[a->n] = v;
    a->len[a->n] = 0;
    a->fmt[a->n] = 0;
    a->n++;
}

void pg_arg_int(struct pg_args *a, int64_t v)
{
    snprintf(a->nums[a->n], sizeof a->nums[a->n], "%lld", (long long)v);
    pg_arg_text(a, a->nums[a->n]);
}

void pg_arg_bytes(struct pg_args *a, const void *data, size_t len)
{
    a->v[a->n] = len ? data : "";
    a->len[a->n] = (int)len;
    a->fmt[a->n] = 1;
    a->n++;
}

const char *pg_state(const PGresult *r)
{
    const char *s = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    return s ? s : "";
}

orch_status pg_fail(struct orch_store *st, const PGresult *r, struct orch_error *err,
                    const char *what)
{
    const char *state = pg_state(r);
    const char *msg = r && *PQresultErrorMessage(r) ? PQresultErrorMessage(r)
                                                      : PQerrorMessage(st->conn);
    /* 23505 unique violation; 40xxx serialization/deadlock; 08xxx and a
     * dead connection: worth trying again. */
    orch_status rc = !strcmp(state, "23505")                ? ORCH_E_EXISTS
                     : !strncmp(state, "40", 2) ||
                             !strncmp(state, "08", 2) ||
                             !strncmp(state, "57P", 3) ||
                             PQstatus(st->conn) != CONNECTION_OK ? ORCH_E_TRANSIENT
                                                                 : ORCH_E_IO;
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' '))
        n--;
    return pg_host->error_set(err, rc, "postgres: %s: %.*s", what, (int)n, msg);
}

const char *pg_text(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) ? NULL : PQgetvalue(r, row, col);
}

static uint64_t pg_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

int64_t pg_int(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col))
        return 0;
    const char *v = PQgetvalue(r, row, col);
    if (PQfformat(r, col) == 1) {
        int len = PQgetlength(r, row, col);
        const unsigned char *p = (const unsigned char *)v;
        if (len == 8)
            return (int64_t)pg_be(p, 8);
        if (len == 4)
            return (int32_t)(uint32_t)pg_be(p, 4);
        if (len == 2)
            return (int16_t)(uint16_t)pg_be(p, 2);
        return 0;
    }
    return strtoll(v, NULL, 10);
}

int64_t pg_affected(const PGresult *r)
{
    const char *t = PQcmdTuples((PGresult *)r);
    return t && *t ? strtoll(t, NULL, 10) : 0;
}

/* The connection parameters: conninfo first (expanded), the discrete
 * options after it override its parts. */
static PGconn *pg_open_conn(const struct pg_cfg *c)
{
    const char *keys[14], *vals[14];
    int n = 0;
    char port[24], timeout[24];
    if (c->conninfo && *c->conninfo) {
        keys[n] = "dbname";
        vals[n++] = c->conninfo;
    }
#define PG_KV(k, v)                                                                      \
    do {                                                                                 \
        const char *v_ = (v);                                                            \
        if (v_ && *v_) {                                                                 \
            keys[n] = (k);                                                               \
            vals[n++] = v_;                                                              \
        }                                                                                \
    } while (0)
    PG_KV("host", c->host);
    if (c->port > 0) {
        snprintf(port, sizeof port, "%lld", (long long)c->port);
        PG_KV("port", port);
    }
    PG_KV("dbname", c->dbname);
    PG_KV("user", c->user);
    PG_KV("password", c->password);
    PG_KV("sslmode", c->sslmode);
    PG_KV("application_name", c->application_name);
    /* libpq takes whole seconds, and treats 1 as 2. */
    long secs = (long)((c->connect_timeout_ms + 999) / 1000);
    snprintf(timeout, sizeof timeout, "%ld", secs < 2 ? 2 : secs);
    PG_KV("connect_timeout", timeout);
    /* "schema exists, skipping" and the like are not for orch's users. */
    PG_KV("options", "-c client_min_messages=warning");
#undef PG_KV
    keys[n] = vals[n] = NULL;
    return PQconnectdbParams(keys, vals, 1);
}

orch_status pg_connect(struct orch_store *st, struct orch_error *err)
{
    if (st->conn)
        PQfinish(st->conn);
    st->prepared = 0;
    st->listening = 0;
    st->conn = pg_open_conn(&st->cfg);
    if (!st->conn)
        return pg_host->error_set(err, ORCH_E_NOMEM, "postgres: out of memory");
    if (PQstatus(st->conn) != CONNECTION_OK) {
        const char *m = PQerrorMessage(st->conn);
        size_t len = strlen(m);
        while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
            len--;
        return pg_host->error_set(err, ORCH_E_TRANSIENT, "postgres: cannot connect: %.*s",
                                  (int)len, m);
    }
    /* The schema name is the operator's, escaped by libpq as an identifier
     * (which needs a connection, for its encoding: the first one does it). */
    if (!st->schema_ident)
        st->schema_ident = PQescapeIdentifier(st->conn, st->cfg.schema, strlen(st->cfg.schema));
    if (!st->schema_ident)
        return pg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    char *sql = NULL;
    size_t need = strlen(st->schema_ident) + 64;
    sql = pg_host->alloc(need);
    if (!sql)
        return pg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    snprintf(sql, need, "SET search_path TO %s", st->schema_ident);
    PGresult *r = PQexec(st->conn, sql);
    pg_host->free(sql);
    orch_status rc = PQresultStatus(r) == PGRES_COMMAND_OK ? ORCH_OK
                                                           : pg_fail(st, r, err, "search_path");
    PQclear(r);
    return rc;
}

/* Reconnect with backoff (0.1 s doubling to 5 s) until reconnect_timeout. */
static orch_status pg_reconnect(struct orch_store *st, struct orch_error *err)
{
    int64_t waited = 0, delay = 100;
    for (;;) {
        pg_host->error_set(err, ORCH_OK, NULL);
        orch_status rc = pg_connect(st, err);
        if (rc == ORCH_OK) {
            pg_host->log(NULL, ORCH_LOG_INFO, "postgres: connection re-established");
            return ORCH_OK;
        }
        if (rc != ORCH_E_TRANSIENT || waited >= st->cfg.reconnect_timeout_ms)
            return rc;
        struct timespec ts = {delay / 1000, (delay % 1000) * 1000000};
        nanosleep(&ts, NULL);
        waited += delay;
        delay = delay * 2 > 5000 ? 5000 : delay * 2;
    }
}

static orch_status pg_prepare(struct orch_store *st, enum pg_stmt which,
                              struct orch_error *err)
{
    if (st->prepared & (1ull << which))
        return ORCH_OK;
    char name[16];
    snprintf(name, sizeof name, "orch%d", (int)which);
    PGresult *r = PQprepare(st->conn, name, pg_sql_text[which], 0, NULL);
    orch_status rc = PQresultStatus(r) == PGRES_COMMAND_OK ? ORCH_OK
                                                           : pg_fail(st, r, err, "prepare");
    PQclear(r);
    if (rc == ORCH_OK)
        st->prepared |= 1ull << which;
    return rc;
}

PGresult *pg_exec(struct orch_store *st, enum pg_stmt which, struct pg_args *a, int binary,
                  struct orch_error *err)
{
    st->retried = 0;
    for (int attempt = 0;; attempt++) {
        if (!st->conn || PQstatus(st->conn) != CONNECTION_OK) {
            if (st->in_txn) {
                pg_host->error_set(err, ORCH_E_TRANSIENT,
                                   "postgres: the connection was lost inside a transaction");
                return NULL;
            }
            if (pg_reconnect(st, err) != ORCH_OK)
                return NULL;
        }
        if (pg_prepare(st, which, err) != ORCH_OK) {
            if (PQstatus(st->conn) != CONNECTION_OK && !st->in_txn && attempt == 0)
                continue;
            return NULL;
        }
        char name[16];
        snprintf(name, sizeof name, "orch%d", (int)which);
        PGresult *r = PQexecPrepared(st->conn, name, a ? a->n : 0, a ? a->v : NULL,
                                     a ? a->len : NULL, a ? a->fmt : NULL, binary);
        ExecStatusType s = PQresultStatus(r);
        if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK)
            return r;
        /* A connection that died (a server restart, a network cut) is
         * reopened and the statement sent once more; the caller sees
         * st->retried and settles what the first try may have done. */
        if (PQstatus(st->conn) != CONNECTION_OK && !st->in_txn && attempt == 0) {
            PQclear(r);
            st->retried = 1;
            continue;
        }
        pg_fail(st, r, err, "query");
        PQclear(r);
        return NULL;
    }
}

orch_status pg_sql(struct orch_store *st, const char *sql, struct orch_error *err)
{
    if (!st->conn || PQstatus(st->conn) != CONNECTION_OK) {
        orch_status rc = pg_reconnect(st, err);
        if (rc != ORCH_OK)
            return rc;
    }
    PGresult *r = PQexec(st->conn, sql);
    ExecStatusType s = PQresultStatus(r);
    orch_status rc = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK ? ORCH_OK
                                                                    : pg_fail(st, r, err, sql);
    PQclear(r);
    return rc;
}

static void pg_cfg_free(struct pg_cfg *c)
{
    const char **strs[] = {&c->conninfo, &c->host,    &c->dbname,           &c->user,
                           &c->password, &c->sslmode, &c->application_name, &c->schema};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        if (*strs[i]) {
            /* Passwords do not linger in freed memory. */
            memset((char *)*strs[i], 0, strlen(*strs[i]));
            pg_host->free((char *)*strs[i]);
        }
    }
}

static void pg_close(struct orch_store *st)
{
    if (!st)
        return;
    if (st->conn)
        PQfinish(st->conn);
    pg_cfg_free(&st->cfg);
    if (st->schema_ident)
        PQfreemem(st->schema_ident);
    pg_host->free(st);
}

static orch_status pg_open(struct orch_ctx *ctx, const void *cfgp, struct orch_store **out,
                           struct orch_error *err)
{
    const struct pg_cfg *cfg = cfgp;
    (void)ctx;
    struct orch_store *st = pg_host->calloc(1, sizeof *st);
    if (!st)
        return pg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    st->cfg = *cfg;
    const char **strs[] = {&st->cfg.conninfo, &st->cfg.host,    &st->cfg.dbname,
                           &st->cfg.user,     &st->cfg.password, &st->cfg.sslmode,
                           &st->cfg.application_name, &st->cfg.schema};
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        *strs[i] = *strs[i] ? pg_host->strdup(*strs[i]) : NULL;
    if (!st->cfg.schema || !*st->cfg.schema || strlen(st->cfg.schema) > 63) {
        pg_close(st);
        return pg_host->error_set(err, ORCH_E_CONFIG,
                                  "store postgres: schema must be 1 to 63 bytes");
    }
    orch_status rc = pg_connect(st, err);
    if (rc != ORCH_OK) {
        pg_close(st);
        return rc;
    }
    *out = st;
    return ORCH_OK;
}

static const struct orch_store_vtable pg_vtable = {
    .struct_size = sizeof(struct orch_store_vtable),
    .open = pg_open,
    .close = pg_close,
    .schema_version = pg_schema_version,
    .migrate = pg_migrate,
    .txn_begin = pg_txn_begin,
    .txn_commit = pg_txn_commit,
    .txn_rollback = pg_txn_rollback,
    .run_create = pg_run_create,
    .run_get = pg_run_get,
    .run_list = pg_run_list,
    .run_cas = pg_run_cas,
    .attempt_cas = pg_attempt_cas,
    .attempt_list = pg_attempt_list,
    .event_append = pg_event_append,
    .event_list = pg_event_list,
    .log_append = pg_log_append,
    .log_read = pg_log_read,
    .instance_put = pg_instance_put,
    .instance_list = pg_instance_list,
    .instance_delete = pg_instance_delete,
    .flag_set = pg_flag_set,
    .flag_list = pg_flag_list,
    .lease_acquire = pg_lease_acquire,
    .lease_release = pg_lease_release,
    .lease_list = pg_lease_list,
    .run_claim = pg_run_claim,
    .run_heartbeat = pg_run_heartbeat,
    .blob_put = pg_blob_put,
    .blob_get = pg_blob_get,
    .blob_delete = pg_blob_delete,
    .blob_list = pg_blob_list,
    .notify = pg_notify,
    .wait = pg_wait,
    .run_stats = pg_run_stats,
};

static const struct orch_plugin_desc pg_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STORE,
    .name = "postgres",
    .version = "1.0.0",
    .description = "PostgreSQL store for several daemons: runs, leases (SKIP LOCKED), "
                   "LISTEN/NOTIFY wake-ups, blobs",
    .license = "MIT",
    .caps = ORCH_STORE_CAP_RUNS | ORCH_STORE_CAP_TXN | ORCH_STORE_CAP_LEASES |
            ORCH_STORE_CAP_BLOBS | ORCH_STORE_CAP_CAS | ORCH_STORE_CAP_NOTIFY |
            ORCH_STORE_CAP_STATS,
    .options = pg_options,
    .option_count = sizeof pg_options / sizeof pg_options[0],
    .config_size = sizeof(struct pg_cfg),
    .vtable_size = sizeof(struct orch_store_vtable),
    .vtable = &pg_vtable,
};

ORCH_PLUGIN_DEFINE(store, postgres, pg_desc, pg_host)
