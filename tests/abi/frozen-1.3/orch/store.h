/* Stores: where state lives. Runs, step attempts, an append-only event
 * ledger, step logs, the instance ownership ledger, leases with expiry,
 * control flags and blobs. Records returned by a store are passed to a
 * callback and borrowed for its duration: nothing is allocated across the
 * boundary on read paths. Times are wall-clock nanoseconds (now_real_ns)
 * taken by the caller, so several processes agree on lease expiry given
 * roughly synchronised clocks (docs/abi.md). */
#ifndef ORCH_STORE_H
#define ORCH_STORE_H

#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORCH_STORE_CAP_RUNS (1ull << 0)   /* runs, attempts, events, logs, instances, flags */
#define ORCH_STORE_CAP_TXN (1ull << 1)
#define ORCH_STORE_CAP_LEASES (1ull << 2) /* named leases and run claiming */
#define ORCH_STORE_CAP_BLOBS (1ull << 3)
#define ORCH_STORE_CAP_CAS (1ull << 4)    /* attempt_cas and run_cas are atomic */
#define ORCH_STORE_CAP_NOTIFY (1ull << 5) /* notify/wait wake-ups */
/* Since 1.1: an embedded store (a file in the state directory): its
 * schema is migrated when orch opens it unless `migrate: manual` says
 * otherwise; a server store (postgres) waits for `orch migrate`. */
#define ORCH_STORE_CAP_EMBEDDED (1ull << 6)
/* Since 1.1: run_stats, one aggregate read for metrics and health. */
#define ORCH_STORE_CAP_STATS (1ull << 7)
/* Since 1.2: the tick ledger (tick_append, tick_list, tick_prune). */
#define ORCH_STORE_CAP_TICKS (1ull << 8)
/* Since 1.3: run retention (run_list_ended, run_delete; reclaim optional). */
#define ORCH_STORE_CAP_RETENTION (1ull << 9)
#define ORCH_STORE_CAPS_ALL ((1ull << 10) - 1)

#define ORCH_RUN_QUEUED 1u
#define ORCH_RUN_RUNNING 2u
#define ORCH_RUN_WAITING 3u    /* parked: waiting for approval */
#define ORCH_RUN_SUCCEEDED 4u
#define ORCH_RUN_FAILED 5u
#define ORCH_RUN_CANCELLED 6u

#define ORCH_STEP_PENDING 1u
#define ORCH_STEP_RUNNING 2u
#define ORCH_STEP_SUCCEEDED 3u
#define ORCH_STEP_FAILED 4u
#define ORCH_STEP_SKIPPED 5u
#define ORCH_STEP_CANCELLED 6u
#define ORCH_STEP_TIMED_OUT 7u
#define ORCH_STEP_UNKNOWN 8u   /* outcome not recorded (process died) */
#define ORCH_STEP_WAITING 9u

struct orch_store; /* plugin */

struct orch_run_rec {
    uint32_t struct_size;
    uint32_t state;              /* ORCH_RUN_* */
    const char *id;
    const char *workflow;
    const char *idempotency_key; /* NULL = none; unique when set */
    const char *inputs_json;     /* object */
    const char *source;          /* config text snapshot, so resume needs no file */
    const char *source_path;
    const char *owner;           /* lease owner; NULL = unclaimed */
    const char *error;           /* NULL unless failed */
    int64_t created_ns;
    int64_t updated_ns;
    int64_t lease_expires_ns;    /* 0 = no lease */
    int64_t not_before_ns;       /* earliest time the run may be claimed */
};
typedef int32_t (*orch_run_fn)(void *ud, const struct orch_run_rec *r);

struct orch_run_filter {
    uint32_t struct_size;
    uint32_t state;              /* 0 = any */
    const char *workflow;        /* NULL = any */
    int64_t created_after_ns;    /* 0 = any */
    uint32_t limit;              /* 0 = no limit; newest first */
};

