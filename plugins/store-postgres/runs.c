/* Runs: create (idempotent by key), get, list, compare-and-set, and claims
 * that never give one run to two daemons. */
#include <string.h>

#include "postgres.h"

/* Columns as RUN_COLS lists them. */
int32_t pg_emit_runs(const PGresult *r, orch_run_fn fn, void *ud)
{
    for (int i = 0; i < PQntuples(r); i++) {
        struct orch_run_rec rec = {
            .struct_size = sizeof rec,
            .id = pg_text(r, i, 0),
            .workflow = pg_text(r, i, 1),
            .state = (uint32_t)pg_int(r, i, 2),
            .idempotency_key = pg_text(r, i, 3),
            .inputs_json = pg_text(r, i, 4),
            .source = pg_text(r, i, 5),
            .source_path = pg_text(r, i, 6),
            .owner = pg_text(r, i, 7),
            .error = pg_text(r, i, 8),
            .created_ns = pg_int(r, i, 9),
            .updated_ns = pg_int(r, i, 10),
            .lease_expires_ns = pg_int(r, i, 11),
            .not_before_ns = pg_int(r, i, 12),
        };
        if (fn && fn(ud, &rec) != 0)
            return 1;
    }
    return 0;
}

/* Rows of a one-key lookup through fn; *found set. */
static orch_status pg_runs_by(struct orch_store *st, enum pg_stmt which, const char *key,
                              orch_run_fn fn, void *ud, int *found, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, key);
    PGresult *r = pg_exec(st, which, &a, 0, err);
    if (!r)
        return err->code;
    *found = PQntuples(r) > 0;
    pg_emit_runs(r, fn, ud);
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_run_create(struct orch_store *st, const struct orch_run_rec *rec,
                          orch_run_fn fn, void *ud, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, rec->id);
    pg_arg_text(&a, rec->workflow);
    pg_arg_int(&a, rec->state);
    pg_arg_text(&a, rec->idempotency_key);
    pg_arg_text(&a, rec->inputs_json);
    pg_arg_text(&a, rec->source);
    pg_arg_text(&a, rec->source_path);
    pg_arg_text(&a, rec->owner);
    pg_arg_text(&a, rec->error);
    pg_arg_int(&a, rec->created_ns);
    pg_arg_int(&a, rec->updated_ns);
    pg_arg_int(&a, rec->lease_expires_ns);
    pg_arg_int(&a, rec->not_before_ns);
    /* ON CONFLICT DO NOTHING rather than an error: inside a transaction an
     * error would abort it. */
    PGresult *r = pg_exec(st, PG_RUN_INSERT, &a, 0, err);
    if (!r)
        return err->code;
    int64_t n = pg_affected(r);
    int retried = st->retried;
    PQclear(r);
    if (n == 0) {
        int found = 0;
        orch_status o = ORCH_OK;
        if (rec->idempotency_key) {
            /* The key is taken: hand back the run that has it. */
            o = pg_runs_by(st, PG_RUN_BY_KEY, rec->idempotency_key, fn, ud, &found, err);
            if (o == ORCH_OK && found && !retried)
                return pg_host->error_set(err, ORCH_E_EXISTS,
                                          "a run with idempotency key '%s' already exists",
                                          rec->idempotency_key);
        }
        if (o != ORCH_OK)
            return o;
        /* Otherwise the id exists. After a reconnect that is our own first
         * try, which did commit. */
        if (!retried)
            return pg_host->error_set(err, ORCH_E_EXISTS, "a run with id %s already exists",
                                      rec->id);
    }
    if (rec->state == ORCH_RUN_QUEUED)
        pg_wake(st);
    return ORCH_OK;
}

orch_status pg_run_get(struct orch_store *st, const char *id, orch_run_fn fn, void *ud,
                       struct orch_error *err)
{
    int found = 0;
    orch_status rc = pg_runs_by(st, PG_RUN_GET, id, fn, ud, &found, err);
    if (rc == ORCH_OK && !found)
        return pg_host->error_set(err, ORCH_E_NOT_FOUND, "no run %s", id);
    return rc;
}

