/* Engine internals shared by the files of core/engine. */
#ifndef OC_ENGINE_INTERNAL_H
#define OC_ENGINE_INTERNAL_H

#include <jansson.h>

#include "../engine.h"
#include "../exec/pool.h"
#include "../exec/request.h"
#include "../template.h"
#include "../trace/trace.h"
#include "../util.h"
#include "step_state.h"

enum oc_inst_state {
    OC_INST_NONE,
    OC_INST_CREATING,
    OC_INST_READY,
    OC_INST_FAILED,
    OC_INST_DESTROYING,
    OC_INST_GONE,
};

/* Commands an interrupted exec may have left running in an instance: they
 * are reaped (instance.reap) before the instance runs anything again. */
enum oc_reap_state {
    OC_REAP_NONE,
    OC_REAP_NEEDED,
    OC_REAP_RUNNING,         /* its instance.reap job is in flight */
};

struct oc_inst {
    const struct oc_plugin_ref *backend;
    const struct oc_plugin *plugin;
    enum oc_inst_state state;
    char *id;                /* orch's instance id */
    char *backend_id;
    char *handle;
    char *error;
    int64_t created_ns;
    int reap;                /* resumed in CREATING: reap by label, never use */
    enum oc_reap_state reap_cmds;
};

struct oc_srt {
    const struct oc_step *def;
    /* Its id in every record, event, log and listing: def->id, or a matrix
     * instance's name `ID (v1, v2)` (oc_matrix_instance_id; owned then). */
    const char *name;
    json_t *matrix;          /* a matrix instance: its combination (the matrix context) */
    size_t group;            /* a matrix instance: its group step's index; else SIZE_MAX */
    size_t first_member;     /* a matrix group: its instances are steps */
    size_t n_members;        /*   [first_member, first_member + n_members) */
    int fail_fast_hit;       /* a group: an instance failed, the rest are cancelled */
    int record_unfit;        /* a group: resume read a step.expanded record it cannot use */
    enum oc_step_phase phase;/* step_state.c's alone: ask it, never write it */
    uint32_t attempt;        /* current or last attempt number */
    uint32_t tries;          /* attempts made by this process (retry budget) */
    int skipped_by_cond;     /* skipped because its `if` was false */
    int rerun_lost;          /* run again once already, its instance found gone */
    int64_t retry_at_mono;
    int64_t first_start_mono;
    int64_t start_mono;
    int64_t started_ns;
    uint64_t job_id;
    size_t inst;             /* index into run->insts, or SIZE_MAX */
    json_t *outputs;         /* object */
    char *error;
    orch_status status;
    int32_t exit_code;
    struct oc_buf out[2];    /* pending log bytes: stdout, stderr */
    struct oc_buf held[2];   /* per stream: bytes that may start a secret */
    struct oc_logcap *logcap;/* this attempt's log bound (logcap.c) */
    int64_t log_flushed_mono;
    int64_t wait_deadline_ns;/* approval: when its timeout policy applies */
    /* A call step (def->call, call.c): its child run while this engine
     * drives both (else NULL), the child's id once made, when the store
     * was last asked for its state, whether its timeout stopped it. */
    struct oc_run *child;
    char *child_id;
    int64_t child_polled_mono;
    int call_timed_out;
};

/* A run's place in its concurrency group (cgroup_run.c). */
struct oc_run_cg {
    char *key;               /* rendered; NULL when it could not be */
    char *shown;             /* the key as people see it (oc_cgroup_key_shown) */
    int admitted;            /* it holds a slot: its steps may run */
    int said_waiting;        /* concurrency.waiting written */
    char *refusal;           /* the run must end cancelled, this is why */
    int64_t next_try_mono;   /* the next admission, while it waits */
    int64_t backoff_ms;
    int64_t waiting_since_mono;
    int64_t cancel_check_mono; /* the CLI's look at its cancel flag */
};

