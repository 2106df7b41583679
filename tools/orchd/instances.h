/* The instances API: backend instances made and used without a workflow.
 * The ownership ledger in the store is the truth about them; commands on
 * them ("executions") live in this daemon's memory while they run and for
 * a while after. */
#ifndef ORCHD_INSTANCES_H
#define ORCHD_INSTANCES_H

#include "exec/request.h"
#include "http.h"

/* How long an API create may take (its default timeout is 10 min): a row
 * still "creating" after this belongs to a create that died. */
#define ORCHD_CREATE_GRACE_NS (15 * 60 * 1000000000LL)

/* job.c: one backend request in an executor of its own. */
struct orchd_job {
    const char *component;     /* names the plugin's log lines */
    int64_t timeout_ms;        /* the request's own timeout; 0 = none */
    atomic_int *cancel;        /* set to ask the plugin to stop; may be NULL */
    void (*on_stream)(void *ud, uint32_t stream, const char *data, size_t len);
    void (*on_beat)(void *ud); /* every 10 s while the job runs */
    void *ud;
    /* The outcome: */
    orch_status status;
    char *message;
    json_t *result;
};
/* The "ctx" of a request made outside any run. */
json_t *orchd_job_ctx(struct orchd *d, int64_t timeout_ms);
/* Takes req; returns when the job is done, with j's outcome set. */
void orchd_job_run(struct orchd *d, struct orchd_job *j, json_t *req);
void orchd_job_clear(struct orchd_job *j);

/* inst_ledger.c: ledger rows as JSON objects: id, backend, run_id,
 * backend_id, handle, state (a name), labels, owner, created_ns,
 * updated_ns, last_used_ns (integers, as the store keeps them). The handle
 * is for attaching and never leaves the daemon: what leaves is
 * orchd_inst_public's copy. */
json_t *orchd_inst_json(const struct orch_instance_rec *i);
const char *orchd_inst_state_name(uint32_t state); /* ORCH_INST_* */
/* A record borrowing j's strings. */
void orchd_inst_rec(json_t *j, struct orch_instance_rec *out);
/* The API's form of row j (j itself unchanged): no handle, the times as
 * "created", "updated" and "last_used" (core/api_json.h). */
json_t *orchd_inst_public(json_t *j);
int orchd_inst_live(json_t *j);       /* creating or running */
/* Every ledger row (run_id NULL: of all runs); NULL with err set. Takes
 * the API lock itself, as do the functions below. */
json_t *orchd_inst_list(struct orchd *d, struct orch_error *err);
/* One row by orch id; NULL when there is none. */
json_t *orchd_inst_find(struct orchd *d, const char *id);
/* Write j back with state and, when non-NULL, backend id and handle. */
int orchd_inst_put(struct orchd *d, json_t *j, uint32_t state, struct orch_error *err);
/* The instance was used now: its idle clock starts again. */
void orchd_inst_touch(struct orchd *d, const char *id);
/* The executor request block of j's backend; NULL when the backend is not
 * configured (any more). */
json_t *orchd_inst_backend(struct orchd *d, const struct oc_config *cfg, json_t *j);
/* j as a request names it, borrowing j's strings. */
struct oc_req_instance orchd_inst_ref(json_t *j);
/* The request that destroys j: by backend id, or by its label when the
 * create never returned one. Takes backend. */
json_t *orchd_inst_destroy_req(struct orchd *d, json_t *j, json_t *backend);

/* executions.c */
struct orchd_execs;
struct orchd_execs *orchd_execs_new(void);
int orchd_execs_running(struct orchd_execs *xs);
/* Whether a command of this daemon runs on the instance now. */
int orchd_execs_busy(struct orchd_execs *xs, const char *instance);
/* Cancel what still runs and wait for it: called before the daemon frees
 * what executions use. */
void orchd_execs_stop(struct orchd_execs *x);
void orchd_execs_free(struct orchd_execs *x);
struct orchd_exec;
/* A new running execution on the instance of row, held for the caller;
 * NULL with *refused when the daemon takes no more. */
struct orchd_exec *orchd_exec_new(struct orchd *d, json_t *row, json_t *command,
                                  const char *by, const char **refused);
/* Run req (taken) for x: to its end, or in a thread of its own. */
int orchd_exec_start(struct orchd_exec *x, json_t *req, int64_t timeout_ms, int async);
/* An execution of instance by id, held for the caller; NULL if unknown. */
struct orchd_exec *orchd_exec_find(struct orchd *d, const char *instance, const char *id);
void orchd_exec_unref(struct orchd_exec *x);
void orchd_exec_cancel(struct orchd_exec *x);
json_t *orchd_exec_json(struct orchd_exec *x, int with_output);
json_t *orchd_execs_of(struct orchd *d, const char *instance);
/* All output so far, both streams in arrival order. */
char *orchd_exec_text(struct orchd_exec *x);
/* A server-sent-event stream of x's output; takes the caller's hold. */
struct MHD_Response *orchd_exec_stream(struct orchd_exec *x);

/* routes_instances.c */
/* The row of the path's first {id}; NULL after a 404 answer. */
json_t *orchd_inst_of_path(struct orchd_req *rq);
/* The backend request block of a live row; NULL otherwise, after a 409
 * answer when answer is set. */
json_t *orchd_live_backend(struct orchd_req *rq, json_t *row, int answer);
void orchd_instances_create(struct orchd_req *rq);
void orchd_instances_list(struct orchd_req *rq);
void orchd_instances_get(struct orchd_req *rq);
void orchd_instances_destroy(struct orchd_req *rq);
/* routes_exec.c */
void orchd_instances_exec(struct orchd_req *rq);
void orchd_executions_list(struct orchd_req *rq);
void orchd_executions_get(struct orchd_req *rq);
void orchd_executions_output(struct orchd_req *rq);
void orchd_executions_cancel(struct orchd_req *rq);

#endif
