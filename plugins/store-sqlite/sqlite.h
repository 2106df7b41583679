/* store-sqlite internals: one handle per open store, prepared statements
 * kept for its lifetime. */
#ifndef STORE_SQLITE_H
#define STORE_SQLITE_H

#include <orch/orch.h>
#include <sqlite3.h>

extern const struct orch_host *sq_host;

struct sq_cfg {
    const char *path;
    int64_t busy_timeout_ms;
    const char *synchronous;
};

enum sq_stmt {
    SQ_RUN_INSERT, SQ_RUN_GET, SQ_RUN_BY_KEY, SQ_RUN_LIST, SQ_RUN_CAS, SQ_RUN_EXISTS,
    SQ_ATT_INSERT, SQ_ATT_UPDATE, SQ_ATT_LIST,
    SQ_EV_INSERT, SQ_EV_LIST,
    SQ_LOG_INSERT, SQ_LOG_READ, SQ_LOG_READ_ALL,
    SQ_INST_PUT, SQ_INST_LIST, SQ_INST_LIST_ALL, SQ_INST_DELETE,
    SQ_FLAG_SET, SQ_FLAG_DELETE, SQ_FLAG_LIST,
    SQ_LEASE_ACQUIRE, SQ_LEASE_GET, SQ_LEASE_RELEASE, SQ_LEASE_LIST,
    SQ_CLAIM_QUEUED, SQ_CLAIM_EXPIRED, SQ_CLAIM_TAKE, SQ_HEARTBEAT, SQ_RELEASE_RUN,
    SQ_BLOB_PUT, SQ_BLOB_GET, SQ_BLOB_DELETE, SQ_BLOB_LIST,
    SQ_RUN_STATS,
    SQ_TICK_INSERT, SQ_TICK_LIST, SQ_TICK_PRUNE_AGE, SQ_TICK_PRUNE_KEEP,
    SQ_RUN_LIST_ENDED, SQ_PURGE_CHECK, SQ_PURGE_ATT, SQ_PURGE_EV, SQ_PURGE_LOG_SUM,
    SQ_PURGE_LOGS, SQ_PURGE_INST, SQ_PURGE_RUN,
    SQ_STMT_COUNT_
};

struct orch_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[SQ_STMT_COUNT_];
    int in_txn;
    const char *deferred_sync; /* see sq_settle */
};

/* conn.c. A new database takes its schema without syncs (losing it leaves an empty
 * file, made again at the next open); the configured synchronous level
 * applies from the first statement after the migration. */
void sq_settle(struct orch_store *st);

/* The statement, reset and with bindings cleared; NULL with err set. */
sqlite3_stmt *sq_stmt(struct orch_store *st, enum sq_stmt which, struct orch_error *err);
orch_status sq_fail(struct orch_store *st, struct orch_error *err, const char *what);
orch_status sq_exec(struct orch_store *st, const char *sql, struct orch_error *err);
void sq_bind_text(sqlite3_stmt *s, int i, const char *v);
const char *sq_col_text(sqlite3_stmt *s, int i);
/* statements.c: the SQL of one prepared statement. */
const char *sq_stmt_text(enum sq_stmt which);

orch_status sq_schema_version(struct orch_store *st, int32_t *current, int32_t *supported,
                              struct orch_error *err);
orch_status sq_migrate(struct orch_store *st, int32_t dry_run, char **plan,
                       struct orch_error *err);
orch_status sq_txn_begin(struct orch_store *st, struct orch_error *err);
orch_status sq_txn_commit(struct orch_store *st, struct orch_error *err);
orch_status sq_txn_rollback(struct orch_store *st, struct orch_error *err);

/* runs.c */
orch_status sq_run_create(struct orch_store *, const struct orch_run_rec *, orch_run_fn,
                          void *, struct orch_error *);
orch_status sq_run_get(struct orch_store *, const char *, orch_run_fn, void *,
                       struct orch_error *);
