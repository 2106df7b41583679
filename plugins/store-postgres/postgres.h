/* store-postgres internals: one connection per open store, statements
 * prepared once per connection (again after a reconnect), every value a
 * parameter. */
#ifndef STORE_POSTGRES_H
#define STORE_POSTGRES_H

#include <libpq-fe.h>
#include <orch/orch.h>

extern const struct orch_host *pg_host;

struct pg_cfg {
    const char *conninfo;        /* a URL or key=value string */
    const char *host;
    int64_t port;
    const char *dbname;
    const char *user;
    const char *password;
    const char *sslmode;
    const char *application_name;
    int64_t connect_timeout_ms;
    int64_t reconnect_timeout_ms;
    const char *schema;
};

enum pg_stmt {
    PG_RUN_INSERT, PG_RUN_GET, PG_RUN_BY_KEY, PG_RUN_LIST, PG_RUN_CAS, PG_RUN_STATE,
    PG_ATT_INSERT, PG_ATT_UPDATE, PG_ATT_STATE, PG_ATT_LIST,
    PG_EV_INSERT, PG_EV_LIST, PG_EV_LIST_RUN,
    PG_LOG_INSERT, PG_LOG_READ, PG_LOG_READ_ALL,
    PG_INST_PUT, PG_INST_LIST, PG_INST_LIST_ALL, PG_INST_DELETE,
    PG_FLAG_SET, PG_FLAG_DELETE, PG_FLAG_LIST,
    PG_LEASE_ACQUIRE, PG_LEASE_GET, PG_LEASE_RELEASE, PG_LEASE_LIST,
    PG_CLAIM, PG_HEARTBEAT, PG_RELEASE_RUN,
    PG_BLOB_PUT, PG_BLOB_GET, PG_BLOB_DELETE, PG_BLOB_LIST,
    PG_NOTIFY, PG_RUN_STATS,
    PG_TICK_INSERT, PG_TICK_LIST, PG_TICK_PRUNE_AGE, PG_TICK_PRUNE_KEEP,
    PG_RUN_LIST_ENDED, PG_PURGE_CHECK, PG_PURGE_ATT, PG_PURGE_EV, PG_PURGE_LOGS,
    PG_PURGE_INST, PG_PURGE_RUN,
    PG_STMT_COUNT_
};

struct orch_store {
    PGconn *conn;
    struct pg_cfg cfg;           /* strings owned (host memory) */
    char *schema_ident;          /* the schema, quoted as an identifier */
    uint64_t prepared;           /* bit per enum pg_stmt, for this connection */
    int in_txn;
    int listening;               /* LISTEN issued on this connection */
    int retried;                 /* the last statement was sent again after a reconnect */
};

/* conn.c. Parameters of one statement: text values (NULL = SQL NULL), or binary
 * ones where len[i] > 0 or fmt[i] = 1. */
struct pg_args {
    int n;
    const char *v[16];
    int len[16];
    int fmt[16];
    char nums[16][24];           /* room for integers formatted as text */
};
void pg_arg_text(struct pg_args *a, const char *v);
void pg_arg_int(struct pg_args *a, int64_t v);
void pg_arg_bytes(struct pg_args *a, const void *data, size_t len);

/* Run a prepared statement; a result that is PGRES_COMMAND_OK or
 * PGRES_TUPLES_OK, or NULL with err set. A connection lost outside a
 * transaction is reopened (with backoff, up to reconnect_timeout) and the
 * statement sent once more; st->retried says so, for callers whose
 * statement may have taken effect the first time. binary: results in
 * binary format. */
PGresult *pg_exec(struct orch_store *st, enum pg_stmt which, struct pg_args *a, int binary,
                  struct orch_error *err);
/* Plain SQL without parameters (schema, transactions). */
orch_status pg_sql(struct orch_store *st, const char *sql, struct orch_error *err);
orch_status pg_fail(struct orch_store *st, const PGresult *r, struct orch_error *err,
                    const char *what);
orch_status pg_connect(struct orch_store *st, struct orch_error *err);
/* SQLSTATE of r, "" when none. */
const char *pg_state(const PGresult *r);

/* statements.c: the SQL of one prepared statement. */
const char *pg_stmt_text(enum pg_stmt which);

/* Column helpers: text (NULL for SQL NULL), integers from text or binary. */
const char *pg_text(const PGresult *r, int row, int col);
int64_t pg_int(const PGresult *r, int row, int col);
int64_t pg_affected(const PGresult *r);

