/*
 * The executor -> engine half of the protocol (core/exec/request.h is the
 * other): the only code that knows the shape of a result and of the
 * messages orch-exec sends while a job runs. orch-exec builds them with
 * the oc_res_* / oc_msg_* builders; the pool, the engine and orchd read
 * them with the readers, so a field cannot be renamed on one side only
 * (tests/unit/test_exec_request.c round-trips every one).
 *
 * Messages, each one JSON object in a 'J' frame (core/exec/frame.h):
 *   {"at": SLOT}                 the plugin slot now running (crash and
 *                                hang messages name it)
 *   {"output": KEY, "value": V}  a step output
 *   {"event": TYPE, "data": J}   a plugin event (data: JSON text)
 *   {"done": true, "status": int, "message": "..."?, "result": {...}?}
 *                                the job's end; exactly one per request
 * Results (the done message's "result"), per operation:
 *   step.run            {"exit_code": int?, "instance_gone": true?,
 *                        "backend_id": "..."?}; in proof mode {"plan": "text"}
 *   instance.create     {"backend_id": "...", "handle": "..." | null}
 *   instance.status     {"state": int, "detail": "..." | null}
 *   instance.exec       {"exit_code": int, "signal": int, "duration_ns": int}
 *   instance.list_owned {"instances": [{"id", "handle", "state", "labels": {}}]}
 *   instance.reap       {"reaped": int}
 *   instance.destroy, instance.reap_commands: {}
 * and, on any failed operation whose plugin advised it (a 429's
 * Retry-After), "retry_after_ms": int.
 *
 * Ownership: builders return an owned reference (NULL only when out of
 * memory) and copy every string; readers fill structs whose strings are
 * borrowed from the JSON they read (valid while it is), and accept a NULL
 * or malformed result as "nothing said" (zeros and NULLs).
 */
#ifndef OC_EXEC_RESULT_H
#define OC_EXEC_RESULT_H

#include <jansson.h>
#include <stdint.h>

#include <orch/orch.h>

/* step.run. */
struct oc_res_step {
    int has_exit_code;      /* 0: no command ran (or none reported) */
    int32_t exit_code;
    const char *plan;       /* proof mode: what the step would do */
    int instance_gone;      /* the instance was removed outside orch */
    const char *backend_id; /* with instance_gone: which one */
};
json_t *oc_res_step(const struct oc_res_step *r);
void oc_res_step_read(json_t *result, struct oc_res_step *out);

/* instance.create. */
struct oc_res_created {
    const char *backend_id;
    const char *handle; /* NULL: the backend keeps none */
};
json_t *oc_res_created(const struct oc_res_created *r);
void oc_res_created_read(json_t *result, struct oc_res_created *out);

/* instance.status. */
struct oc_res_status {
    int32_t state; /* enum orch_instance_state */
    const char *detail;
};
json_t *oc_res_status(const struct oc_res_status *r);
void oc_res_status_read(json_t *result, struct oc_res_status *out);

/* instance.exec. */
struct oc_res_exec {
    int32_t exit_code;
    int32_t signal;
    int64_t duration_ns;
};
json_t *oc_res_exec(const struct oc_res_exec *r);
void oc_res_exec_read(json_t *result, struct oc_res_exec *out);

/* instance.list_owned: oc_res_owned_add appends one instance to list (a
 * JSON array the builder owns); oc_res_owned wraps it (list taken). */
struct oc_res_owned_item {
    const char *id;
    const char *handle;
    int32_t state;
    json_t *labels; /* {"key": "value"}; borrowed */
};
void oc_res_owned_add(json_t *list, const char *id, const char *handle, int32_t state,
                      const struct orch_kv *labels, uint32_t n_labels);
json_t *oc_res_owned(json_t *list);
/* The number of instances in result, and the i-th of them (0 when i is
 * out of range or the entry is malformed, 1 when filled). */
size_t oc_res_owned_count(json_t *result);
int oc_res_owned_at(json_t *result, size_t i, struct oc_res_owned_item *out);

/* instance.reap. */
json_t *oc_res_reaped(int64_t n);
int64_t oc_res_reaped_read(json_t *result);

/* instance.destroy, instance.reap_commands. */
json_t *oc_res_empty(void);

/* The plugin's retry advice on a failed operation: added to *result
 * (made when NULL); 0 when result carries none. */
void oc_res_set_retry_after(json_t **result, int64_t ms);
int64_t oc_res_retry_after(json_t *result);

/* Messages. */
enum oc_msg_type { OC_MSG_INVALID, OC_MSG_AT, OC_MSG_OUTPUT, OC_MSG_EVENT, OC_MSG_DONE };
struct oc_msg {
    enum oc_msg_type type;
    const char *at;                  /* AT */
    const char *key, *value;         /* OUTPUT (value "" when absent) */
    const char *event, *data;        /* EVENT */
    int core;                        /* EVENT: the executor's own, not a plugin's */
    orch_status status;              /* DONE */
    const char *message;             /* DONE, may be NULL */
    json_t *result;                  /* DONE, borrowed, may be NULL */
};
json_t *oc_msg_at(const char *slot);
json_t *oc_msg_output(const char *key, const char *value);
/* A plugin's event (host->emit): "plugin.TYPE" in the ledger. */
json_t *oc_msg_event(const char *type, const char *data_json);
/* The executor's own (artifact.stored): TYPE in the ledger, which no
 * plugin's emit can write, so readers can trust what it says. */
json_t *oc_msg_event_core(const char *type, const char *data_json);
/* result taken (may be NULL); message NULL unless status is an error. */
json_t *oc_msg_done(orch_status status, const char *message, json_t *result);
/* OC_MSG_INVALID when j is none of the above. */
void oc_msg_read(json_t *j, struct oc_msg *out);

#endif
