/* Runs: create (idempotent by key), get, list, compare-and-set, and the
 * lease-based claiming that lets several daemons share one database. */
#include <stdio.h>
#include <string.h>

#include "sqlite.h"

static int32_t sq_emit_run(sqlite3_stmt *s, orch_run_fn fn, void *ud)
{
    struct orch_run_rec r = {
        .struct_size = sizeof r,
        .id = sq_col_text(s, 0),
        .workflow = sq_col_text(s, 1),
        .state = (uint32_t)sqlite3_column_int(s, 2),
        .idempotency_key = sq_col_text(s, 3),
        .inputs_json = sq_col_text(s, 4),
        .source = sq_col_text(s, 5),
        .source_path = sq_col_text(s, 6),
        .owner = sq_col_text(s, 7),
        .error = sq_col_text(s, 8),
        .created_ns = sqlite3_column_int64(s, 9),
        .updated_ns = sqlite3_column_int64(s, 10),
        .lease_expires_ns = sqlite3_column_int64(s, 11),
        .not_before_ns = sqlite3_column_int64(s, 12),
    };
    return fn ? fn(ud, &r) : 0;
}

/* Run every row of s through fn; fn returning non-zero stops early. */
orch_status sq_each_run(struct orch_store *st, sqlite3_stmt *s, orch_run_fn fn, void *ud,
                        int *found, struct orch_error *err)
{
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (found)
            *found = 1;
        if (sq_emit_run(s, fn, ud) != 0)
            break;
    }
    orch_status out = rc == SQLITE_ROW || rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "runs");
    sqlite3_reset(s);
    return out;
}

orch_status sq_run_create(struct orch_store *st, const struct orch_run_rec *r,
                          orch_run_fn fn, void *ud, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_RUN_INSERT, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, r->id);
    sq_bind_text(s, 2, r->workflow);
    sqlite3_bind_int(s, 3, (int)r->state);
    sq_bind_text(s, 4, r->idempotency_key);
    sq_bind_text(s, 5, r->inputs_json);
    sq_bind_text(s, 6, r->source);
    sq_bind_text(s, 7, r->source_path);
    sq_bind_text(s, 8, r->owner);
    sq_bind_text(s, 9, r->error);
    sqlite3_bind_int64(s, 10, r->created_ns);
    sqlite3_bind_int64(s, 11, r->updated_ns);
    sqlite3_bind_int64(s, 12, r->lease_expires_ns);
    sqlite3_bind_int64(s, 13, r->not_before_ns);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_DONE)
        return ORCH_OK;
    if (rc == SQLITE_CONSTRAINT && r->idempotency_key) {
        sqlite3_stmt *k = sq_stmt(st, SQ_RUN_BY_KEY, err);
        if (!k)
            return err->code;
        sq_bind_text(k, 1, r->idempotency_key);
        int found = 0;
        orch_status o = sq_each_run(st, k, fn, ud, &found, err);
        if (o != ORCH_OK)
            return o;
        if (found)
            return sq_host->error_set(err, ORCH_E_EXISTS,
                                      "a run with idempotency key '%s' already exists",
                                      r->idempotency_key);
    }
    return sq_fail(st, err, "create run");
}

orch_status sq_run_get(struct orch_store *st, const char *id, orch_run_fn fn, void *ud,
                       struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_RUN_GET, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, id);
    int found = 0;
    orch_status rc = sq_each_run(st, s, fn, ud, &found, err);
    if (rc == ORCH_OK && !found)
        return sq_host->error_set(err, ORCH_E_NOT_FOUND, "no run %s", id);
    return rc;
}

orch_status sq_run_list(struct orch_store *st, const struct orch_run_filter *f,
                        orch_run_fn fn, void *ud, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_RUN_LIST, err);
    if (!s)
        return err->code;
    sqlite3_bind_int(s, 1, f ? (int)f->state : 0);
    sq_bind_text(s, 2, f ? f->workflow : NULL);
    sqlite3_bind_int64(s, 3, f ? f->created_after_ns : 0);
    sqlite3_bind_int64(s, 4, f && f->limit ? (int64_t)f->limit : -1);
    return sq_each_run(st, s, fn, ud, NULL, err);
}

orch_status sq_run_stats(struct orch_store *st, struct orch_run_stats *out,
                         struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_RUN_STATS, err);
    if (!s)
        return err->code;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int state = sqlite3_column_int(s, 0);
        if (state >= 0 && state < 8)
            out->by_state[state] = (uint64_t)sqlite3_column_int64(s, 1);
        if (state == (int)ORCH_RUN_QUEUED)
            out->oldest_queued_ns = sqlite3_column_int64(s, 2);
    }
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "count runs");
}