struct oc_run {
    struct oc_engine *e;
    char *id;
    struct oc_config *cfg;
    int owns_cfg;
    const struct oc_workflow *wf;
    json_t *inputs;
    struct oc_srt *steps;
    size_t n_steps;
    size_t n_terminal;
    uint32_t running;        /* jobs in flight for this run (steps) */
    uint32_t concurrency;
    struct oc_inst *insts;
    size_t n_insts;
    size_t inst_jobs;        /* create/destroy jobs in flight */
    int cancelled;
    int timed_out;           /* the workflow's timeout: passed (run_end.c) */
    int64_t deadline_ns;     /* when it passes (real clock); 0 = no timeout */
    int finishing;           /* tearing down instances */
    int done;
    uint32_t final_state;
    char *final_error;
    struct oc_redactor *red;
    int64_t start_mono;
    int dirty;               /* re-run the scheduler */
    char *owner;             /* lease owner (a daemon), NULL for the CLI */
    int64_t lease_renewed_ns; /* when this daemon last wrote the lease (real clock) */
    int dry_run;             /* steps plan, backends create nothing */
    int parked;              /* left waiting for approval, lease released */
    int lost;                /* lease lost: abandon without writing */
    json_t *decisions;       /* "step#attempt" -> approval.decided data */
    char *lease_owner;       /* the CLI's named lease "run/<id>" (lease.c), or NULL */
    struct oc_trace_parent trace_parent; /* the caller's trace context, when traced */
    int traced;
    /* The sampler's verdict on the run's trace, recorded with run.started
     * by the first process that traced it: 1 keep, 0 drop, -1 none. Every
     * later driver follows it, whatever its own sampler says, so a trace
     * is whole or absent. */
    int trace_verdict;
    /* A child run (call.c): its parent and the parent's step, while this
     * engine drives both; the parent's id from run.parent in any case. */
    struct oc_run *parent;
    size_t parent_step;
    char *parent_id;
    int has_calls;           /* a step of its workflow is a call: call.c looks */
    struct oc_run_cg *cg;    /* its concurrency group; NULL: none */
};

struct oc_engine {
    struct oc_registry *reg;
    struct oc_store *store;
    struct oc_pool *pool;
    struct oc_tracer *tracer;    /* NULL unless telemetry: or OTEL_* asks for traces */
    struct oc_engine_opts opts;
    struct oc_run **runs;
    size_t n_runs;
    /* Steps ready to dispatch, FIFO across runs. */
    struct oc_qitem { struct oc_run *run; size_t idx; } *ready;
    size_t ready_head, ready_len, ready_cap;
    char *tmpdir;
    int cancelling;
    char *state_dir;
    char *exec_path;
    struct oc_req_site site; /* tmpdir, state_dir, exec_path: what requests share */
    const char **ids;        /* oc_engine_run_ids' array */
    char **reaping;          /* instance ids with a reap job in flight */
    size_t n_reaping;
    size_t n_reaped, n_reap_failed; /* reap jobs that ended, since oc_engine_new */
    uint64_t n_dispatched;   /* step attempts submitted to executors, likewise */
    struct oc_leftover_job **leftovers; /* list_owned jobs in flight, freed with e */
    size_t n_leftovers;
};
void oc_engine_leftovers_free(struct oc_engine *e);

struct oc_job {
    enum { OC_JOB_STEP, OC_JOB_CREATE, OC_JOB_DESTROY, OC_JOB_REAP } kind;
    struct oc_run *run;
    size_t idx;              /* step or instance index */
};

/* ledger.c: every write to the store, each one before the engine acts. */
void oc_ledger_event(struct oc_run *r, const char *type, json_t *data);
/* run.started: the workflow, inputs, dry_run and the trace's verdict. */
void oc_ledger_run_started(struct oc_run *r);
/* The row of s's current attempt says state (ORCH_STEP_*), compared and
 * set from expect (0: a new row). 0, or -1 when the store refused it or
 * the run is lost (nothing written). */
int oc_ledger_attempt(struct oc_run *r, struct oc_srt *s, uint32_t state, uint32_t expect);
void oc_ledger_flush_logs(struct oc_run *r, struct oc_srt *s);
/* The attempt's log is complete: flush, write the kept tail after the
 * truncation marker, record a step.log_truncated event. Before the
 * attempt's final row, so a reader that sees the row has the whole log. */
