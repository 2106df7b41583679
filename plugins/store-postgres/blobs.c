/* Blobs in a bytea column: for artifacts of modest size (use store-s3 for
 * big ones). Read in from the reader whole (a bytea is written in one
 * piece), handed out in 64 KiB pieces. */
#include <string.h>

#include <orch/kit.h>

#include "postgres.h"

#define PG_BLOB_MAX (1ull << 30) /* a bytea holds at most 1 GiB */

orch_status pg_blob_put(struct orch_store *st, const char *key, orch_read_fn rd, void *ud,
                        struct orch_error *err)
{
    if (!pk_blob_key_ok(key))
        return pg_host->error_set(err, ORCH_E_INVALID_ARG, "invalid blob key '%s'",
                                  key ? key : "");
    uint64_t len = 0, cap = 65536;
    char *buf = pg_host->alloc(cap);
    if (!buf)
        return pg_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    for (;;) {
        if (cap - len < 65536) {
            char *nb = cap * 2 <= PG_BLOB_MAX ? pg_host->realloc(buf, cap * 2) : NULL;
            if (!nb) {
                pg_host->free(buf);
                return pg_host->error_set(err, cap * 2 > PG_BLOB_MAX ? ORCH_E_INVALID_ARG
                                                                     : ORCH_E_NOMEM,
                                          "blob %s: %s", key,
                                          cap * 2 > PG_BLOB_MAX
                                              ? "larger than the 1 GiB a PostgreSQL blob "
                                                "holds (use store-s3 for artifacts:)"
                                              : "out of memory");
            }
            buf = nb;
            cap *= 2;
        }
        int64_t n = rd(ud, buf + len, cap - len);
        if (n < 0) {
            pg_host->free(buf);
            return pg_host->error_set(err, ORCH_E_IO, "reading blob %s failed", key);
        }
        if (n == 0)
            break;
        len += (uint64_t)n;
    }
    struct pg_args a = {0};
    pg_arg_text(&a, key);
    pg_arg_bytes(&a, buf, (size_t)len);
    pg_arg_int(&a, (int64_t)len);
    PGresult *r = pg_exec(st, PG_BLOB_PUT, &a, 0, err);
    pg_host->free(buf);
    if (!r)
        return err->code;
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_blob_get(struct orch_store *st, const char *key, orch_write_fn wr, void *ud,
                        struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, key);
    PGresult *r = pg_exec(st, PG_BLOB_GET, &a, 1, err);
    if (!r)
        return err->code;
    if (PQntuples(r) == 0) {
        PQclear(r);
        return pg_host->error_set(err, ORCH_E_NOT_FOUND, "no blob %s", key);
    }
    const char *data = PQgetvalue(r, 0, 0);
    uint64_t len = (uint64_t)PQgetlength(r, 0, 0);
    orch_status rc = ORCH_OK;
    for (uint64_t off = 0; off < len; off += 65536) {
        uint64_t n = len - off < 65536 ? len - off : 65536;
        if (wr(ud, data + off, n) != 0) {
            rc = pg_host->error_set(err, ORCH_E_CANCELLED, "blob %s: the reader stopped", key);
            break;
        }
    }
    PQclear(r);
    return rc;
}

orch_status pg_blob_delete(struct orch_store *st, const char *key, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, key);
    PGresult *r = pg_exec(st, PG_BLOB_DELETE, &a, 0, err);
    if (!r)
        return err->code;
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_blob_list(struct orch_store *st, const char *prefix, orch_blob_fn fn,
                         void *ud, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, prefix ? prefix : "");
    PGresult *r = pg_exec(st, PG_BLOB_LIST, &a, 0, err);
    if (!r)
        return err->code;
    for (int i = 0; i < PQntuples(r); i++)
        if (fn(ud, pg_text(r, i, 0), (uint64_t)pg_int(r, i, 1)) != 0)
            break;
    PQclear(r);
    return ORCH_OK;
}
