/* Named leases with expiry: one owner at a time; an expired lease is free. */
#include "sqlite.h"

orch_status sq_lease_acquire(struct orch_store *st, const char *name, const char *owner,
                             int64_t ttl_ms, int64_t now_ns, int64_t *expires_ns,
                             struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_LEASE_ACQUIRE, err);
    if (!s)
        return err->code;
    int64_t exp = now_ns + ttl_ms * 1000000;
    sq_bind_text(s, 1, name);
    sq_bind_text(s, 2, owner);
    sqlite3_bind_int64(s, 3, exp);
    sqlite3_bind_int64(s, 4, now_ns);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(st, err, "lease");
    if (sqlite3_changes(st->db) != 1) {
        sqlite3_stmt *g = sq_stmt(st, SQ_LEASE_GET, err);
        if (!g)
            return err->code;
        sq_bind_text(g, 1, name);
        orch_status out = sq_host->error_set(
            err, ORCH_E_CONFLICT, "lease %s is held by %s", name,
            sqlite3_step(g) == SQLITE_ROW ? sq_col_text(g, 0) : "another owner");
        sqlite3_reset(g);
        return out;
    }
    if (expires_ns)
        *expires_ns = exp;
    return ORCH_OK;
}

orch_status sq_lease_release(struct orch_store *st, const char *name, const char *owner,
                             struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_LEASE_RELEASE, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, name);
    sq_bind_text(s, 2, owner);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(st, err, "release lease");
    if (sqlite3_changes(st->db) != 1)
        return sq_host->error_set(err, ORCH_E_CONFLICT, "lease %s is not held by %s", name,
                                  owner);
    return ORCH_OK;
}

orch_status sq_lease_list(struct orch_store *st, orch_lease_fn fn, void *ud,
                          struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_LEASE_LIST, err);
    if (!s)
        return err->code;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct orch_lease_rec l = {.struct_size = sizeof l,
                                   .name = sq_col_text(s, 0),
                                   .owner = sq_col_text(s, 1),
                                   .expires_ns = sqlite3_column_int64(s, 2)};
        if (fn(ud, &l) != 0)
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "leases");
}