void oc_ledger_end_logs(struct oc_run *r, struct oc_srt *s);
void oc_ledger_instance(struct oc_run *r, struct oc_inst *in, uint32_t state);
int oc_ledger_run_state(struct oc_run *r, uint32_t expect, uint32_t state,
                        const char *error);
/* The CLI takes run r to running from the state it read (expect), under
 * its named lease (no owner on the row); err says why not. */
orch_status oc_ledger_run_take(struct oc_run *r, uint32_t expect, struct orch_error *err);
/* A named lease (lease.c's "run/<id>" of the CLI): taken or renewed by
 * owner for ttl_ms, or dropped when owner holds it. */
orch_status oc_ledger_lease_acquire(struct oc_store *st, const char *name, const char *owner,
                                    int64_t ttl_ms, struct orch_error *err);
orch_status oc_ledger_lease_drop(struct oc_store *st, const char *name, const char *owner,
                                 struct orch_error *err);
/* The run's lease (a daemon's claim): released, or renewed for ttl_ms.
 * Nothing is written for a lost run or one without an owner. */
void oc_ledger_lease_release(struct oc_run *r);
orch_status oc_ledger_lease_renew(struct oc_run *r, int64_t ttl_ms, int64_t now,
                                  struct orch_error *err);
/* The run's control flag prefix + run id (flags.h); value NULL clears. */
void oc_ledger_flag(struct oc_run *r, const char *prefix, const char *value);
/* An instance no run drives is gone: its row says destroyed and the
 * ledger says instance.reaped. Best effort: the reconciler comes back. */
void oc_ledger_reaped(struct oc_store *st, struct orch_instance_rec *rec);

/* logcap.c: each attempt's stored log keeps at most its log_limit bytes,
 * the head and the tail, with a marker line between (docs/security.md). */
struct oc_logcap;
/* Of len bytes of one stream's output, how many leading bytes to store now;
 * the rest is spooled for the tail (or dropped). *cap is made on first use
 * and remade when attempt changes. */
size_t oc_logcap_admit(struct oc_logcap **cap, const char *tmpdir, uint32_t attempt,
                       int64_t limit, uint32_t stream, const char *data, size_t len);
struct oc_logcap_summary {
    uint64_t limit, total, head, tail, dropped;
};
typedef void (*oc_logcap_emit_fn)(void *ud, uint32_t stream, const char *data, size_t len);
/* At the attempt's end: emit the marker (when bytes were dropped) and the
 * tail in order, in pieces of at most 64 KiB. 1 when bytes were dropped. */
int oc_logcap_finish(struct oc_logcap *cap, oc_logcap_emit_fn emit, void *ud,
                     struct oc_logcap_summary *sum);
void oc_logcap_free(struct oc_logcap *cap);

/* scope.c: templates and conditions for one run. */
struct oc_scope_ud {
    struct oc_run *run;
    size_t step;             /* the step being evaluated */
    int secret_used;
    json_t *env;             /* the step's env (env.NAME sees it first), or NULL */
    json_t *secrets;         /* collects name -> value of secrets used, or NULL */
    json_t *secret_env;      /* collects the script's secret variables, or NULL */
    /* collects hashFiles() calls (token -> patterns), or NULL: refused */
    json_t *hash_files;
    char hash_nonce[33];     /* what makes the attempt's tokens unguessable */
};
void oc_scope_make(struct oc_scope *sc, struct oc_scope_ud *ud,
                   struct oc_run *r, size_t step);
/* Render every scalar of a `with` tree; NULL with *errmsg on error. The
 * options d flags ORCH_OPTF_SCRIPT get their secrets as variables of the
 * step (script_secrets.c). */
json_t *oc_scope_render_with(const struct oc_scope *sc, const struct orch_plugin_desc *d,
                             const struct oc_node *with, char **errmsg);
/* paths.c: PATH_KIND options of a rendered `with` keep their literal kind
 * and are confined to it; -1 with *errmsg (step, option, why). */
int oc_scope_confine_paths(const struct oc_step *def, const struct oc_node *with,
                           json_t *rendered, char **errmsg);