orch_status pg_schema_version(struct orch_store *, int32_t *, int32_t *, struct orch_error *);
orch_status pg_migrate(struct orch_store *, int32_t, char **, struct orch_error *);
orch_status pg_txn_begin(struct orch_store *, struct orch_error *);
orch_status pg_txn_commit(struct orch_store *, struct orch_error *);
orch_status pg_txn_rollback(struct orch_store *, struct orch_error *);

/* runs.c */
orch_status pg_run_create(struct orch_store *, const struct orch_run_rec *, orch_run_fn,
                          void *, struct orch_error *);
orch_status pg_run_get(struct orch_store *, const char *, orch_run_fn, void *,
                       struct orch_error *);
orch_status pg_run_stats(struct orch_store *, struct orch_run_stats *, struct orch_error *);
orch_status pg_run_list(struct orch_store *, const struct orch_run_filter *, orch_run_fn,
                        void *, struct orch_error *);
orch_status pg_run_cas(struct orch_store *, const char *, uint32_t, const char *, uint32_t,
                       const char *, int64_t, struct orch_error *);
orch_status pg_run_claim(struct orch_store *, const char *, int64_t, int64_t, orch_run_fn,
                         void *, struct orch_error *);
orch_status pg_run_heartbeat(struct orch_store *, const char *, const char *, int64_t,
                             int64_t, struct orch_error *);
/* records.c */
orch_status pg_attempt_cas(struct orch_store *, const struct orch_attempt_rec *, uint32_t,
                           struct orch_error *);
orch_status pg_attempt_list(struct orch_store *, const char *, orch_attempt_fn, void *,
                            struct orch_error *);
orch_status pg_event_append(struct orch_store *, const char *, const char *, const char *,
                            int64_t, int64_t *, struct orch_error *);
orch_status pg_event_list(struct orch_store *, const char *, int64_t, uint32_t,
                          orch_event_fn, void *, struct orch_error *);
orch_status pg_log_append(struct orch_store *, const char *, const char *, uint32_t,
                          uint32_t, const char *, uint64_t, int64_t, struct orch_error *);
orch_status pg_log_read(struct orch_store *, const char *, const char *, uint32_t, int64_t,
                        orch_log_fn, void *, struct orch_error *);
orch_status pg_instance_put(struct orch_store *, const struct orch_instance_rec *,
                            struct orch_error *);
orch_status pg_instance_list(struct orch_store *, const char *, orch_instance_fn, void *,
                             struct orch_error *);
orch_status pg_instance_delete(struct orch_store *, const char *, struct orch_error *);
orch_status pg_flag_set(struct orch_store *, const char *, const char *, struct orch_error *);
orch_status pg_flag_list(struct orch_store *, orch_flag_fn, void *, struct orch_error *);
/* leases.c */
orch_status pg_lease_acquire(struct orch_store *, const char *, const char *, int64_t,
                             int64_t, int64_t *, struct orch_error *);
orch_status pg_lease_release(struct orch_store *, const char *, const char *,
                             struct orch_error *);
orch_status pg_lease_list(struct orch_store *, orch_lease_fn, void *, struct orch_error *);
/* blobs.c */
orch_status pg_blob_put(struct orch_store *, const char *, orch_read_fn, void *,
                        struct orch_error *);
orch_status pg_blob_get(struct orch_store *, const char *, orch_write_fn, void *,
                        struct orch_error *);
orch_status pg_blob_delete(struct orch_store *, const char *, struct orch_error *);
orch_status pg_blob_list(struct orch_store *, const char *, orch_blob_fn, void *,
                         struct orch_error *);
/* notify.c */
orch_status pg_notify(struct orch_store *, const char *, struct orch_error *);
orch_status pg_wait(struct orch_store *, int64_t, struct orch_error *);
/* Wake other daemons: runs became claimable, or control flags changed. */
void pg_wake(struct orch_store *st);
/* ticks.c */
orch_status pg_tick_append(struct orch_store *, const struct orch_tick_rec *,
                           struct orch_error *);
orch_status pg_tick_list(struct orch_store *, int64_t, uint32_t, orch_tick_fn, void *,
                         struct orch_error *);
orch_status pg_tick_prune(struct orch_store *, int64_t, uint64_t, struct orch_error *);
/* purge.c: run retention (ABI 1.3); no reclaim slot: autovacuum gives the
 * dead rows' space back to the tables. */
orch_status pg_run_list_ended(struct orch_store *, uint32_t, int64_t, const char *, int64_t,
                              uint32_t, orch_run_fn, void *, struct orch_error *);
orch_status pg_run_delete(struct orch_store *, const char *, int64_t, struct orch_run_purge *,
                          struct orch_error *);
/* runs.c: the rows of r (RUN_COLS) through fn; 1 when fn stopped it. */
int32_t pg_emit_runs(const PGresult *r, orch_run_fn fn, void *ud);

#endif