struct orch_attempt_rec {
    uint32_t struct_size;
    uint32_t state;              /* ORCH_STEP_* */
    const char *run_id;
    const char *step_id;
    uint32_t attempt;            /* 1-based */
    int32_t exit_code;           /* -1 = none */
    const char *owner;           /* lease owner that wrote it */
    const char *instance_id;     /* orch instance the step ran on, or NULL */
    const char *outputs_json;    /* object, or NULL */
    const char *error;           /* NULL unless failed */
    orch_status status;          /* ORCH_OK or the failure's code */
    uint32_t reserved0;
    int64_t started_ns;
    int64_t finished_ns;         /* 0 while running */
};
typedef int32_t (*orch_attempt_fn)(void *ud, const struct orch_attempt_rec *a);

struct orch_event_rec {
    uint32_t struct_size;
    uint32_t reserved0;
    int64_t seq;                 /* store-assigned, strictly increasing */
    const char *run_id;          /* NULL = not about a run */
    const char *type;            /* "run.started", "step.succeeded", "tick", ... */
    const char *data_json;       /* object */
    int64_t ts_ns;
};
typedef int32_t (*orch_event_fn)(void *ud, const struct orch_event_rec *e);

struct orch_log_rec {
    uint32_t struct_size;
    uint32_t stream;             /* ORCH_STREAM_* */
    int64_t seq;
    const char *data;            /* not NUL-terminated */
    uint64_t len;
    int64_t ts_ns;
};
typedef int32_t (*orch_log_fn)(void *ud, const struct orch_log_rec *l);

/* The ownership ledger: written before a backend's create is called. */
struct orch_instance_rec {
    uint32_t struct_size;
    uint32_t state;              /* ORCH_INST_* */
    const char *id;              /* orch's instance id */
    const char *backend;         /* configured backend name */
    const char *run_id;          /* NULL = standalone instance */
    const char *backend_id;      /* NULL until create returned */
    const char *handle;
    const char *labels_json;
    const char *owner;
    int64_t created_ns;
    int64_t updated_ns;
    int64_t last_used_ns;
};
typedef int32_t (*orch_instance_fn)(void *ud, const struct orch_instance_rec *i);

struct orch_lease_rec {
    uint32_t struct_size;
    uint32_t reserved0;
    const char *name;
    const char *owner;
    int64_t expires_ns;
};
typedef int32_t (*orch_lease_fn)(void *ud, const struct orch_lease_rec *l);

typedef int32_t (*orch_flag_fn)(void *ud, const char *name, const char *value);
typedef int32_t (*orch_blob_fn)(void *ud, const char *key, uint64_t size);

/* Mandatory: open, close. The rest are non-NULL exactly per capability:
 * RUNS: schema_version, migrate, run_*, attempt_*, event_*, log_*,
 *       instance_*, flag_*; TXN: txn_*; LEASES: lease_*, run_claim,
 *       run_heartbeat; BLOBS: blob_*; NOTIFY: notify, wait;
 *       STATS: run_stats; TICKS: tick_*. */
/* Filled by run_stats; the caller sets struct_size and zeroes the rest. */
struct orch_run_stats {
    uint32_t struct_size;
    uint32_t reserved;
    uint64_t by_state[8];          /* runs in each ORCH_RUN_* state (index = state) */
    int64_t oldest_queued_ns;      /* created_ns of the oldest queued run; 0 = none */
};

/* One scheduler tick of a daemon (ABI 1.2, CAP_TICKS): what the tick did,
 * for the tick ledger an operator reads with `orch ticks`. */
struct orch_tick_rec {
    uint32_t struct_size;
    uint32_t reserved0;
    int64_t seq;                   /* store-assigned on append, increasing */
    const char *owner;             /* the daemon (worker id) that ticked */
    int64_t started_ns;            /* wall clock */
    int64_t duration_ns;
    uint32_t claimed;              /* runs claimed */
    uint32_t dispatched;           /* steps started since the previous tick */
    uint32_t fired;                /* schedules fired */
    uint32_t requeued;             /* runs requeued by a deadline */
    uint32_t reaped;               /* instances reaped by reconciling */
    uint32_t errors;               /* store or engine failures the tick met */
};
typedef int32_t (*orch_tick_fn)(void *ud, const struct orch_tick_rec *t);