orch_status sq_run_stats(struct orch_store *, struct orch_run_stats *, struct orch_error *);
orch_status sq_run_list(struct orch_store *, const struct orch_run_filter *, orch_run_fn,
                        void *, struct orch_error *);
orch_status sq_run_cas(struct orch_store *, const char *, uint32_t, const char *, uint32_t,
                       const char *, int64_t, struct orch_error *);
orch_status sq_run_claim(struct orch_store *, const char *, int64_t, int64_t, orch_run_fn,
                         void *, struct orch_error *);
orch_status sq_run_heartbeat(struct orch_store *, const char *, const char *, int64_t,
                             int64_t, struct orch_error *);
/* records.c */
orch_status sq_attempt_cas(struct orch_store *, const struct orch_attempt_rec *, uint32_t,
                           struct orch_error *);
orch_status sq_attempt_list(struct orch_store *, const char *, orch_attempt_fn, void *,
                            struct orch_error *);
orch_status sq_event_append(struct orch_store *, const char *, const char *, const char *,
                            int64_t, int64_t *, struct orch_error *);
orch_status sq_event_list(struct orch_store *, const char *, int64_t, uint32_t,
                          orch_event_fn, void *, struct orch_error *);
orch_status sq_log_append(struct orch_store *, const char *, const char *, uint32_t,
                          uint32_t, const char *, uint64_t, int64_t, struct orch_error *);
orch_status sq_log_read(struct orch_store *, const char *, const char *, uint32_t, int64_t,
                        orch_log_fn, void *, struct orch_error *);
orch_status sq_instance_put(struct orch_store *, const struct orch_instance_rec *,
                            struct orch_error *);
orch_status sq_instance_list(struct orch_store *, const char *, orch_instance_fn, void *,
                             struct orch_error *);
orch_status sq_instance_delete(struct orch_store *, const char *, struct orch_error *);
orch_status sq_flag_set(struct orch_store *, const char *, const char *,
                        struct orch_error *);
orch_status sq_flag_list(struct orch_store *, orch_flag_fn, void *, struct orch_error *);
/* leases.c */
orch_status sq_lease_acquire(struct orch_store *, const char *, const char *, int64_t,
                             int64_t, int64_t *, struct orch_error *);
orch_status sq_lease_release(struct orch_store *, const char *, const char *,
                             struct orch_error *);
orch_status sq_lease_list(struct orch_store *, orch_lease_fn, void *, struct orch_error *);
/* blobs.c */
orch_status sq_blob_put(struct orch_store *, const char *, orch_read_fn, void *,
                        struct orch_error *);
orch_status sq_blob_get(struct orch_store *, const char *, orch_write_fn, void *,
                        struct orch_error *);
orch_status sq_blob_delete(struct orch_store *, const char *, struct orch_error *);
orch_status sq_blob_list(struct orch_store *, const char *, orch_blob_fn, void *,
                         struct orch_error *);

/* ticks.c */
orch_status sq_tick_append(struct orch_store *, const struct orch_tick_rec *,
                           struct orch_error *);
orch_status sq_tick_list(struct orch_store *, int64_t, uint32_t, orch_tick_fn, void *,
                         struct orch_error *);
orch_status sq_tick_prune(struct orch_store *, int64_t, uint64_t, struct orch_error *);

/* purge.c: run retention (ABI 1.3) and giving the freed pages back. */
orch_status sq_run_list_ended(struct orch_store *, uint32_t, int64_t, const char *, int64_t,
                              uint32_t, orch_run_fn, void *, struct orch_error *);
orch_status sq_run_delete(struct orch_store *, const char *, int64_t, struct orch_run_purge *,
                          struct orch_error *);
orch_status sq_reclaim(struct orch_store *, uint64_t *, struct orch_error *);
/* runs.c: every row of s through fn (non-zero stops), *found set when a
 * row came. */
orch_status sq_each_run(struct orch_store *st, sqlite3_stmt *s, orch_run_fn fn, void *ud,
                        int *found, struct orch_error *err);

#endif
