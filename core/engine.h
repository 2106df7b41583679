/* The engine: runs workflows as DAGs on executor processes, writing every
 * state transition to the store before acting on it. One single-threaded
 * loop drives any number of runs. */
#ifndef OC_ENGINE_H
#define OC_ENGINE_H

#include <jansson.h>
#include <signal.h>

#include "config.h"
#include "registry.h"
#include "store.h"

enum oc_progress_type {
    OC_EV_RUN_STARTED,
    OC_EV_STEP_STARTED,
    OC_EV_STEP_FINISHED,   /* state is final for the step */
    OC_EV_STEP_RETRY,      /* attempt failed, another will follow */
    OC_EV_STEP_OUTPUT,     /* data/len/stream: command output (redacted) */
    OC_EV_INSTANCE,        /* state (OC_INST_EV_*): what happened to instance_id */
    OC_EV_RUN_FINISHED,    /* state is the run's final state */
    OC_EV_STEP_EXPANDED,   /* count: the instances a matrix step expanded into */
    /* The run's concurrency group: message says what (waiting for it,
     * admitted, a dry run's note); state 1 while the run waits, else 0. */
    OC_EV_RUN_CONCURRENCY,
    /* An approval began to wait for its decision (began_ns, attempt). */
    OC_EV_STEP_WAITING,
    /* An approval was decided (decided_ns, decided_by; message: what was
     * decided, state: the step's state to come), before its STEP_FINISHED. */
    OC_EV_STEP_DECIDED,
};

/* What happened to an instance (OC_EV_INSTANCE's state). */
enum oc_inst_event {
    OC_INST_EV_CREATING = 1, /* create asked (message: "creating instance") */
    OC_INST_EV_CREATED,
    OC_INST_EV_DESTROYING,   /* destroy asked */
    OC_INST_EV_DESTROYED,
    OC_INST_EV_FAILED,       /* its create or destroy failed; message: why */
};

struct oc_trace_parent; /* core/trace/trace.h */

struct oc_progress {
    enum oc_progress_type type;
    const char *run_id;
    const char *workflow;  /* set by the engine */
    /* The caller's trace context the run was started with, NULL: none (set
     * by the engine). */
    const struct oc_trace_parent *trace_parent;
    const char *step_id;   /* NULL for run/instance events */
    /* Instance events: the instance, its backend; state an OC_INST_EV_*. */
    const char *instance_id, *backend;
    uint32_t state;        /* ORCH_STEP_* or ORCH_RUN_* */
    uint32_t attempt;
    const char *message;   /* error or note, may be NULL */
    const char *data;      /* output bytes; run finished: its outputs as JSON, or NULL */
    size_t len;
    uint32_t stream;
    int64_t duration_ns;
    size_t count;          /* step expanded: its instances */
    /* When it began (real time, ns; 0: unknown): a step event's attempt,
     * a resumed run's first start. Spans start there, also in a process
     * that did not see the beginning. */
    int64_t began_ns;
    /* Step finished or retried: its command's exit status, -1 none (set
     * by those events' emitters alone: 0 elsewhere means nothing). */
    int32_t exit_code;
    int64_t decided_ns;    /* step decided: when */
    const char *decided_by;/* step decided: who ("timeout": its policy) */
    /* The sampler's verdict recorded with the run (run.started's
     * "sampled"): 1 keep, 0 drop, -1 none recorded (set by the engine). */
    int trace_verdict;
};

struct oc_engine_opts {
    uint32_t concurrency;       /* executors; 0 = the config's */
    int dry_run;                /* steps plan instead of run; no instances */
    const char *exec_path;      /* orch-exec; NULL = oc_exec_find() */
    const char *state_dir;      /* NULL = oc_state_dir(NULL) */
    volatile sig_atomic_t *cancel_flag; /* set (by a signal) to cancel all */
    const char *owner;          /* lease owner of adopted runs (a daemon) */
    int64_t lease_ttl_ms;       /* the CLI's lease on the run it drives; 0 = 30s */
    uint32_t max_engine_crashes;/* adopting a run that crashed the engine this many
                                   times fails it instead; 0 = never */
    int wake_fd;                /* ends a tick's wait when readable; 0 = none */
    /* The config's env_passthrough: executors keep these variables of the
     * engine's environment (for plugins' libraries and local commands). */
    char *const *env_passthrough;
    size_t n_env_passthrough;
    /* The config's telemetry: section; NULL or unset: the OTEL_* variables
     * configure traces (core/trace). Read once, in oc_engine_new. */
    const struct oc_telemetry *telemetry;
    void (*on_progress)(void *ud, const struct oc_progress *p);
    void *ud;
};

struct oc_engine;

struct oc_engine *oc_engine_new(struct oc_registry *reg, struct oc_store *store,
                                const struct oc_engine_opts *opts,
                                struct orch_error *err);