/* What run_delete removed with a run (ABI 1.3, CAP_RETENTION); the caller
 * sets struct_size and zeroes the rest. */
struct orch_run_purge {
    uint32_t struct_size;
    uint32_t reserved0;
    uint64_t attempts;             /* attempt rows */
    uint64_t events;               /* ledger events of the run */
    uint64_t log_chunks;           /* log rows */
    uint64_t log_bytes;            /* their bytes */
    uint64_t instances;            /* ledger rows of its destroyed instances */
};

/* `orch-plugin test` names a slot "store.SLOT" when a case crashes, hangs or
 * leaks in it ("store.run_cas hung (> 30 s)"). Cases, by slot: migrate and
 * schema_version store/schema-and-migrate; run_* and attempt_cas
 * store/runs-idempotency-cas; event_* store/ledger-order; log_*
 * store/logs-binary; lease_*, run_claim and run_heartbeat
 * store/leases-and-claims and (two processes at once)
 * store/concurrent-processes; blob_* store/blobs; txn_* store/txn-rollback;
 * run_stats store/run-stats; tick_* store/ticks; run_list_ended,
 * run_delete and reclaim store/retention; every allocation failing
 * in turn store/torture (--torture). */
struct orch_store_vtable {
    uint32_t struct_size;

    orch_status (*open)(struct orch_ctx *ctx, const void *cfg,
                        struct orch_store **out, struct orch_error *err);
    void (*close)(struct orch_store *st);

    /* Schema. `current` 0 = empty database. migrate brings it to
     * `supported`; it refuses (ORCH_E_CONFIG) a schema newer than the code.
     * dry_run: *plan (out:host) lists what would run, nothing changes. */
    orch_status (*schema_version)(struct orch_store *st, int32_t *current,
                                  int32_t *supported, struct orch_error *err);
    orch_status (*migrate)(struct orch_store *st, int32_t dry_run, char **plan,
                           struct orch_error *err);

    orch_status (*txn_begin)(struct orch_store *st, struct orch_error *err);
    orch_status (*txn_commit)(struct orch_store *st, struct orch_error *err);
    orch_status (*txn_rollback)(struct orch_store *st, struct orch_error *err);

        /* Runs. run_create: EXISTS (and fn called with the existing run) when
     * the idempotency key is taken. */
    orch_status (*run_create)(struct orch_store *st,
                              const struct orch_run_rec *r, orch_run_fn fn,
                              void *ud, struct orch_error *err);
    orch_status (*run_get)(struct orch_store *st, const char *id,
                           orch_run_fn fn, void *ud, struct orch_error *err);
    orch_status (*run_list)(struct orch_store *st,
                            const struct orch_run_filter *f, orch_run_fn fn,
                            void *ud, struct orch_error *err);
    /* Compare-and-set: succeeds only when state == expect_state (0 = any)
     * and owner == expect_owner (NULL = any); else CONFLICT. error may be
     * NULL. */
    orch_status (*run_cas)(struct orch_store *st, const char *id,
                           uint32_t expect_state, const char *expect_owner,
                           uint32_t new_state, const char *error,
                           int64_t now_ns, struct orch_error *err);

    /* Step attempts. expect_state 0: insert (EXISTS if present). Otherwise
     * update the row (run_id, step_id, attempt) only if its state ==
     * expect_state and the run's owner == a->owner; else CONFLICT. */
    orch_status (*attempt_cas)(struct orch_store *st,
                               const struct orch_attempt_rec *a,
                               uint32_t expect_state, struct orch_error *err);
    /* All attempts of a run, ordered by step_id then attempt. */
    orch_status (*attempt_list)(struct orch_store *st, const char *run_id,
                                orch_attempt_fn fn, void *ud,
                                struct orch_error *err);