/* script_secrets.c: a script template rendered with every secret value
 * replaced by a reference to a variable, added to secret_env (NULL: values
 * written as they are). shell is the step's `shell` option as written
 * (NULL: none, a POSIX shell runs it); a secret in a script that no POSIX
 * shell runs is refused, since the reference is shell syntax. A JSON
 * string, or NULL with *errmsg. */
json_t *oc_render_script(const char *text, const char *shell, const struct oc_scope *sc,
                         json_t *secret_env, char **errmsg);

/* step_env.c: what one attempt of a step gets besides its plugin. */
struct oc_step_input {
    json_t *with;            /* rendered options */
    json_t *env;             /* env_passthrough values, workflow env:, step env: */
    json_t *secret_env;      /* variables carrying the secrets its script uses */
    json_t *secrets;         /* name -> value: the secrets the step names */
    json_t *hash_files;      /* token -> patterns: its hashFiles() (step_env.c) */
};
/* A scope for step idx whose env.NAME sees the step's env, rendered into
 * ud->env (the caller owns it); ud->secrets (when set) collects the
 * secrets the env names. 0, or -1 with *errmsg. */
int oc_step_scope(struct oc_run *r, size_t idx, struct oc_scope *sc,
                  struct oc_scope_ud *ud, char **errmsg);
/* Fill in; 0, or -1 with *errmsg (in is then empty). */
int oc_step_input_make(struct oc_run *r, size_t idx, struct oc_step_input *in,
                       char **errmsg);
void oc_step_input_free(struct oc_step_input *in);

/* instances.c */
size_t oc_inst_for_step(struct oc_run *r, size_t step);
void oc_inst_create(struct oc_run *r, size_t idx);
void oc_inst_destroy_all(struct oc_run *r);
/* Before a step runs on instance idx: 1 when it may run now; 0 when the
 * commands an interrupted exec left are being reaped, or will be once the
 * other steps running there are done (the step waits, parked, and goes when
 * the reap is done); -1 when no executor is free. */
int oc_inst_reap_first(struct oc_run *r, size_t idx);
json_t *oc_engine_artifacts_json(const struct oc_run *r); /* NULL: none */
/* The file's shared namespaces for a step.run (core/exec/request.h), NULL:
 * none declared. */
json_t *oc_engine_artifact_ns_json(const struct oc_run *r);
/* The engine's part in a core event an executor sent: the warning line of
 * an artifact.conflict. */
void oc_engine_artifact_event(const struct oc_run *r, const char *type, const json_t *data);
struct oc_req_instance oc_inst_ref(const struct oc_inst *in);
/* What the end of an instance job means for the steps parked on it: the
 * caller (engine.c) wakes them through steps.c, so instances.c never
 * calls up into the steps. */
struct oc_inst_wake {
    int wake;                /* the steps parked on the instance go, or fail */
    orch_status status;      /* why they fail, with error */
    char *error;             /* malloc'd; NULL: they go */
};
void oc_inst_done(struct oc_job *job, orch_status st, const char *msg,
                  json_t *result, struct oc_inst_wake *wake);
/* A step's job found instance idx gone (backend_id, as it tried it): the
 * instance is forgotten (ledger: destroyed) so the next use makes anew. */
void oc_inst_lost(struct oc_run *r, size_t idx, const char *backend_id);

/* steps.c */
/* The run's pending steps whose needs are done go to the ready queue, or
 * end (cancelled, skipped, a failed `if`). */
void oc_steps_schedule(struct oc_run *r);
int oc_step_dispatch(struct oc_run *r, size_t idx);
void oc_step_done(struct oc_job *job, orch_status st, const char *msg,
                  json_t *result);
/* The steps parked on instance inst go (msg NULL), or fail with st, msg. */
void oc_steps_wake_parked(struct oc_run *r, size_t inst, orch_status st, const char *msg);
void oc_steps_wake_retries(struct oc_engine *e, int64_t now);
int64_t oc_steps_next_retry(struct oc_engine *e);

/* step_finish.c: a step's end, and its inputs. */
/* Step idx ends in ORCH_STEP_* state (terminal) with st and msg: its
 * attempt row, its event, its progress report. */
void oc_step_finish(struct oc_run *r, size_t idx, uint32_t state,
                    orch_status st, const char *msg);
