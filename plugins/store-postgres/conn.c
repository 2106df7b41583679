/* store-postgres: the connection and how a statement reaches the server.
 * Connect from the options (conninfo, then the discrete parts), reconnect
 * with backoff after a loss, prepare each statement once per connection,
 * send it once more when the connection died outside a transaction, map a
 * failure's SQLSTATE to an orch_status, and the parameter and column
 * helpers every table's file uses. */
#define _POSIX_C_SOURCE 200809L
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "postgres.h"

/* Set by the plugin's entry (plugin.c); here so every file that talks to
 * the server depends on this one, and this one on none of them. */
const struct orch_host *pg_host;

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
    return pg_host->error_set(err, rc, "%s: %.*s", what, (int)n, msg);
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
        return pg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (PQstatus(st->conn) != CONNECTION_OK) {
        const char *m = PQerrorMessage(st->conn);
        size_t len = strlen(m);
        while (len && (m[len - 1] == '\n' || m[len - 1] == ' '))
            len--;
        return pg_host->error_set(err, ORCH_E_TRANSIENT, "cannot connect: %.*s",
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

/* Reconnect with backoff (0.1 s doubling to 5 s) until reconnect_timeout,
 * each failed attempt logged with its count and the server's answer: an
 * operator watching a database restart sees orch wait, not hang. */
static orch_status pg_reconnect(struct orch_store *st, struct orch_error *err)
{
    int64_t waited = 0, delay = 100;
    for (unsigned attempt = 1;; attempt++) {
        pg_host->error_set(err, ORCH_OK, NULL);
        orch_status rc = pg_connect(st, err);
        if (rc == ORCH_OK) {
            pg_host->log(NULL, ORCH_LOG_INFO,
                         "postgres: connection re-established (attempt %u, after %lld ms)",
                         attempt, (long long)waited);
            return ORCH_OK;
        }
        if (rc != ORCH_E_TRANSIENT || waited >= st->cfg.reconnect_timeout_ms) {
            pg_host->log(NULL, ORCH_LOG_ERROR,
                         "postgres: reconnect gave up after %u attempts (%lld ms, "
                         "reconnect_timeout %lld ms): %s",
                         attempt, (long long)waited, (long long)st->cfg.reconnect_timeout_ms,
                         err->message ? err->message : "unknown error");
            return rc;
        }
        pg_host->log(NULL, ORCH_LOG_WARN,
                     "postgres: connection lost; reconnect attempt %u failed: %s; next in %lld ms",
                     attempt, err->message ? err->message : "unknown error", (long long)delay);
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
    PGresult *r = PQprepare(st->conn, name, pg_stmt_text(which), 0, NULL);
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
                                   "the connection was lost inside a transaction");
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