    /* The append-only ledger. run_id NULL in event_list = all runs. */
    orch_status (*event_append)(struct orch_store *st, const char *run_id,
                                const char *type, const char *data_json,
                                int64_t ts_ns, int64_t *seq,
                                struct orch_error *err);
    orch_status (*event_list)(struct orch_store *st, const char *run_id,
                              int64_t after_seq, uint32_t limit,
                              orch_event_fn fn, void *ud,
                              struct orch_error *err);

    /* Step logs, in chunks. step_id NULL in log_read = every step.
     * log_read streams: it holds a bounded page of rows at a time, never
     * the whole log, and stops when fn returns non-zero (readers page
     * with after_seq; docs/abi.md). */
    orch_status (*log_append)(struct orch_store *st, const char *run_id,
                              const char *step_id, uint32_t attempt,
                              uint32_t stream, const char *data, uint64_t len,
                              int64_t ts_ns, struct orch_error *err);
    orch_status (*log_read)(struct orch_store *st, const char *run_id,
                            const char *step_id, uint32_t attempt,
                            int64_t after_seq, orch_log_fn fn, void *ud,
                            struct orch_error *err);

    /* The ownership ledger. instance_put inserts or replaces by id. */
    orch_status (*instance_put)(struct orch_store *st,
                                const struct orch_instance_rec *i,
                                struct orch_error *err);
    orch_status (*instance_list)(struct orch_store *st, const char *run_id,
                                 orch_instance_fn fn, void *ud,
                                 struct orch_error *err);
    orch_status (*instance_delete)(struct orch_store *st, const char *id,
                                   struct orch_error *err);

    /* Control flags (pause, proof, ...); value NULL deletes. */
    orch_status (*flag_set)(struct orch_store *st, const char *name,
                            const char *value, struct orch_error *err);
    orch_status (*flag_list)(struct orch_store *st, orch_flag_fn fn, void *ud,
                             struct orch_error *err);

    /* Named leases. acquire takes a free or expired lease, or renews one
     * held by owner; CONFLICT when another owner holds it unexpired. */
    orch_status (*lease_acquire)(struct orch_store *st, const char *name,
                                 const char *owner, int64_t ttl_ms,
                                 int64_t now_ns, int64_t *expires_ns,
                                 struct orch_error *err);
    orch_status (*lease_release)(struct orch_store *st, const char *name,
                                 const char *owner, struct orch_error *err);
    orch_status (*lease_list)(struct orch_store *st, orch_lease_fn fn,
                              void *ud, struct orch_error *err);
    /* Claim one run that is QUEUED (not_before passed) or RUNNING with an
     * expired lease; sets owner and lease, calls fn with it. NOT_FOUND when
     * there is none. Claims never overlap between processes. */
    orch_status (*run_claim)(struct orch_store *st, const char *owner,
                             int64_t ttl_ms, int64_t now_ns, orch_run_fn fn,
                             void *ud, struct orch_error *err);
    /* Extend the lease of a run owned by owner; CONFLICT if lost. ttl_ms 0
     * releases it. */
    orch_status (*run_heartbeat)(struct orch_store *st, const char *id,
                                 const char *owner, int64_t ttl_ms,
                                 int64_t now_ns, struct orch_error *err);

    /* Blobs, streamed. Keys are "/"-separated, no "..". */
    orch_status (*blob_put)(struct orch_store *st, const char *key,
                            orch_read_fn rd, void *ud, struct orch_error *err);
    orch_status (*blob_get)(struct orch_store *st, const char *key,
                            orch_write_fn wr, void *ud, struct orch_error *err);
    orch_status (*blob_delete)(struct orch_store *st, const char *key,
                               struct orch_error *err);
    orch_status (*blob_list)(struct orch_store *st, const char *prefix,
                             orch_blob_fn fn, void *ud, struct orch_error *err);

    /* Wake-ups: wait returns when notify was called on any process sharing
     * the store, or after timeout_ms (ORCH_E_TIMEOUT). */
    orch_status (*notify)(struct orch_store *st, const char *topic,
                          struct orch_error *err);
    orch_status (*wait)(struct orch_store *st, int64_t timeout_ms,
                        struct orch_error *err);

    /* ---- ABI 1.1 ---- */

