/* The tick ledger (ABI 1.2): one row per scheduler tick of each daemon on
 * the database, read newest first, pruned by age and by count. */
#include "postgres.h"

orch_status pg_tick_append(struct orch_store *st, const struct orch_tick_rec *t,
                           struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, t->owner ? t->owner : "");
    pg_arg_int(&a, t->started_ns);
    pg_arg_int(&a, t->duration_ns);
    const uint32_t counts[] = {t->claimed, t->dispatched, t->fired, t->requeued, t->reaped,
                               t->errors};
    for (int i = 0; i < 6; i++)
        pg_arg_int(&a, counts[i]);
    PGresult *r = pg_exec(st, PG_TICK_INSERT, &a, 0, err);
    if (!r)
        return err->code;
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_tick_list(struct orch_store *st, int64_t since_ns, uint32_t limit,
                         orch_tick_fn fn, void *ud, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_int(&a, since_ns);
    if (limit)
        pg_arg_int(&a, limit);
    else
        pg_arg_text(&a, NULL); /* LIMIT NULL: all */
    PGresult *r = pg_exec(st, PG_TICK_LIST, &a, 0, err);
    if (!r)
        return err->code;
    for (int i = 0; i < PQntuples(r); i++) {
        struct orch_tick_rec t = {
            .struct_size = sizeof t,
            .seq = pg_int(r, i, 0),
            .owner = pg_text(r, i, 1),
            .started_ns = pg_int(r, i, 2),
            .duration_ns = pg_int(r, i, 3),
            .claimed = (uint32_t)pg_int(r, i, 4),
            .dispatched = (uint32_t)pg_int(r, i, 5),
            .fired = (uint32_t)pg_int(r, i, 6),
            .requeued = (uint32_t)pg_int(r, i, 7),
            .reaped = (uint32_t)pg_int(r, i, 8),
            .errors = (uint32_t)pg_int(r, i, 9),
        };
        if (fn(ud, &t) != 0)
            break;
    }
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_tick_prune(struct orch_store *st, int64_t before_ns, uint64_t keep,
                          struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_int(&a, before_ns);
    PGresult *r = pg_exec(st, PG_TICK_PRUNE_AGE, &a, 0, err);
    if (!r)
        return err->code;
    PQclear(r);
    if (!keep)
        return ORCH_OK;
    struct pg_args k = {0};
    pg_arg_int(&k, keep > INT64_MAX ? INT64_MAX : (int64_t)keep);
    if (!(r = pg_exec(st, PG_TICK_PRUNE_KEEP, &k, 0, err)))
        return err->code;
    PQclear(r);
    return ORCH_OK;
}