/* An engine-decided step's attempt starts waiting (an approval's, a call
 * step's): a new attempt row that says waiting, or the reopened one a
 * resume read back; its deadline from the step's timeout. 1 when it was
 * reopened. */
int oc_step_wait_begin(struct oc_run *r, size_t idx);
/* The step's inputs: 0, or -1 after failing the step with why. */
int oc_step_input_or_fail(struct oc_run *r, size_t idx, struct oc_step_input *in);
/* The step's rendered `with`, or NULL after failing the step with why. */
json_t *oc_step_with(struct oc_run *r, size_t idx);

/* matrix_run.c: a step with strategy.matrix (docs/config.md, "Matrix"). The
 * combinations and names are core/matrix.c's; the phases step_state.c's. */
/* Group idx's needs are done and its `if` holds: its matrix is evaluated,
 * expanded and recorded (step.expanded) and its instances appended to
 * r->steps (which moves: no pointer into it survives the call), then it
 * waits for them (EXPANDED). After a resume the record is used instead:
 * the expression is never evaluated twice. A bad matrix fails the step. */
void oc_matrix_group_ready(struct oc_run *r, size_t idx);
/* Instances from a step.expanded record (resume): appended as above. 0,
 * or -1 when the record does not fit the step (it is left alone). */
int oc_matrix_restore(struct oc_run *r, size_t idx, const json_t *instances);
/* An expanded group: fail_fast's cancel when an instance failed, and its
 * end (state, outputs as lists) once every instance has ended. */
void oc_matrix_group_check(struct oc_run *r, size_t idx);
/* A pending instance: 1 when it may be queued now (its group expanded,
 * under max_parallel), 0 when it waits or was just ended (fail_fast). */
int oc_matrix_member_go(struct oc_run *r, size_t idx);
/* An instance leaving the ready queue: 1 when fail_fast ended it. */
int oc_matrix_member_cancelled(struct oc_run *r, size_t idx);

/* approval.c: the core `approval` step and parking of waiting runs. */
int oc_approval_is(const struct oc_srt *s);
void oc_approval_dispatch(struct oc_run *r, size_t idx);
int oc_run_parkable(const struct oc_run *r);
void oc_run_park(struct oc_run *r);
/* The decision recorded for (step, attempt), borrowed, or NULL. */
json_t *oc_approval_decision(const struct oc_run *r, const char *step,
                             uint32_t attempt);

/* call.c: a call step's child run (docs/config.md, "Reusable workflows"). */
int oc_call_is(const struct oc_srt *s);
void oc_call_dispatch(struct oc_run *r, size_t idx);
/* child (a run with a parent_id) was just resumed or claimed here: linked
 * to its parent's waiting step when the parent is driven here too. */
void oc_call_adopted(struct oc_run *child);
/* child ended (outputs: its outputs, borrowed) or parked: its parent's
 * step settles, waits on, or (parent not here) the parent is woken. */
void oc_call_child_left(struct oc_run *child, json_t *outputs);
/* Parking r: a waiting call step whose child ended meanwhile (read from
 * the store) is settled; 1 when one was, and r must not park. */
int oc_call_settled_meanwhile(struct oc_run *r);
/* Each tick: waiting call steps' timeouts, and their children driven
 * elsewhere read from the store (every OC_CALL_POLL_MS). */
void oc_calls_tick(struct oc_run *r, int64_t now_mono, int64_t now_real);
/* When the next such read is due (monotonic), 0 = none. */
int64_t oc_calls_next_poll(const struct oc_engine *e);

/* lease.c: the named lease of a run the CLI drives. */
int64_t oc_lease_ttl_ms(const struct oc_engine *e);
int oc_lease_supported(const struct oc_engine *e);
char *oc_lease_name(const char *run_id);
/* Take "run/<id>" for this process (*owner_out malloc'd), taking over a
 * dead holder on this host; CONFLICT naming the live holder otherwise. */
orch_status oc_lease_take(struct oc_engine *e, const char *run_id, char **owner_out,
                          struct orch_error *err);
/* The same for a run just created (in the caller's transaction). */
orch_status oc_lease_first(struct oc_engine *e, const char *run_id, char **owner_out,
                           struct orch_error *err);
