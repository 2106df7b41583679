/* Run retention (ABI 1.3): the ended runs old enough to go, listed
 * oldest first; one run and everything kept for it deleted in one
 * transaction; and the freed pages given back to the file system
 * (the database uses auto_vacuum=INCREMENTAL: schema.c). */
#include <string.h>

#include "sqlite.h"

static int sq_ended(uint32_t state)
{
    return state == ORCH_RUN_SUCCEEDED || state == ORCH_RUN_FAILED ||
           state == ORCH_RUN_CANCELLED;
}

orch_status sq_run_list_ended(struct orch_store *st, uint32_t state, int64_t after_ns,
                              const char *after_id, int64_t before_ns, uint32_t limit,
                              orch_run_fn fn, void *ud, struct orch_error *err)
{
    if (state && !sq_ended(state))
        return sq_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "run_list_ended: state %u is not an ended one", state);
    sqlite3_stmt *s = sq_stmt(st, SQ_RUN_LIST_ENDED, err);
    if (!s)
        return err->code;
    sqlite3_bind_int(s, 1, (int)state);
    sqlite3_bind_int64(s, 2, after_ns);
    sq_bind_text(s, 3, after_id);
    sqlite3_bind_int64(s, 4, before_ns);
    sqlite3_bind_int64(s, 5, limit ? (int64_t)limit : -1);
    return sq_each_run(st, s, fn, ud, NULL, err);
}

/* One statement bound to the run id, stepped to its end; *changed: rows
 * it deleted. */
static orch_status sq_purge_step(struct orch_store *st, enum sq_stmt which, const char *id,
                                 uint64_t *changed, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, which, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(st, err, "delete run");
    if (changed)
        *changed = (uint64_t)sqlite3_changes(st->db);
    return ORCH_OK;
}

/* Inside the transaction: the run's state decides; then each table. */
static orch_status sq_purge(struct orch_store *st, const char *id, int64_t before_ns,
                            struct orch_run_purge *p, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_PURGE_CHECK, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, id);
    int rc = sqlite3_step(s);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(s);
        return rc == SQLITE_DONE ? sq_host->error_set(err, ORCH_E_NOT_FOUND, "no run %s", id)
                                 : sq_fail(st, err, "delete run");
    }
    uint32_t state = (uint32_t)sqlite3_column_int(s, 0);
    int64_t updated = sqlite3_column_int64(s, 1);
    sqlite3_reset(s);
    if (!sq_ended(state))
        return sq_host->error_set(err, ORCH_E_CONFLICT, "run %s is %s, not ended: kept", id,
                                  orch_run_state_name(state));
    if (updated >= before_ns)
        return sq_host->error_set(err, ORCH_E_CONFLICT,
                                  "run %s was updated since it was found old enough: kept", id);
    if (!(s = sq_stmt(st, SQ_PURGE_LOG_SUM, err)))
        return err->code;
    sq_bind_text(s, 1, id);
    if (sqlite3_step(s) == SQLITE_ROW) {
        p->log_chunks = (uint64_t)sqlite3_column_int64(s, 0);
        p->log_bytes = (uint64_t)sqlite3_column_int64(s, 1);
    }
    sqlite3_reset(s);
    orch_status o;
    if ((o = sq_purge_step(st, SQ_PURGE_ATT, id, &p->attempts, err)) != ORCH_OK ||
        (o = sq_purge_step(st, SQ_PURGE_EV, id, &p->events, err)) != ORCH_OK ||
        (o = sq_purge_step(st, SQ_PURGE_LOGS, id, NULL, err)) != ORCH_OK ||
        (o = sq_purge_step(st, SQ_PURGE_INST, id, &p->instances, err)) != ORCH_OK ||
        (o = sq_purge_step(st, SQ_PURGE_RUN, id, NULL, err)) != ORCH_OK)
        return o;
    return ORCH_OK;
}

orch_status sq_run_delete(struct orch_store *st, const char *id, int64_t before_ns,
                          struct orch_run_purge *out, struct orch_error *err)
{
    if (st->in_txn)
        return sq_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "run_delete inside a transaction: it is one itself");
    struct orch_run_purge p = {.struct_size = sizeof p};
    orch_status rc = sq_exec(st, "BEGIN IMMEDIATE", err);
    if (rc != ORCH_OK)
        return rc;
    rc = sq_purge(st, id, before_ns, &p, err);
    if (rc == ORCH_OK)
        rc = sq_exec(st, "COMMIT", err);
    if (rc != ORCH_OK) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    if (out) {
        uint32_t size = out->struct_size < sizeof p ? out->struct_size : (uint32_t)sizeof p;
        p.struct_size = out->struct_size;
        memcpy(out, &p, size);
    }
    return ORCH_OK;
}

static int64_t sq_pragma_int(struct orch_store *st, const char *pragma)
{
    sqlite3_stmt *s;
    int64_t v = -1;
    if (sqlite3_prepare_v2(st->db, pragma, -1, &s, NULL) != SQLITE_OK)
        return -1;
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* The free pages go back with incremental_vacuum; in WAL mode the file
 * itself shrinks only when the WAL is checkpointed into it, so the
 * checkpoint follows (TRUNCATE: the WAL file goes back to empty too; a
 * reader in the way leaves it for the next automatic checkpoint). */
orch_status sq_reclaim(struct orch_store *st, uint64_t *bytes, struct orch_error *err)
{
    *bytes = 0;
    if (st->in_txn)
        return sq_host->error_set(err, ORCH_E_INVALID_ARG, "reclaim inside a transaction");
    int64_t page = sq_pragma_int(st, "PRAGMA page_size");
    int64_t before = sq_pragma_int(st, "PRAGMA page_count");
    orch_status rc = sq_exec(st, "PRAGMA incremental_vacuum", err);
    if (rc != ORCH_OK)
        return rc;
    sqlite3_exec(st->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL);
    int64_t after = sq_pragma_int(st, "PRAGMA page_count");
    if (page > 0 && before > after && after >= 0)
        *bytes = (uint64_t)((before - after) * page);
    return ORCH_OK;
}
