/* Executor processes: plugin code (steps and backends) runs in long-lived
 * orch-exec helpers started with posix_spawn and reused across jobs, so a
 * plugin that crashes or hangs fails one job, never the engine.
 *
 * Wire format on the pipes: frames of [u8 type][u32 length, little
 * endian][payload]. Types: 'J' a JSON object (requests, results, outputs,
 * events), 'O' stdout bytes, 'E' stderr bytes, 'L' a log line (u8 level +
 * text). One job at a time per executor. */
#ifndef OC_EXEC_POOL_H
#define OC_EXEC_POOL_H

#include <jansson.h>
#include <stdint.h>

#include <orch/orch.h>

/* Requests: JSON objects built only by core/exec/request.h, which
 * describes their shape and is the one list of operations.
 * Results (the `result` object passed to on_done) and the messages an
 * executor sends are described, built and read by core/exec/result.h. */

struct oc_job_cbs {
    /* Command output and plugin log lines as they arrive. */
    void (*on_stream)(void *ud, uint32_t stream, const char *data, size_t len);
    void (*on_log)(void *ud, uint32_t level, const char *line);
    void (*on_output)(void *ud, const char *key, const char *value);
    /* core: the executor's own event (result.h oc_msg_event_core). */
    void (*on_event)(void *ud, const char *type, const char *json, int core);
    /* Exactly once per submitted job. result may be NULL (borrowed). A
     * crashed executor gives ORCH_E_PLUGIN_CRASHED with the signal named; a
     * passed deadline ORCH_E_TIMEOUT after the executor's process group was
     * killed; a cancel that the plugin did not honour within the grace
     * period ORCH_E_CANCELLED likewise. */
    void (*on_done)(void *ud, orch_status status, const char *message,
                    json_t *result);
};

struct oc_pool;

/* exec_path: the orch-exec binary. max_workers >= 1. */
struct oc_pool *oc_pool_new(const char *exec_path, uint32_t max_workers);
/* Terminates every executor (SIGTERM, then SIGKILL) and waits for them. */
void oc_pool_free(struct oc_pool *p);

/* Hand a job to an idle executor (spawning one if below max). req is taken
 * over. deadline_ns: monotonic, 0 = none. Returns 0 and *job_id, or -1 when
 * every executor is busy (call oc_pool_poll and try again). */
int oc_pool_submit(struct oc_pool *p, json_t *req, int64_t deadline_ns,
                   const struct oc_job_cbs *cbs, void *ud, uint64_t *job_id);
/* Ask the job's plugin to stop (it sees is_cancelled/cancel_fd); after
 * grace_ms the executor is killed. No-op for an unknown job. */
void oc_pool_cancel(struct oc_pool *p, uint64_t job_id, int64_t grace_ms);
/* Wait up to timeout_ms (-1 = forever, 0 = don't block) for executor
 * traffic and dispatch callbacks; enforces deadlines. Returns the number of
 * jobs completed during the call. */
int oc_pool_poll(struct oc_pool *p, int timeout_ms);
/* Start one executor now, so that its exec and dynamic linking overlap
 * with the engine's own start-up instead of delaying the first job. */
void oc_pool_prespawn(struct oc_pool *p);
/* A non-blocking fd (the read end of a pipe) that ends a poll early when
 * readable; its bytes are drained. -1 = none. */
void oc_pool_set_wake_fd(struct oc_pool *p, int fd);
/* Variables of the engine's environment executors keep beyond the base
 * (proc_env.h): comma-separated names, given to each executor started from
 * now on. NULL = none. */
void oc_pool_set_env_keep(struct oc_pool *p, const char *csv);
uint32_t oc_pool_busy(const struct oc_pool *p);
uint32_t oc_pool_capacity(const struct oc_pool *p);
/* For metrics, from any thread. crashes: executors that died (signal,
 * exit, protocol error) or were killed at a deadline or cancel grace. */
struct oc_pool_stats {
    uint32_t busy, capacity;
    uint64_t crashes;
};
void oc_pool_stats(const struct oc_pool *p, struct oc_pool_stats *out);

/* Where orch-exec is: $ORCH_EXEC, <exe dir>/../libexec/orch/orch-exec,
 * <exe dir>/orch-exec, the install dir. malloc'd, or NULL. */
char *oc_exec_find(void);

#endif
