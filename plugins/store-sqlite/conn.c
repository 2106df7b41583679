/* store-sqlite: how a statement reaches the database handle. Each
 * statement is prepared once per handle (statements.c has the SQL) and
 * reset for reuse, a failure's SQLite code maps to an orch_status, and the
 * deferred synchronous pragma is applied before the first statement; plus
 * the bind and column helpers every table's file uses. Opening the file is
 * plugin.c's. */
#include <stdio.h>

#include "sqlite.h"

/* Set by the plugin's entry (plugin.c); here so every file that runs a
 * statement depends on this one, and this one on none of them. */
const struct orch_host *sq_host;

orch_status sq_fail(struct orch_store *st, struct orch_error *err, const char *what)
{
    int code = sqlite3_errcode(st->db);
    orch_status rc = code == SQLITE_BUSY || code == SQLITE_LOCKED ? ORCH_E_TRANSIENT
                     : code == SQLITE_CONSTRAINT                   ? ORCH_E_EXISTS
                     : code == SQLITE_NOMEM                        ? ORCH_E_NOMEM
                                                                   : ORCH_E_IO;
    return sq_host->error_set(err, rc, "%s: %s", what, sqlite3_errmsg(st->db));
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
        if (sqlite3_prepare_v3(st->db, sq_stmt_text(which), -1, SQLITE_PREPARE_PERSISTENT,
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
        orch_status rc = sq_host->error_set(err, ORCH_E_IO, "%s",
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
