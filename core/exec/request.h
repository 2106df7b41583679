/*
 * The engine <-> executor protocol: the only code that knows the shape of
 * a request. The engine, the reaper and orchd build requests with the
 * builders below; orch-exec decodes them with oc_req_decode and dispatches
 * on the operation. One table (OC_REQ_OPS) names every operation, so an
 * operation cannot exist on one side only: orch-exec's dispatch table is
 * generated from it and fails to compile without a handler for each.
 *
 * A request is one JSON object (a 'J' frame, core/exec/frame.h):
 *   op        the operation's name (the table below); required.
 *   ctx       what the plugin's orch_ctx shows; required (oc_req_ctx).
 *   step      step.run: the step plugin (a plugin spec); required.
 *   backend   the backend plugin (a plugin spec); required by every
 *             instance.* op, optional for step.run (a step on an instance).
 *   instance  {"id", "backend_id", "handle"}: the instance to attach;
 *             required by destroy, status, exec and by a step.run that
 *             names a backend. id and backend_id required, handle optional.
 *   artifacts step.run: the artifact store (a plugin spec); optional.
 *   namespaces step.run: the file's shared artifact namespaces, optional:
 *             {"state": the state store (a plugin spec: versions are
 *             allocated and recorded there), "declared": {NS: {"keep": N,
 *             "on_conflict": "warn" | "fail"}}}; both required in it.
 *   spec      instance.create: {"instance_id" (required), "run_id",
 *             "image", "size", "region", "env": {}, "labels": {}}.
 *   match     list_owned: {"label": "value"}, optional (all owned);
 *             reap: {"orch.instance": id}, required.
 *   exec      instance.exec: {"argv": [..] (required, non-empty), "shell",
 *             "env": {}, "cwd", "stdin", "timeout_ms"}.
 * A plugin spec is {"name" (optional: the step id or backend name, for
 * messages), "id" (the plugin id), "path" (the .so, null for a builtin),
 * "with" (its options: rendered for a step, with secret references for a
 * backend or store)}; id or path required.
 *
 * Results (the "result" of the executor's done message) and the messages
 * themselves: core/exec/result.h.
 *
 * Ownership (each argument and field is tagged with one of these):
 *   borrowed  valid for the duration of the call; the builder copies it.
 *   taken     the builder takes the reference (also on failure).
 *   owned     the caller gets a new reference and must json_decref it.
 * Builders return NULL only when out of memory or when a required argument
 * is NULL; oc_pool_submit refuses a NULL request (-1) without spending an
 * executor on it.
 */
#ifndef OC_EXEC_REQUEST_H
#define OC_EXEC_REQUEST_H

#include <jansson.h>
#include <stdint.h>

#include <orch/orch.h>

struct oc_plugin;
struct oc_plugin_ref;

/* X(ENUM, "wire name", orch-exec handler suffix) */
#define OC_REQ_OPS(X)                                                                  \
    X(STEP_RUN, "step.run", step)                                                      \
    X(INSTANCE_CREATE, "instance.create", create)                                      \
    X(INSTANCE_DESTROY, "instance.destroy", destroy)                                   \
    X(INSTANCE_STATUS, "instance.status", status)                                      \
    X(INSTANCE_LIST_OWNED, "instance.list_owned", list_owned)                          \
    X(INSTANCE_REAP, "instance.reap", reap)                                            \
    X(INSTANCE_REAP_COMMANDS, "instance.reap_commands", reap_commands)                 \
    X(INSTANCE_EXEC, "instance.exec", inst_exec)

enum oc_req_op {
#define OC_REQ_OP_ENUM(e, name, fn) OC_REQ_##e,
    OC_REQ_OPS(OC_REQ_OP_ENUM)
#undef OC_REQ_OP_ENUM
    OC_REQ_N_OPS
};

/* The wire name of op (static); NULL for a value outside the table. */
const char *oc_req_op_name(enum oc_req_op op);
/* The op called name; -1 for NULL or a name outside the table. */
int oc_req_op_parse(const char *name, enum oc_req_op *op);

/* What every request of one engine shares. Fixed once the engine is made,
 * so readable from any thread. */
struct oc_req_site {
    const char *tmpdir;    /* borrowed, required: the engine's temp dir (ctx.tmpdir) */
    const char *state_dir; /* borrowed, required: backends' work dirs live under it */
    const char *exec_path; /* borrowed, required: orch-exec, for a caller's own pool */
};

/* The ctx block. Every pointer borrowed, every field optional. */
struct oc_req_ctx {
    const char *run_id;     /* NULL = "" (work outside any run) */
    const char *step_id;    /* NULL = absent */
    uint32_t attempt;       /* 0 = none */
    const char *workflow;   /* NULL = "" */
    int dry_run;            /* proof mode: a step plans instead of running */
    int64_t timeout_ms;     /* 0 = none */
    const char *host_paths; /* defaults.host_paths, one a line; NULL = absent */
    json_t *secrets;        /* step.run: {"NAME": "value"}, those the step names */
    json_t *env;            /* step.run: {"K": "V"}, the step's environment */
    json_t *secret_env;     /* step.run: {"ORCH_SECRET_X": "value"}, its script's */
    /* step.run: {"TOKEN": ["pattern", ...]}: each hashFiles() of its with:
     * and env:, whose TOKEN the executor replaces by the hash of the
     * instance's files (tools/orch-exec/hash_files.c). */
    json_t *hash_files;
};
/* owned; NULL when site is. */
json_t *oc_req_ctx(const struct oc_req_site *site, const struct oc_req_ctx *c);

