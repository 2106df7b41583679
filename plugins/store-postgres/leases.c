/* Named leases with expiry: one owner at a time; an expired lease is free. */
#include <string.h>

#include "postgres.h"

orch_status pg_lease_acquire(struct orch_store *st, const char *name, const char *owner,
                             int64_t ttl_ms, int64_t now_ns, int64_t *expires_ns,
                             struct orch_error *err)
{
    int64_t exp = now_ns + ttl_ms * 1000000;
    struct pg_args a = {0};
    pg_arg_text(&a, name);
    pg_arg_text(&a, owner);
    pg_arg_int(&a, exp);
    pg_arg_int(&a, now_ns);
    PGresult *r = pg_exec(st, PG_LEASE_ACQUIRE, &a, 0, err);
    if (!r)
        return err->code;
    int64_t n = pg_affected(r);
    PQclear(r);
    if (n != 1) {
        struct pg_args k = {0};
        pg_arg_text(&k, name);
        r = pg_exec(st, PG_LEASE_GET, &k, 0, err);
        if (!r)
            return err->code;
        const char *holder = PQntuples(r) ? pg_text(r, 0, 0) : NULL;
        /* Held by us already: a renewal sent twice over a reconnect. */
        int ours = holder && !strcmp(holder, owner);
        orch_status out = ours ? ORCH_OK
                               : pg_host->error_set(err, ORCH_E_CONFLICT, "lease %s is held by %s",
                                                    name, holder ? holder : "another owner");
        PQclear(r);
        if (!ours)
            return out;
    }
    if (expires_ns)
        *expires_ns = exp;
    return ORCH_OK;
}

orch_status pg_lease_release(struct orch_store *st, const char *name, const char *owner,
                             struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, name);
    pg_arg_text(&a, owner);
    PGresult *r = pg_exec(st, PG_LEASE_RELEASE, &a, 0, err);
    if (!r)
        return err->code;
    int64_t n = pg_affected(r);
    int retried = st->retried;
    PQclear(r);
    if (n != 1 && !retried)
        return pg_host->error_set(err, ORCH_E_CONFLICT, "lease %s is not held by %s", name,
                                  owner);
    return ORCH_OK;
}

orch_status pg_lease_list(struct orch_store *st, orch_lease_fn fn, void *ud,
                          struct orch_error *err)
{
    PGresult *r = pg_exec(st, PG_LEASE_LIST, NULL, 0, err);
    if (!r)
        return err->code;
    for (int i = 0; i < PQntuples(r); i++) {
        struct orch_lease_rec l = {.struct_size = sizeof l,
                                   .name = pg_text(r, i, 0),
                                   .owner = pg_text(r, i, 1),
                                   .expires_ns = pg_int(r, i, 2)};
        if (fn(ud, &l) != 0)
            break;
    }
    PQclear(r);
    return ORCH_OK;
}
