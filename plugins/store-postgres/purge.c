/* Run retention (ABI 1.3): the ended runs old enough to go, listed oldest
 * first; one run and everything kept for it deleted in one transaction,
 * the run's row locked first, so two daemons sweeping at once (or a
 * requeue racing a sweep) serialise on it and the second finds the run
 * gone or no longer ended. */
#include <string.h>

#include "postgres.h"

static int pg_ended(uint32_t state)
{
    return state == ORCH_RUN_SUCCEEDED || state == ORCH_RUN_FAILED ||
           state == ORCH_RUN_CANCELLED;
}

orch_status pg_run_list_ended(struct orch_store *st, uint32_t state, int64_t after_ns,
                              const char *after_id, int64_t before_ns, uint32_t limit,
                              orch_run_fn fn, void *ud, struct orch_error *err)
{
    if (state && !pg_ended(state))
        return pg_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "run_list_ended: state %u is not an ended one", state);
    struct pg_args a = {0};
    pg_arg_int(&a, state);
    pg_arg_int(&a, after_ns);
    pg_arg_text(&a, after_id);
    pg_arg_int(&a, before_ns);
    if (limit)
        pg_arg_int(&a, limit);
    else
        pg_arg_text(&a, NULL); /* LIMIT NULL: all */
    PGresult *r = pg_exec(st, PG_RUN_LIST_ENDED, &a, 0, err);
    if (!r)
        return err->code;
    pg_emit_runs(r, fn, ud);
    PQclear(r);
    return ORCH_OK;
}

/* One statement on the run id; *n: the rows it touched (NULL: unread). */
static orch_status pg_purge_one(struct orch_store *st, enum pg_stmt which, const char *id,
                                uint64_t *n, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, id);
    PGresult *r = pg_exec(st, which, &a, 0, err);
    if (!r)
        return err->code;
    if (n)
        *n = (uint64_t)pg_affected(r);
    PQclear(r);
    return ORCH_OK;
}

/* Inside the transaction: the locked row decides; then each table. */
static orch_status pg_purge(struct orch_store *st, const char *id, int64_t before_ns,
                            struct orch_run_purge *p, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, id);
    PGresult *r = pg_exec(st, PG_PURGE_CHECK, &a, 0, err);
    if (!r)
        return err->code;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return pg_host->error_set(err, ORCH_E_NOT_FOUND, "no run %s", id);
    }
    uint32_t state = (uint32_t)pg_int(r, 0, 0);
    int64_t updated = pg_int(r, 0, 1);
    PQclear(r);
    if (!pg_ended(state))
        return pg_host->error_set(err, ORCH_E_CONFLICT, "run %s is %s, not ended: kept", id,
                                  orch_run_state_name(state));
    if (updated >= before_ns)
        return pg_host->error_set(err, ORCH_E_CONFLICT,
                                  "run %s was updated since it was found old enough: kept", id);
    struct pg_args l = {0};
    pg_arg_text(&l, id);
    if (!(r = pg_exec(st, PG_PURGE_LOGS, &l, 0, err)))
        return err->code;
    p->log_chunks = (uint64_t)pg_int(r, 0, 0);
    p->log_bytes = (uint64_t)pg_int(r, 0, 1);
    PQclear(r);
    orch_status o;
    if ((o = pg_purge_one(st, PG_PURGE_ATT, id, &p->attempts, err)) != ORCH_OK ||
        (o = pg_purge_one(st, PG_PURGE_EV, id, &p->events, err)) != ORCH_OK ||
        (o = pg_purge_one(st, PG_PURGE_INST, id, &p->instances, err)) != ORCH_OK ||
        (o = pg_purge_one(st, PG_PURGE_RUN, id, NULL, err)) != ORCH_OK)
        return o;
    return ORCH_OK;
}

orch_status pg_run_delete(struct orch_store *st, const char *id, int64_t before_ns,
                          struct orch_run_purge *out, struct orch_error *err)
{
    if (st->in_txn)
        return pg_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "run_delete inside a transaction: it is one itself");
    struct orch_run_purge p = {.struct_size = sizeof p};
    orch_status rc = pg_txn_begin(st, err);
    if (rc != ORCH_OK)
        return rc;
    rc = pg_purge(st, id, before_ns, &p, err);
    if (rc == ORCH_OK) {
        rc = pg_txn_commit(st, err);
    } else {
        struct orch_error e2 = {0};
        pg_txn_rollback(st, &e2);
        pg_host->error_set(&e2, ORCH_OK, NULL); /* frees its message: err says why */
    }
    if (rc == ORCH_OK && out) {
        uint32_t size = out->struct_size < sizeof p ? out->struct_size : (uint32_t)sizeof p;
        p.struct_size = out->struct_size;
        memcpy(out, &p, size);
    }
    return rc;
}