orch_status oc_lease_renew(struct oc_engine *e, const char *run_id, const char *owner,
                           struct orch_error *err);
void oc_lease_release(struct oc_engine *e, const char *run_id, const char *owner);
/* Renew the leases of the runs being driven; a lost one drops its run. */
void oc_leases_renew(struct oc_engine *e);

/* run.c: below every other file of the engine. */
/* Stop driving r without another write (its lease was lost). */
void oc_run_drop(struct oc_run *r);
/* "run cancelled" or "run timed out": why a stopped run's steps ended. */
const char *oc_run_stop_why(const struct oc_run *r);
void oc_engine_progress(struct oc_run *r, const struct oc_progress *p);
/* Step idx goes to the ready queue (its QUEUE transition) ... */
void oc_engine_enqueue(struct oc_run *r, size_t idx);
/* ... or back to its end, already ready (no executor was free). */
void oc_engine_requeue(struct oc_run *r, size_t idx);
json_t *oc_backend_json(const struct oc_engine *e, const struct oc_plugin_ref *b);
/* The ctx block of a request for run r; in (optional) adds a step's
 * secrets and environment. */
json_t *oc_engine_ctx_json(struct oc_run *r, const char *step_id,
                           uint32_t attempt, int64_t timeout_ms,
                           const struct oc_step_input *in);

/* run_end.c: the workflow's timeout and outputs. */
/* The deadline of a run whose clock started at clock_ns (real). */
void oc_run_deadline_from(struct oc_run *r, int64_t clock_ns);
/* 1 when r's deadline has just passed: marked timed out (run.timed_out
 * written); the caller stops it, and it ends failed. */
int oc_run_timeout_passed(struct oc_run *r, int64_t now_real);
/* The earliest deadline of the runs driven (real clock), 0 = none. */
int64_t oc_runs_next_deadline(const struct oc_engine *e);
/* The workflow's outputs: rendered, redacted; NULL when it declares none. */
json_t *oc_run_outputs(struct oc_run *r);

/* cgroup_run.c: the run's concurrency group (core/concurrency.h). */
enum oc_cg_gate {
    OC_CGATE_GO,             /* no group, or a slot held: schedule the steps */
    OC_CGATE_WAIT,           /* not admitted yet: no step starts */
    OC_CGATE_END,            /* refused (skip, a key that cannot render): stop it */
    OC_CGATE_CANCEL,         /* a cancel request for a run the CLI drives */
};
/* The run's group, once its id and inputs are set (start, resume). */
void oc_run_cg_init(struct oc_run *r);
/* Each tick: try the admission when due; what the engine does next. */
enum oc_cg_gate oc_run_cg_gate(struct oc_run *r);
/* Why a cancelled run of a group ended (skip's refusal, or the newer run
 * that cancelled it), malloc'd; NULL: not the group's doing. */
char *oc_run_cg_cancel_reason(struct oc_run *r);
/* After the run's terminal state is written: its slot goes. */
void oc_run_cg_release(struct oc_run *r);
void oc_run_cg_free(struct oc_run *r);

/* engine.c */
/* A child run's link to its parent: written with it (run.parent in the
 * child, step.call in the parent, one transaction). */
struct oc_call_link {
    const char *parent_id, *step;
    uint32_t attempt;
    int dry_run;
};
/* Create a run and drive it here (*out, may be NULL); link: a child's.
 * ORCH_E_EXISTS: the idempotency key's run is *run_id, not driven. */
orch_status oc_run_open(struct oc_engine *e, struct oc_config *cfg, const char *workflow,
                        json_t *inputs, const char *idempotency_key, const char *traceparent,
                        const struct oc_call_link *link, struct oc_run **out, char **run_id,
                        struct orch_error *err);
/* Cancel (or, timed out, stop) what r runs; it then ends. */
void oc_run_stop(struct oc_run *r);
struct oc_run *oc_run_new(struct oc_engine *e, struct oc_config *cfg,
                          const struct oc_workflow *wf);
void oc_ledger_process(struct oc_run *r);
void oc_run_check_done(struct oc_run *r);
extern const struct oc_job_cbs oc_engine_job_cbs;

#endif