/* A plugin spec. name borrowed, optional (omitted when NULL); p borrowed,
 * required; with taken, NULL = {}. owned. */
json_t *oc_req_plugin(const char *name, const struct oc_plugin *p, json_t *with);
/* The spec of backend b with its options (and the embedded local
 * backend's default root under site->state_dir). owned; NULL when b has
 * no plugin. */
json_t *oc_req_backend(const struct oc_req_site *site, const struct oc_plugin_ref *b);

/* An instance as the request names it. */
struct oc_req_instance {
    const char *id;         /* borrowed, required: orch's id */
    const char *backend_id; /* borrowed, optional: the backend's id; NULL = never created */
    const char *handle;     /* borrowed, optional */
};

/* step.run's namespaces (see above) added to req; ns taken (NULL: none). */
void oc_req_step_run_namespaces(json_t *req, json_t *ns);
/* step.run. ctx, step taken, required; artifacts taken, optional; backend
 * taken, optional; in borrowed, required with a backend. owned. */
json_t *oc_req_step_run(json_t *ctx, json_t *step, json_t *artifacts, json_t *backend,
                        const struct oc_req_instance *in);

/* instance.create's spec. */
struct oc_req_spec {
    const char *instance_id; /* borrowed, required */
    const char *run_id;      /* borrowed, optional */
    json_t *image;           /* borrowed, optional: a string */
    json_t *size;            /* borrowed, optional: a string */
    json_t *region;          /* borrowed, optional: a string */
    json_t *env;             /* borrowed, optional: {"K": "V"}; NULL = {} */
    json_t *labels;          /* borrowed, optional: {"K": "V"}; NULL = {} */
};
/* ctx, backend taken, required; spec borrowed, required. owned. */
json_t *oc_req_instance_create(json_t *ctx, json_t *backend, const struct oc_req_spec *spec);

/* Destroy-or-reap, the one way an instance is let go: with a backend id,
 * instance.destroy of that instance; without one (the create may or may
 * not have happened, or the caller must not trust it), instance.reap of
 * whatever carries its orch.instance label. ctx, backend taken, required;
 * in borrowed, required. owned. */
json_t *oc_req_instance_release(json_t *ctx, json_t *backend, const struct oc_req_instance *in);

/* instance.reap_commands: kill and confirm gone what earlier execs left
 * running in the instance (the backend's reap_commands, ABI 1.1). ctx,
 * backend taken, required; in borrowed, required. owned. */
json_t *oc_req_instance_reap_commands(json_t *ctx, json_t *backend,
                                      const struct oc_req_instance *in);

/* instance.status. ctx, backend taken, required; in borrowed, required. */
json_t *oc_req_instance_status(json_t *ctx, json_t *backend, const struct oc_req_instance *in);

/* instance.list_owned. ctx, backend taken, required; match borrowed,
 * optional: NULL = every instance the backend owns. owned. */
json_t *oc_req_instance_list_owned(json_t *ctx, json_t *backend, json_t *match);

/* instance.exec's command. */
struct oc_req_exec {
    json_t *argv;           /* borrowed, required: a non-empty array of strings */
    int shell;              /* argv[0] is a shell command line (ORCH_EXEC_SHELL) */
    json_t *env;            /* borrowed, optional: {"K": "V"} */
    json_t *cwd;            /* borrowed, optional: a string */
    json_t *stdin_text;     /* borrowed, optional: a string */
    int64_t timeout_ms;     /* 0 = none */
};
/* ctx, backend taken, required; in, x borrowed, required. owned. */
json_t *oc_req_instance_exec(json_t *ctx, json_t *backend, const struct oc_req_instance *in,
                             const struct oc_req_exec *x);

/* The id of the plugin a request runs first (its step, else its
 * backend), for the pool's crash and hang messages; borrowed from req,
 * NULL when it names none. */
const char *oc_req_first_plugin(json_t *req);

/* A decoded request: what orch-exec reads. Every pointer borrowed from
 * the request object it was decoded from. */
struct oc_req_plugin_spec {
    const char *name; /* optional */
    const char *id;   /* id or path required */
    const char *path;
    json_t *with;     /* optional: NULL = no options */
};
struct oc_req {
    enum oc_req_op op;
    struct oc_req_ctx ctx; /* .secrets/.env/.secret_env NULL when absent */
    const char *tmpdir;    /* ctx.tmpdir; optional */
    const char *state_dir; /* ctx.state_dir; optional (ctx_get("state_dir")) */
    int has_step, has_backend, has_instance, has_artifacts, has_namespaces;
    struct oc_req_plugin_spec step, backend, artifacts;
    struct oc_req_plugin_spec ns_state; /* namespaces.state */
    json_t *ns_declared;                /* namespaces.declared: {NS: {keep, on_conflict}} */
    struct oc_req_instance instance;
    json_t *spec;  /* instance.create */
    json_t *match; /* list_owned (optional), reap */
    json_t *exec;  /* instance.exec */
};
/* Check req against its operation's shape and fill *out. ORCH_OK, or
 * ORCH_E_PROTOCOL naming the unknown op or the missing or mistyped field. */
orch_status oc_req_decode(json_t *req, struct oc_req *out, struct orch_error *err);

#endif