    /* Aggregates for metrics and health in one read (an index scan or a
     * counter, never a listing a caller walks), so a scrape costs the same
     * with 100 runs or 100,000. CAP_STATS. */
    orch_status (*run_stats)(struct orch_store *st, struct orch_run_stats *out,
                             struct orch_error *err);

    /* ---- ABI 1.2 ---- */

    /* The tick ledger, CAP_TICKS. tick_append stores *t (seq is ignored and
     * assigned). tick_list calls fn with at most limit ticks that started
     * at or after since_ns, newest first (0 = from the first), and stops
     * when fn returns non-zero. tick_prune deletes the ticks that started
     * before before_ns and all but the last keep appended (0 = no count
     * bound). */
    orch_status (*tick_append)(struct orch_store *st, const struct orch_tick_rec *t,
                               struct orch_error *err);
    orch_status (*tick_list)(struct orch_store *st, int64_t since_ns, uint32_t limit,
                             orch_tick_fn fn, void *ud, struct orch_error *err);
    orch_status (*tick_prune)(struct orch_store *st, int64_t before_ns, uint64_t keep,
                              struct orch_error *err);

    /* ---- ABI 1.3 ---- */

    /* Run retention, CAP_RETENTION. run_list_ended calls fn with at most
     * limit runs (0 = no limit) in state (SUCCEEDED, FAILED or CANCELLED;
     * 0 = any of the three, never another) whose updated_ns is before
     * before_ns, ordered by (updated_ns, id) and after (after_ns,
     * after_id) in that order (after_id NULL = from the first), so a
     * caller pages without skipping a run; it stops when fn returns
     * non-zero. */
    orch_status (*run_list_ended)(struct orch_store *st, uint32_t state, int64_t after_ns,
                                  const char *after_id, int64_t before_ns, uint32_t limit,
                                  orch_run_fn fn, void *ud, struct orch_error *err);
    /* Deletes run id with its attempts, events, logs and the ledger rows of
     * its DESTROYED instances (a live instance's row stays), in one
     * transaction, only while the run is SUCCEEDED, FAILED or CANCELLED and
     * its updated_ns is before before_ns: NOT_FOUND when there is no such
     * run (another process deleted it: not an error to a sweeper),
     * CONFLICT when it is in another state or was updated since (a requeue
     * in between). Blobs are the caller's. out (may be NULL) counts what
     * went. Refused (INVALID_ARG) inside the caller's transaction. */
    orch_status (*run_delete)(struct orch_store *st, const char *id, int64_t before_ns,
                              struct orch_run_purge *out, struct orch_error *err);
    /* Optional (NULL = the store gives space back itself, as PostgreSQL's
     * autovacuum does): returns freed space to the file system after
     * deletes; *bytes is how much the store shrank. */
    orch_status (*reclaim)(struct orch_store *st, uint64_t *bytes, struct orch_error *err);
};

static inline const char *orch_run_state_name(uint32_t s)
{
    switch (s) {
    case ORCH_RUN_QUEUED: return "queued";
    case ORCH_RUN_RUNNING: return "running";
    case ORCH_RUN_WAITING: return "waiting";
    case ORCH_RUN_SUCCEEDED: return "succeeded";
    case ORCH_RUN_FAILED: return "failed";
    case ORCH_RUN_CANCELLED: return "cancelled";
    default: return "unknown";
    }
}

static inline const char *orch_step_state_name(uint32_t s)
{
    switch (s) {
    case ORCH_STEP_PENDING: return "pending";
    case ORCH_STEP_RUNNING: return "running";
    case ORCH_STEP_SUCCEEDED: return "succeeded";
    case ORCH_STEP_FAILED: return "failed";
    case ORCH_STEP_SKIPPED: return "skipped";
    case ORCH_STEP_CANCELLED: return "cancelled";
    case ORCH_STEP_TIMED_OUT: return "timed_out";
    case ORCH_STEP_UNKNOWN: return "unknown";
    case ORCH_STEP_WAITING: return "waiting";
    default: return "invalid";
    }
}

#ifdef __cplusplus
}
#endif
#endif
