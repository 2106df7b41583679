/* Step attempts, the event ledger, step logs, the instance ownership
 * ledger and control flags. */
#include <string.h>

#include "sqlite.h"

/* Step s to completion, mapping errors; for single-row writes. */
static orch_status sq_step_done(struct orch_store *st, sqlite3_stmt *s, const char *what,
                                struct orch_error *err)
{
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, what);
}

orch_status sq_attempt_cas(struct orch_store *st, const struct orch_attempt_rec *a,
                           uint32_t expect_state, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, expect_state ? SQ_ATT_UPDATE : SQ_ATT_INSERT, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, a->run_id);
    sq_bind_text(s, 2, a->step_id);
    sqlite3_bind_int(s, 3, (int)a->attempt);
    sqlite3_bind_int(s, 4, (int)a->state);
    sqlite3_bind_int(s, 5, a->exit_code);
    sq_bind_text(s, 6, a->owner);
    sq_bind_text(s, 7, a->instance_id);
    sq_bind_text(s, 8, a->outputs_json);
    sq_bind_text(s, 9, a->error);
    sqlite3_bind_int(s, 10, (int)a->status);
    sqlite3_bind_int64(s, 11, a->started_ns);
    sqlite3_bind_int64(s, 12, a->finished_ns);
    if (expect_state)
        sqlite3_bind_int(s, 13, (int)expect_state);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc == SQLITE_CONSTRAINT && !expect_state)
        return sq_host->error_set(err, ORCH_E_EXISTS, "attempt %u of step %s exists",
                                  a->attempt, a->step_id);
    if (rc != SQLITE_DONE)
        return sq_fail(st, err, "attempt");
    if (expect_state && sqlite3_changes(st->db) != 1)
        return sq_host->error_set(err, ORCH_E_CONFLICT,
                                  "attempt %u of step %s is no longer %s or the run "
                                  "changed owner",
                                  a->attempt, a->step_id, orch_step_state_name(expect_state));
    return ORCH_OK;
}

orch_status sq_attempt_list(struct orch_store *st, const char *run_id, orch_attempt_fn fn,
                            void *ud, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_ATT_LIST, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct orch_attempt_rec a = {
            .struct_size = sizeof a,
            .run_id = sq_col_text(s, 0),
            .step_id = sq_col_text(s, 1),
            .attempt = (uint32_t)sqlite3_column_int(s, 2),
            .state = (uint32_t)sqlite3_column_int(s, 3),
            .exit_code = sqlite3_column_int(s, 4),
            .owner = sq_col_text(s, 5),
            .instance_id = sq_col_text(s, 6),
            .outputs_json = sq_col_text(s, 7),
            .error = sq_col_text(s, 8),
            .status = (orch_status)sqlite3_column_int(s, 9),
            .started_ns = sqlite3_column_int64(s, 10),
            .finished_ns = sqlite3_column_int64(s, 11),
        };
        if (fn(ud, &a) != 0)
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "attempts");
}

orch_status sq_event_append(struct orch_store *st, const char *run_id, const char *type,
                            const char *data_json, int64_t ts_ns, int64_t *seq,
                            struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_EV_INSERT, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, run_id);
    sq_bind_text(s, 2, type);
    sq_bind_text(s, 3, data_json);
    sqlite3_bind_int64(s, 4, ts_ns);
    orch_status rc = sq_step_done(st, s, "append event", err);
    if (rc == ORCH_OK && seq)
        *seq = sqlite3_last_insert_rowid(st->db);
    return rc;
}

orch_status sq_event_list(struct orch_store *st, const char *run_id, int64_t after_seq,
                          uint32_t limit, orch_event_fn fn, void *ud, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_EV_LIST, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, run_id);
    sqlite3_bind_int64(s, 2, after_seq);
    sqlite3_bind_int64(s, 3, limit ? (int64_t)limit : -1);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct orch_event_rec e = {
            .struct_size = sizeof e,
            .seq = sqlite3_column_int64(s, 0),
            .run_id = sq_col_text(s, 1),
            .type = sq_col_text(s, 2),
            .data_json = sq_col_text(s, 3),
            .ts_ns = sqlite3_column_int64(s, 4),
        };
        if (fn(ud, &e) != 0)
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "events");
}