orch_status pg_run_stats(struct orch_store *st, struct orch_run_stats *out,
                         struct orch_error *err)
{
    struct pg_args a = {0};
    PGresult *r = pg_exec(st, PG_RUN_STATS, &a, 0, err);
    if (!r)
        return err->code;
    for (int i = 0; i < PQntuples(r); i++) {
        int64_t state = pg_int(r, i, 0);
        if (state >= 0 && state < 8)
            out->by_state[state] = (uint64_t)pg_int(r, i, 1);
        if (state == ORCH_RUN_QUEUED)
            out->oldest_queued_ns = pg_int(r, i, 2);
    }
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_run_list(struct orch_store *st, const struct orch_run_filter *f,
                        orch_run_fn fn, void *ud, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_int(&a, f ? f->state : 0);
    pg_arg_text(&a, f ? f->workflow : NULL);
    pg_arg_int(&a, f ? f->created_after_ns : 0);
    if (f && f->limit)
        pg_arg_int(&a, f->limit);
    else
        pg_arg_text(&a, NULL); /* LIMIT NULL: all */
    PGresult *r = pg_exec(st, PG_RUN_LIST, &a, 0, err);
    if (!r)
        return err->code;
    pg_emit_runs(r, fn, ud);
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_run_cas(struct orch_store *st, const char *id, uint32_t expect_state,
                       const char *expect_owner, uint32_t new_state, const char *error,
                       int64_t now_ns, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_int(&a, new_state);
    pg_arg_text(&a, error);
    pg_arg_int(&a, now_ns);
    pg_arg_text(&a, id);
    pg_arg_int(&a, expect_state);
    pg_arg_text(&a, expect_owner);
    PGresult *r = pg_exec(st, PG_RUN_CAS, &a, 0, err);
    if (!r)
        return err->code;
    int64_t n = pg_affected(r);
    int retried = st->retried;
    PQclear(r);
    if (n == 1) {
        if (new_state == ORCH_RUN_QUEUED)
            pg_wake(st);
        return ORCH_OK;
    }
    struct pg_args k = {0};
    pg_arg_text(&k, id);
    r = pg_exec(st, PG_RUN_STATE, &k, 0, err);
    if (!r)
        return err->code;
    int exists = PQntuples(r) > 0;
    uint32_t cur = exists ? (uint32_t)pg_int(r, 0, 0) : 0;
    const char *owner = exists ? pg_text(r, 0, 1) : NULL;
    /* Sent twice over a reconnect: the first one took effect. */
    int ours = retried && cur == new_state &&
               (!expect_owner || (owner && !strcmp(owner, expect_owner)));
    PQclear(r);
    if (ours)
        return ORCH_OK;
    if (!exists)
        return pg_host->error_set(err, ORCH_E_NOT_FOUND, "no run %s", id);
    return pg_host->error_set(err, ORCH_E_CONFLICT,
                              "run %s changed under us (state %s, expected %s)", id,
                              orch_run_state_name(cur), orch_run_state_name(expect_state));
}

orch_status pg_run_claim(struct orch_store *st, const char *owner, int64_t ttl_ms,
                         int64_t now_ns, orch_run_fn fn, void *ud, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, owner);
    pg_arg_int(&a, now_ns + ttl_ms * 1000000);
    pg_arg_int(&a, now_ns);
    PGresult *r = pg_exec(st, PG_CLAIM, &a, 0, err);
    if (!r)
        return err->code;
    /* A claim lost to a reconnect leaves a run leased to us that we do not
     * know of: its lease expires and it is claimed again. */
    int found = PQntuples(r) > 0;
    pg_emit_runs(r, fn, ud);
    PQclear(r);
    return found ? ORCH_OK : pg_host->error_set(err, ORCH_E_NOT_FOUND, "no run to claim");
}

orch_status pg_run_heartbeat(struct orch_store *st, const char *id, const char *owner,
                             int64_t ttl_ms, int64_t now_ns, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, id);
    pg_arg_text(&a, owner);
    if (ttl_ms)
        pg_arg_int(&a, now_ns + ttl_ms * 1000000);
    PGresult *r = pg_exec(st, ttl_ms ? PG_HEARTBEAT : PG_RELEASE_RUN, &a, 0, err);
    if (!r)
        return err->code;
    int64_t n = pg_affected(r);
    int queued = !ttl_ms && n == 1 && pg_int(r, 0, 0) == ORCH_RUN_QUEUED;
    PQclear(r);
    if (n != 1 && !(st->retried && !ttl_ms))
        return pg_host->error_set(err, ORCH_E_CONFLICT, "run %s is no longer owned by %s",
                                  id, owner);
    /* Released and queued: another daemon may take it now. A finished or
     * waiting run wakes nobody (every run's end used to wake every daemon
     * for nothing). */
    if (queued)
        pg_wake(st);
    return ORCH_OK;
}