void oc_engine_free(struct oc_engine *e);
/* The executor pool's use, for metrics; callable from any thread. */
struct oc_engine_exec_stats {
    uint32_t busy, capacity;
    uint64_t crashes;            /* executors that died or were killed mid-job */
};
void oc_engine_exec_stats(const struct oc_engine *e, struct oc_engine_exec_stats *out);
/* Spans the OTLP exporter dropped (queue full, collector down); 0 when
 * tracing is off. Any thread. */
uint64_t oc_engine_spans_dropped(const struct oc_engine *e);

/* Every backend workflow's steps use can have its options resolved (its
 * secrets are set): ORCH_E_CONFIG naming the option's file:line:col and
 * the variable otherwise. An unknown workflow passes (the caller says so). */
orch_status oc_backends_resolvable(const struct oc_config *cfg, const char *workflow,
                                   struct orch_error *err);

/* Create and start a run. cfg is borrowed and must be validated and outlive
 * the engine. inputs: a JSON object (borrowed), checked against the
 * workflow's declared inputs. traceparent: the caller's W3C trace context
 * (orch run's TRACEPARENT), kept with the run; NULL or malformed (logged,
 * ignored): the run's own trace. */
orch_status oc_engine_start(struct oc_engine *e, struct oc_config *cfg,
                            const char *workflow, json_t *inputs,
                            const char *idempotency_key, const char *traceparent,
                            char **run_id, struct orch_error *err);
/* Continue a run from the store: steps that succeeded keep their outputs;
 * every other step runs again. The config is the run's own snapshot. */
orch_status oc_engine_resume(struct oc_engine *e, const char *run_id,
                             struct orch_error *err);
/* Continue a run this engine's owner claimed from the store (daemons). */
orch_status oc_engine_adopt(struct oc_engine *e, const char *run_id,
                            struct orch_error *err);
/* Drive every started run to its end, or until it parks waiting for
 * approval (or until cancelled). */
void oc_engine_loop(struct oc_engine *e);
/* One turn of the loop, waiting at most timeout_ms for executors.
 * Returns the number of runs still being driven. */
size_t oc_engine_tick(struct oc_engine *e, int timeout_ms);
/* Cancel one run; 0 when this engine drives it. */
int oc_engine_cancel_run(struct oc_engine *e, const char *run_id);
/* Extend the leases of adopted runs; a run whose lease another process
 * took is abandoned without another write. */
void oc_engine_heartbeat(struct oc_engine *e, int64_t ttl_ms);
/* Forget runs that ended or parked. */
void oc_engine_collect(struct oc_engine *e);
/* Graceful stop's last act: in-flight attempts become unknown, runs go
 * back to the queue with their leases released, executors are stopped. */
void oc_engine_abandon(struct oc_engine *e);
/* Destroy an instance of the ownership ledger that no run drives; cfg
 * names its backend. 0 when submitted (or already under way). */
int oc_engine_reap(struct oc_engine *e, const struct oc_config *cfg,
                   const struct orch_instance_rec *rec);
/* Leftovers: for each backend (of cfg, with list_owned) that has rows the
 * ledger says are destroyed, ask it what it still holds (one executor job
 * each) and reap every instance whose orch.instance label names such a
 * row, logging it and appending instance.reaped. Returns the number of
 * backends asked (-1 when the ledger could not be read); *found (may be
 * NULL, must outlive the jobs) counts the reaps submitted. */
int oc_engine_reap_leftovers(struct oc_engine *e, const struct oc_config *cfg,
                             size_t *found, struct orch_error *err);
/* Poll the engine's executors until no reap or leftover job is in flight,
 * or timeout_ms passed (-1 then), for a process that only reaps (orch gc).
 * *reaped and *failed: the reap jobs that ended since oc_engine_new. */
int oc_engine_reap_wait(struct oc_engine *e, int64_t timeout_ms, size_t *reaped,
                        size_t *failed);
/* For backend work outside any run (the daemon's instances API), done
 * through executors of the caller's own: what the request builders of
 * core/exec/request.h need (temp dir, state dir, orch-exec path). Safe
 * from any thread: fixed once oc_engine_new returns. */
struct oc_req_site;
const struct oc_req_site *oc_engine_site(const struct oc_engine *e);
/* Proof mode for runs started or claimed from now on. */
void oc_engine_set_dry_run(struct oc_engine *e, int on);
/* Ids of the runs being driven; *n set. Borrowed until the next tick. */
const char **oc_engine_run_ids(struct oc_engine *e, size_t *n);
/* The executor pool's busy executors and its size. Engine thread only
 * (orchd publishes them for its health document at each tick). */
void oc_engine_pool_usage(const struct oc_engine *e, uint32_t *busy, uint32_t *capacity);
/* Step attempts submitted to executors since oc_engine_new (the tick
 * ledger's "dispatched"). Engine thread only. */
uint64_t oc_engine_steps_dispatched(const struct oc_engine *e);
/* Final state of a run this engine drove (ORCH_RUN_*), 0 if unknown. */
uint32_t oc_engine_run_state(const struct oc_engine *e, const char *run_id);

#endif