orch_status sq_log_append(struct orch_store *st, const char *run_id, const char *step_id,
                          uint32_t attempt, uint32_t stream, const char *data, uint64_t len,
                          int64_t ts_ns, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_LOG_INSERT, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, run_id);
    sq_bind_text(s, 2, step_id);
    sqlite3_bind_int(s, 3, (int)attempt);
    sqlite3_bind_int(s, 4, (int)stream);
    sqlite3_bind_blob64(s, 5, data, len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 6, ts_ns);
    return sq_step_done(st, s, "append log", err);
}

orch_status sq_log_read(struct orch_store *st, const char *run_id, const char *step_id,
                        uint32_t attempt, int64_t after_seq, orch_log_fn fn, void *ud,
                        struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, step_id ? SQ_LOG_READ : SQ_LOG_READ_ALL, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, run_id);
    if (step_id) {
        sq_bind_text(s, 2, step_id);
        sqlite3_bind_int(s, 3, (int)attempt);
        sqlite3_bind_int64(s, 4, after_seq);
    } else {
        sqlite3_bind_int64(s, 2, after_seq);
    }
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct orch_log_rec l = {
            .struct_size = sizeof l,
            .seq = sqlite3_column_int64(s, 0),
            .stream = (uint32_t)sqlite3_column_int(s, 1),
            .data = sqlite3_column_blob(s, 2),
            .len = (uint64_t)sqlite3_column_bytes(s, 2),
            .ts_ns = sqlite3_column_int64(s, 3),
        };
        if (fn(ud, &l) != 0)
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "logs");
}

orch_status sq_instance_put(struct orch_store *st, const struct orch_instance_rec *i,
                            struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_INST_PUT, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, i->id);
    sqlite3_bind_int(s, 2, (int)i->state);
    sq_bind_text(s, 3, i->backend);
    sq_bind_text(s, 4, i->run_id);
    sq_bind_text(s, 5, i->backend_id);
    sq_bind_text(s, 6, i->handle);
    sq_bind_text(s, 7, i->labels_json);
    sq_bind_text(s, 8, i->owner);
    sqlite3_bind_int64(s, 9, i->created_ns);
    sqlite3_bind_int64(s, 10, i->updated_ns);
    sqlite3_bind_int64(s, 11, i->last_used_ns);
    return sq_step_done(st, s, "record instance", err);
}

orch_status sq_instance_list(struct orch_store *st, const char *run_id, orch_instance_fn fn,
                             void *ud, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, run_id ? SQ_INST_LIST : SQ_INST_LIST_ALL, err);
    if (!s)
        return err->code;
    if (run_id)
        sq_bind_text(s, 1, run_id);
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct orch_instance_rec i = {
            .struct_size = sizeof i,
            .id = sq_col_text(s, 0),
            .state = (uint32_t)sqlite3_column_int(s, 1),
            .backend = sq_col_text(s, 2),
            .run_id = sq_col_text(s, 3),
            .backend_id = sq_col_text(s, 4),
            .handle = sq_col_text(s, 5),
            .labels_json = sq_col_text(s, 6),
            .owner = sq_col_text(s, 7),
            .created_ns = sqlite3_column_int64(s, 8),
            .updated_ns = sqlite3_column_int64(s, 9),
            .last_used_ns = sqlite3_column_int64(s, 10),
        };
        if (fn(ud, &i) != 0)
            break;
    }
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "instances");
}

orch_status sq_instance_delete(struct orch_store *st, const char *id, struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_INST_DELETE, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, id);
    return sq_step_done(st, s, "delete instance", err);
}

orch_status sq_flag_set(struct orch_store *st, const char *name, const char *value,
                        struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, value ? SQ_FLAG_SET : SQ_FLAG_DELETE, err);
    if (!s)
        return err->code;
    sq_bind_text(s, 1, name);
    if (value)
        sq_bind_text(s, 2, value);
    return sq_step_done(st, s, "flag", err);
}

orch_status sq_flag_list(struct orch_store *st, orch_flag_fn fn, void *ud,
                         struct orch_error *err)
{
    sqlite3_stmt *s = sq_stmt(st, SQ_FLAG_LIST, err);
    if (!s)
        return err->code;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (fn(ud, sq_col_text(s, 0), sq_col_text(s, 1)) != 0)
            break;
    sqlite3_reset(s);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ORCH_OK : sq_fail(st, err, "flags");
}
