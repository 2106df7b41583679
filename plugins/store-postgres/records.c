/* Step attempts, the event ledger, step logs, the instance ownership
 * ledger and control flags. */
#include <string.h>

#include "postgres.h"

/* A statement whose result is only its success. */
static orch_status pg_write(struct orch_store *st, enum pg_stmt which, struct pg_args *a,
                            struct orch_error *err)
{
    PGresult *r = pg_exec(st, which, a, 0, err);
    if (!r)
        return err->code;
    PQclear(r);
    return ORCH_OK;
}

/* Whether the attempt row already holds what a was to write: the first of
 * two sends over a reconnect took effect. */
static int pg_attempt_is(struct orch_store *st, const struct orch_attempt_rec *a,
                         struct orch_error *err)
{
    struct pg_args k = {0};
    pg_arg_text(&k, a->run_id);
    pg_arg_text(&k, a->step_id);
    pg_arg_int(&k, a->attempt);
    PGresult *r = pg_exec(st, PG_ATT_STATE, &k, 0, err);
    if (!r)
        return 0;
    const char *owner = PQntuples(r) ? pg_text(r, 0, 1) : NULL;
    int same = PQntuples(r) && (uint32_t)pg_int(r, 0, 0) == a->state &&
               pg_int(r, 0, 2) == a->finished_ns &&
               (owner ? a->owner && !strcmp(owner, a->owner) : !a->owner);
    PQclear(r);
    return same;
}

orch_status pg_attempt_cas(struct orch_store *st, const struct orch_attempt_rec *a,
                           uint32_t expect_state, struct orch_error *err)
{
    struct pg_args p = {0};
    pg_arg_text(&p, a->run_id);
    pg_arg_text(&p, a->step_id);
    pg_arg_int(&p, a->attempt);
    pg_arg_int(&p, a->state);
    pg_arg_int(&p, a->exit_code);
    pg_arg_text(&p, a->owner);
    pg_arg_text(&p, a->instance_id);
    pg_arg_text(&p, a->outputs_json);
    pg_arg_text(&p, a->error);
    pg_arg_int(&p, a->status);
    pg_arg_int(&p, a->started_ns);
    pg_arg_int(&p, a->finished_ns);
    if (expect_state)
        pg_arg_int(&p, expect_state);
    PGresult *r = pg_exec(st, expect_state ? PG_ATT_UPDATE : PG_ATT_INSERT, &p, 0, err);
    if (!r)
        return err->code;
    int64_t n = pg_affected(r);
    int retried = st->retried;
    PQclear(r);
    if (n == 1 || (retried && pg_attempt_is(st, a, err)))
        return ORCH_OK;
    if (!expect_state)
        return pg_host->error_set(err, ORCH_E_EXISTS, "attempt %u of step %s exists",
                                  a->attempt, a->step_id);
    return pg_host->error_set(err, ORCH_E_CONFLICT,
                              "attempt %u of step %s is no longer %s or the run changed "
                              "owner",
                              a->attempt, a->step_id, orch_step_state_name(expect_state));
}

