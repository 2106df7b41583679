/* The core's side of struct orch_ctx: one per call into a plugin. The host
 * table's slots (host_ctx.c, log.c) dispatch through ctx->ops, so the same
 * host serves the engine process (store calls) and executor processes (step
 * and backend calls), each with its own ops. A NULL ops slot means: not
 * available here (UNSUPPORTED), or for logging, write to stderr. */
#ifndef OC_CTX_H
#define OC_CTX_H

#include <signal.h>

#include <orch/orch.h>

struct oc_ctx_ops {
    void (*log)(struct orch_ctx *ctx, uint32_t level, const char *line);
    void (*log_stream)(struct orch_ctx *ctx, uint32_t stream, const char *data,
                       uint64_t len);
    /* *buf allocated with the host allocator; released by secret_release. */
    orch_status (*secret_get)(struct orch_ctx *ctx, const char *name,
                              char **buf, uint64_t *len, struct orch_error *err);
    orch_status (*output_set)(struct orch_ctx *ctx, const char *key,
                              const char *value);
    orch_status (*emit)(struct orch_ctx *ctx, const char *type,
                        const char *json);
    orch_status (*artifact_put)(struct orch_ctx *ctx, const char *name,
                                orch_read_fn rd, void *ud,
                                struct orch_error *err);
    orch_status (*artifact_get)(struct orch_ctx *ctx, const char *name,
                                orch_write_fn wr, void *ud,
                                struct orch_error *err);
    orch_status (*inst_exec)(struct orch_ctx *ctx,
                             const struct orch_exec_req *req,
                             struct orch_exec_res *res, struct orch_error *err);
    orch_status (*inst_put_file)(struct orch_ctx *ctx, const char *path,
                                 uint32_t mode, orch_read_fn rd, void *ud,
                                 struct orch_error *err);
    orch_status (*inst_get_file)(struct orch_ctx *ctx, const char *path,
                                 orch_write_fn wr, void *ud,
                                 struct orch_error *err);
    orch_status (*inst_list_dir)(struct orch_ctx *ctx, const char *path,
                                 orch_dirent_fn fn, void *ud,
                                 struct orch_error *err);
};

struct orch_ctx {
    const struct oc_ctx_ops *ops;
    void *ud;                    /* for ops */
    const char *prefix;          /* log prefix, e.g. "step:exec:build" */
    const char *run_id, *step_id, *workflow, *instance_id, *plugin;
    char attempt[16];            /* decimal, "" when not a step attempt */
    const char *tmpdir;
    const char *workdir;         /* the bound instance's work dir, or NULL */
    const char *host_paths;      /* defaults.host_paths, one a line; NULL = off */
    const char *state_dir;       /* orch's state directory, absolute; NULL = unknown */
    int64_t deadline_ns;         /* monotonic, 0 = none */
    int32_t dry_run;
    volatile sig_atomic_t *cancelled; /* NULL = never cancelled */
    int32_t cancel_fd;           /* -1 = none */
};

/* A context with no ops, no deadline and nothing bound. */
void oc_ctx_init(struct orch_ctx *ctx, const char *prefix);

#endif