orch_status sq_run_cas(struct orch_store *st, const char *id, uint32_t expect_state,
                       const char *expect_owner, uint32_t new_state, const char *error,
                       int64_t now_ns, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_RUN_CAS, err);
    if (!s)
        return err->code;
    sqlite3_bind_int(s, 1, (int)new_state);
    sq_bind_text(s, 2, error);
    sqlite3_bind_int64(s, 3, now_ns);
    sq_bind_text(s, 4, id);
    sqlite3_bind_int(s, 5, (int)expect_state);
    sq_bind_text(s, 6, expect_owner);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(st, err, "update run");
    if (sqlite3_changes(st->db) == 1)
        return ORCH_OK;
    sqlite3_stmt *e = sq_stmt(st, SQ_RUN_EXISTS, err);
    if (!e)
        return err->code;
    sq_bind_text(e, 1, id);
    int exists = sqlite3_step(e) == SQLITE_ROW;
    uint32_t cur = exists ? (uint32_t)sqlite3_column_int(e, 0) : 0;
    sqlite3_reset(e);
    if (!exists)
        return sq_host->error_set(err, ORCH_E_NOT_FOUND, "no run %s", id);
    return sq_host->error_set(err, ORCH_E_CONFLICT,
                              "run %s changed under us (state %s, expected %s)", id,
                              orch_run_state_name(cur), orch_run_state_name(expect_state));
}

orch_status sq_run_claim(struct orch_store *st, const char *owner, int64_t ttl_ms,
                         int64_t now_ns, orch_run_fn fn, void *ud, struct orch_error *err)
{
    /* BEGIN IMMEDIATE takes the write lock first, so two processes can
     * never pick the same row. */
    orch_status rc = sq_exec(st, "BEGIN IMMEDIATE", err);
    if (rc != ORCH_OK)
        return rc;
    /* The older of the two picks (created_ns, then id), as one query
     * over both would give. */
    char id[128] = "";
    int64_t id_created = 0;
    for (int k = 0; k < 2; k++) {
        sqlite3_stmt *p = sq_stmt(st, k ? SQ_CLAIM_EXPIRED : SQ_CLAIM_QUEUED, err);
        if (!p)
            goto fail;
        sqlite3_bind_int64(p, 1, now_ns);
        int step = sqlite3_step(p);
        if (step == SQLITE_ROW) {
            const char *got = sq_col_text(p, 0);
            int64_t created = sqlite3_column_int64(p, 1);
            if (!id[0] || created < id_created ||
                (created == id_created && strcmp(got, id) < 0)) {
                snprintf(id, sizeof id, "%s", got);
                id_created = created;
            }
        }
        sqlite3_reset(p);
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            sq_fail(st, err, "claim");
            goto fail;
        }
    }
    if (!id[0]) {
        sq_exec(st, "COMMIT", err);
        return sq_host->error_set(err, ORCH_E_NOT_FOUND, "no run to claim");
    }
    sqlite3_stmt *t = sq_stmt(st, SQ_CLAIM_TAKE, err);
    if (!t)
        goto fail;
    sq_bind_text(t, 1, id);
    sq_bind_text(t, 2, owner);
    sqlite3_bind_int64(t, 3, now_ns + ttl_ms * 1000000);
    sqlite3_bind_int64(t, 4, now_ns);
    int step = sqlite3_step(t);
    sqlite3_reset(t);
    if (step != SQLITE_DONE) {
        sq_fail(st, err, "claim");
        goto fail;
    }
    if ((rc = sq_exec(st, "COMMIT", err)) != ORCH_OK)
        goto fail;
    return sq_run_get(st, id, fn, ud, err);
fail:
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return err->code ? err->code : ORCH_E_IO;
}

orch_status sq_run_heartbeat(struct orch_store *st, const char *id, const char *owner,
                             int64_t ttl_ms, int64_t now_ns, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, ttl_ms ? SQ_HEARTBEAT : SQ_RELEASE_RUN, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, id);
    sq_bind_text(s, 2, owner);
    if (ttl_ms)
        sqlite3_bind_int64(s, 3, now_ns + ttl_ms * 1000000);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return sq_fail(st, err, "heartbeat");
    if (sqlite3_changes(st->db) != 1)
        return sq_host->error_set(err, ORCH_E_CONFLICT, "run %s is no longer owned by %s",
                                  id, owner);
    return ORCH_OK;
}
