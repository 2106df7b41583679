/* The tick ledger (ABI 1.2): one row per scheduler tick, read newest first,
 * pruned by age and by count. */
#include "sqlite.h"

orch_status sq_tick_append(struct orch_store *st, const struct orch_tick_rec *t,
                           struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_TICK_INSERT, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, t->owner ? t->owner : "");
    sqlite3_bind_int64(s, 2, t->started_ns);
    sqlite3_bind_int64(s, 3, t->duration_ns);
    const uint32_t counts[] = {t->claimed, t->dispatched, t->fired, t->requeued, t->reaped,
                               t->errors};
    for (int i = 0; i < 6; i++)
        sqlite3_bind_int64(s, 4 + i, counts[i]);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "append tick");
}

orch_status sq_tick_list(struct orch_store *st, int64_t since_ns, uint32_t limit,
                         orch_tick_fn fn, void *ud, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_TICK_LIST, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, since_ns);
    sqlite3_bind_int64(s, 2, limit ? (int64_t)limit : -1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct orch_tick_rec t = {
            .struct_size = sizeof t,
            .seq = sqlite3_column_int64(s, 0),
            .owner = sq_col_text(s, 1),
            .started_ns = sqlite3_column_int64(s, 2),
            .duration_ns = sqlite3_column_int64(s, 3),
            .claimed = (uint32_t)sqlite3_column_int64(s, 4),
            .dispatched = (uint32_t)sqlite3_column_int64(s, 5),
            .fired = (uint32_t)sqlite3_column_int64(s, 6),
            .requeued = (uint32_t)sqlite3_column_int64(s, 7),
            .reaped = (uint32_t)sqlite3_column_int64(s, 8),
            .errors = (uint32_t)sqlite3_column_int64(s, 9),
        };
        if (fn(ud, &t) != 0)
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "list ticks");
}

orch_status sq_tick_prune(struct orch_store *st, int64_t before_ns, uint64_t keep,
                          struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_TICK_PRUNE_AGE, err);
    if (!s)
        return err->code;
    sqlite3_bind_int64(s, 1, before_ns);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(st, err, "prune ticks by age");
    if (!keep)
        return ORCH_OK;
    if (!(s = sq_stmt(st, SQ_TICK_PRUNE_KEEP, err)))
        return err->code;
    sqlite3_bind_int64(s, 1, keep > INT64_MAX ? INT64_MAX : (int64_t)keep);
    rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "prune ticks by count");
}
