/* orch-exec: the executor process. Reads one job at a time from stdin,
 * runs plugin code, streams output and results back on stdout as frames
 * (core/exec/frame.h). */
#ifndef ORCH_EXEC_H
#define ORCH_EXEC_H

#include <jansson.h>
#include <signal.h>

#include <nettle/sha2.h>

#include <orch/orch.h>

#include "ctx.h"
#include "exec/request.h"

/* The output channel to the engine (our stdout). */
extern int xe_out_fd;
extern volatile sig_atomic_t xe_cancelled;
extern int xe_cancel_rd;

/* What a job binds: the request's secrets (only those its step named),
 * the step's environment (ctx "env", and "secret_env" for the secrets its
 * script refers to), and an open backend instance for steps that run on
 * one. */
struct xe_job {
    json_t *req;
    struct oc_req rq; /* req decoded: borrows from req */
    json_t *secrets;
    json_t *env;
    json_t *secret_env;
    const struct orch_backend_vtable *bvt;
    struct orch_backend *be;
    void *be_cfg;
    const struct orch_plugin_desc *be_desc;
    struct orch_instance *inst;
    const struct orch_plugin_desc *step_desc; /* the step being run, if any */
    int32_t exit_code;       /* of the last command the step ran; -1 = none */
    json_t *ns_seen;         /* "NS\nNAME" -> the version this job last read or wrote */
};

extern const struct oc_ctx_ops xe_ctx_ops;
void xe_ctx_init(struct orch_ctx *ctx, struct xe_job *job, const char *plugin_id);
void xe_send_json(json_t *j); /* takes j */
/* Tell the engine which plugin slot runs from now on, so a crash or a hang
 * is blamed on it ("backend-docker's exec slot"), not on whatever the
 * request named first. */
void xe_at(const struct orch_plugin_desc *d, const char *slot);

/* The plugin a request's spec names; NULL with err set. */
const struct orch_plugin_desc *xe_plugin(const struct oc_req_plugin_spec *spec, uint32_t kind,
                                         struct orch_error *err);
/* Parsed options for desc from a JSON `with`; NULL with err set. */
void *xe_options(const struct orch_plugin_desc *d, json_t *with, const char *what,
                 int resolve_secrets, struct orch_error *err);

/* hashFiles(): every token of the request's ctx.hash_files replaced, in
 * with (borrowed from the request) and the step's env, by the hash of the
 * bound instance's files (hash_files.c); in proof mode by what it would
 * read. */
orch_status xe_hash_files(struct xe_job *job, struct orch_ctx *ctx, json_t *with,
                          struct orch_error *err);

/* The run's artifacts (artifacts.c). */
orch_status xe_artifact_put(struct orch_ctx *ctx, const char *name, orch_read_fn rd, void *ud,
                            struct orch_error *err);
orch_status xe_artifact_get(struct orch_ctx *ctx, const char *name, orch_write_fn wr, void *ud,
                            struct orch_error *err);

/* A store a request names, opened in the executor (stores.c). */
struct xe_store {
    const struct orch_plugin_desc *d;
    const struct orch_store_vtable *vt;
    void *cfg;
    struct orch_store *h;
};
/* what: "artifacts", "state" (option messages, the open's error). */
orch_status xe_store_open(struct orch_ctx *ctx, const struct oc_req_plugin_spec *spec,
                          const char *what, struct xe_store *s, struct orch_error *err);
void xe_store_close(struct xe_store *s); /* a zeroed one is fine */
/* The run's artifacts store, for ctx's run. */
orch_status xe_artifact_store_open(struct orch_ctx *ctx, struct xe_store *s,
                                   struct orch_error *err);
/* The bytes a put reads, counted and hashed on their way to the store. */
struct xe_count {
    orch_read_fn rd;
    void *ud;
    uint64_t n;
    struct sha256_ctx sha;
};
int64_t xe_count_read(void *ud, void *buf, uint64_t len); /* ud: the xe_count */

/* Shared namespaces: NAME is ns/NS/NAME[@V] (artifact_ns.c). */
orch_status xe_artns_put(struct orch_ctx *ctx, const char *name, orch_read_fn rd, void *ud,
                         struct orch_error *err);
orch_status xe_artns_get(struct orch_ctx *ctx, const char *name, orch_write_fn wr, void *ud,
                         struct orch_error *err);

/* Run one request; fills *result (may stay NULL). */
orch_status xe_run(json_t *req, json_t **result, struct orch_error *err);

#endif