orch_status pg_attempt_list(struct orch_store *st, const char *run_id, orch_attempt_fn fn,
                            void *ud, struct orch_error *err)
{
    struct pg_args k = {0};
    pg_arg_text(&k, run_id);
    PGresult *r = pg_exec(st, PG_ATT_LIST, &k, 0, err);
    if (!r)
        return err->code;
    for (int i = 0; i < PQntuples(r); i++) {
        struct orch_attempt_rec a = {
            .struct_size = sizeof a,
            .run_id = pg_text(r, i, 0),
            .step_id = pg_text(r, i, 1),
            .attempt = (uint32_t)pg_int(r, i, 2),
            .state = (uint32_t)pg_int(r, i, 3),
            .exit_code = (int32_t)pg_int(r, i, 4),
            .owner = pg_text(r, i, 5),
            .instance_id = pg_text(r, i, 6),
            .outputs_json = pg_text(r, i, 7),
            .error = pg_text(r, i, 8),
            .status = (orch_status)pg_int(r, i, 9),
            .started_ns = pg_int(r, i, 10),
            .finished_ns = pg_int(r, i, 11),
        };
        if (fn(ud, &a) != 0)
            break;
    }
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_event_append(struct orch_store *st, const char *run_id, const char *type,
                            const char *data_json, int64_t ts_ns, int64_t *seq,
                            struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, run_id);
    pg_arg_text(&a, type);
    pg_arg_text(&a, data_json);
    pg_arg_int(&a, ts_ns);
    PGresult *r = pg_exec(st, PG_EV_INSERT, &a, 0, err);
    if (!r)
        return err->code;
    if (seq)
        *seq = pg_int(r, 0, 0);
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_event_list(struct orch_store *st, const char *run_id, int64_t after_seq,
                          uint32_t limit, orch_event_fn fn, void *ud, struct orch_error *err)
{
    struct pg_args a = {0};
    if (run_id)
        pg_arg_text(&a, run_id);
    pg_arg_int(&a, after_seq);
    if (limit)
        pg_arg_int(&a, limit);
    else
        pg_arg_text(&a, NULL);
    PGresult *r = pg_exec(st, run_id ? PG_EV_LIST_RUN : PG_EV_LIST, &a, 0, err);
    if (!r)
        return err->code;
    for (int i = 0; i < PQntuples(r); i++) {
        struct orch_event_rec e = {
            .struct_size = sizeof e,
            .seq = pg_int(r, i, 0),
            .run_id = pg_text(r, i, 1),
            .type = pg_text(r, i, 2),
            .data_json = pg_text(r, i, 3),
            .ts_ns = pg_int(r, i, 4),
        };
        if (fn(ud, &e) != 0)
            break;
    }
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_log_append(struct orch_store *st, const char *run_id, const char *step_id,
                          uint32_t attempt, uint32_t stream, const char *data, uint64_t len,
                          int64_t ts_ns, struct orch_error *err)
{
    if (len > 0x7fffffff)
        return pg_host->error_set(err, ORCH_E_INVALID_ARG, "log chunk too large");
    struct pg_args a = {0};
    pg_arg_text(&a, run_id);
    pg_arg_text(&a, step_id);
    pg_arg_int(&a, attempt);
    pg_arg_int(&a, stream);
    pg_arg_bytes(&a, data, (size_t)len);
    pg_arg_int(&a, ts_ns);
    return pg_write(st, PG_LOG_INSERT, &a, err);
}

/* Rows per page of a log read: the engine writes rows of up to ~64 KiB, so
 * a page holds about 1 MiB of the log at most. */
#define PG_LOG_PAGE_ROWS 16

orch_status pg_log_read(struct orch_store *st, const char *run_id, const char *step_id,
                        uint32_t attempt, int64_t after_seq, orch_log_fn fn, void *ud,
                        struct orch_error *err)
{
    for (;;) {
        struct pg_args a = {0};
        pg_arg_text(&a, run_id);
        if (step_id) {
            pg_arg_text(&a, step_id);
            pg_arg_int(&a, attempt);
        }
        pg_arg_int(&a, after_seq);
        pg_arg_int(&a, PG_LOG_PAGE_ROWS);
        /* Binary results: log bytes come back as they went in. */
        PGresult *r = pg_exec(st, step_id ? PG_LOG_READ : PG_LOG_READ_ALL, &a, 1, err);
        if (!r)
            return err->code;
        int rows = PQntuples(r), stop = 0;
        for (int i = 0; i < rows && !stop; i++) {
            struct orch_log_rec l = {
                .struct_size = sizeof l,
                .seq = pg_int(r, i, 0),
                .stream = (uint32_t)pg_int(r, i, 1),
                .data = PQgetvalue(r, i, 2),
                .len = (uint64_t)PQgetlength(r, i, 2),
                .ts_ns = pg_int(r, i, 3),
            };
            after_seq = l.seq;
            stop = fn(ud, &l) != 0;
        }
        PQclear(r);
        if (stop || rows < PG_LOG_PAGE_ROWS)
            return ORCH_OK;
    }
}

orch_status pg_instance_put(struct orch_store *st, const struct orch_instance_rec *i,
                            struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, i->id);
    pg_arg_int(&a, i->state);
    pg_arg_text(&a, i->backend);
    pg_arg_text(&a, i->run_id);
    pg_arg_text(&a, i->backend_id);
    pg_arg_text(&a, i->handle);
    pg_arg_text(&a, i->labels_json);
    pg_arg_text(&a, i->owner);
    pg_arg_int(&a, i->created_ns);
    pg_arg_int(&a, i->updated_ns);
    pg_arg_int(&a, i->last_used_ns);
    return pg_write(st, PG_INST_PUT, &a, err);
}

orch_status pg_instance_list(struct orch_store *st, const char *run_id, orch_instance_fn fn,
                             void *ud, struct orch_error *err)
{
    struct pg_args a = {0};
    if (run_id)
        pg_arg_text(&a, run_id);
    PGresult *r = pg_exec(st, run_id ? PG_INST_LIST : PG_INST_LIST_ALL, &a, 0, err);
    if (!r)
        return err->code;
    for (int k = 0; k < PQntuples(r); k++) {
        struct orch_instance_rec i = {
            .struct_size = sizeof i,
            .id = pg_text(r, k, 0),
            .state = (uint32_t)pg_int(r, k, 1),
            .backend = pg_text(r, k, 2),
            .run_id = pg_text(r, k, 3),
            .backend_id = pg_text(r, k, 4),
            .handle = pg_text(r, k, 5),
            .labels_json = pg_text(r, k, 6),
            .owner = pg_text(r, k, 7),
            .created_ns = pg_int(r, k, 8),
            .updated_ns = pg_int(r, k, 9),
            .last_used_ns = pg_int(r, k, 10),
        };
        if (fn(ud, &i) != 0)
            break;
    }
    PQclear(r);
    return ORCH_OK;
}

orch_status pg_instance_delete(struct orch_store *st, const char *id, struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, id);
    return pg_write(st, PG_INST_DELETE, &a, err);
}

orch_status pg_flag_set(struct orch_store *st, const char *name, const char *value,
                        struct orch_error *err)
{
    struct pg_args a = {0};
    pg_arg_text(&a, name);
    if (value)
        pg_arg_text(&a, value);
    orch_status rc = pg_write(st, value ? PG_FLAG_SET : PG_FLAG_DELETE, &a, err);
    if (rc == ORCH_OK)
        pg_wake(st); /* pause, resume, cancel: every daemon looks now */
    return rc;
}

orch_status pg_flag_list(struct orch_store *st, orch_flag_fn fn, void *ud,
                         struct orch_error *err)
{
    PGresult *r = pg_exec(st, PG_FLAG_LIST, NULL, 0, err);
    if (!r)
        return err->code;
    for (int i = 0; i < PQntuples(r); i++)
        if (fn(ud, pg_text(r, i, 0), pg_text(r, i, 1)) != 0)
            break;
    PQclear(r);
    return ORCH_OK;
}
