/* Blobs: artifacts kept in the database. Streamed in through the reader
 * into memory (SQLite writes a blob in one piece), out in 64 KiB pieces. */
#include <string.h>

#include <orch/kit.h>

#include "sqlite.h"

orch_status sq_blob_put(struct orch_store *st, const char *key, orch_read_fn rd, void *ud,
                        struct orch_error *err)
{
    if (!pk_blob_key_ok(key))
        return sq_host->error_set(err, ORCH_E_INVALID_ARG, "invalid blob key '%s'",
                                  key ? key : "");
    uint64_t len = 0, cap = 65536;
    char *buf = sq_host->alloc(cap);
    if (!buf)
        return sq_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    for (;;) {
        if (cap - len < 65536) {
            char *nb = sq_host->realloc(buf, cap * 2);
            if (!nb) {
                sq_host->free(buf);
                return sq_host->error_set(err, ORCH_E_NOMEM, "out of memory");
            }
            buf = nb;
            cap *= 2;
        }
        int64_t n = rd(ud, buf + len, cap - len);
        if (n < 0) {
            sq_host->free(buf);
            return sq_host->error_set(err, ORCH_E_IO, "reading blob %s failed", key);
        }
        if (n == 0)
            break;
        len += (uint64_t)n;
    }
    sqlite3_stmt *s = sq_stmt(st, SQ_BLOB_PUT, err);
    orch_status rc = err->code;
    if (s) {
        sq_bind_text(s, 1, key);
        sqlite3_bind_blob64(s, 2, buf, len, SQLITE_STATIC);
        sqlite3_bind_int64(s, 3, (int64_t)len);
        int r = sqlite3_step(s);
        sqlite3_reset(s);
        rc = r == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "put blob");
    }
    sq_host->free(buf);
    return rc;
}

orch_status sq_blob_get(struct orch_store *st, const char *key, orch_write_fn wr, void *ud,
                        struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_BLOB_GET, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, key);
    int r = sqlite3_step(s);
    if (r != SQLITE_ROW) {
        sqlite3_reset(s);
        return r == SQLITE_DONE ? sq_host->error_set(err, ORCH_E_NOT_FOUND, "no blob %s", key)
                                : sq_fail(st, err, "get blob");
    }
    const char *data = sqlite3_column_blob(s, 0);
    uint64_t len = (uint64_t)sqlite3_column_bytes(s, 0);
    orch_status rc = ORCH_OK;
    for (uint64_t off = 0; off < len; off += 65536) {
        uint64_t n = len - off < 65536 ? len - off : 65536;
        if (wr(ud, data + off, n) != 0) {
            rc = sq_host->error_set(err, ORCH_E_CANCELLED, "blob %s: the reader stopped", key);
            break;
        }
    }
    sqlite3_reset(s);
    return rc;
}

orch_status sq_blob_delete(struct orch_store *st, const char *key, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_BLOB_DELETE, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, key);
    int r = sqlite3_step(s);
    sqlite3_reset(s);
    return r == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "delete blob");
}

orch_status sq_blob_list(struct orch_store *st, const char *prefix, orch_blob_fn fn,
                         void *ud, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_BLOB_LIST, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, prefix ? prefix : "");
    int r;
    while ((r = sqlite3_step(s)) == SQLITE_ROW)
        if (fn(ud, sq_col_text(s, 0), (uint64_t)sqlite3_column_int64(s, 1)) != 0)
            break;
    sqlite3_reset(s);
    return r == SQLITE_ROW || r == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "list blobs");
}
