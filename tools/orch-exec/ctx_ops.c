/* The host services a plugin sees inside the executor: output, logs,
 * outputs and events go to the engine as frames; inst_* calls go to the
 * backend instance the job bound. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exec.h"
#include "exec/frame.h"
#include "exec/result.h"
#include "exec_env.h"
#include "host.h"
#include "registry.h"
#include "util.h"

static void xe_log(struct orch_ctx *ctx, uint32_t level, const char *line)
{
    size_t n = strlen(line);
    char *b = oc_xmalloc(n + 1);
    b[0] = (char)level;
    memcpy(b + 1, line, n);
    oc_frame_write(xe_out_fd, OC_FRAME_LOG, b, n + 1);
    free(b);
}

static void xe_log_stream(struct orch_ctx *ctx, uint32_t stream, const char *data, uint64_t len)
{
    oc_frame_write(xe_out_fd, stream == ORCH_STREAM_STDERR ? OC_FRAME_STDERR : OC_FRAME_STDOUT,
                   data, (size_t)len);
}

static orch_status xe_secret_get(struct orch_ctx *ctx, const char *name, char **buf,
                                 uint64_t *len, struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    const char *v = json_string_value(json_object_get(job->secrets, name));
    if (!v)
        return oc_error_set(err, ORCH_E_NOT_FOUND, "secret %s is not set", name);
    *len = strlen(v);
    *buf = oc_host()->alloc(*len + 1);
    if (!*buf)
        return oc_error_set(err, ORCH_E_NOMEM, "out of memory");
    memcpy(*buf, v, *len + 1);
    return ORCH_OK;
}

void xe_at(const struct orch_plugin_desc *d, const char *slot)
{
    static const struct orch_plugin_desc *last_d;
    static const char *last_slot;
    if (!d || (d == last_d && slot == last_slot))
        return; /* one frame per change, not per call */
    last_d = d;
    last_slot = slot;
    char *at = oc_xasprintf("%s-%s's %s slot", oc_kind_name(d->kind), d->name, slot);
    xe_send_json(oc_msg_at(at));
    free(at);
}

static orch_status xe_output_set(struct orch_ctx *ctx, const char *key, const char *value)
{
    if (!key || !*key)
        return ORCH_E_INVALID_ARG;
    xe_send_json(oc_msg_output(key, value));
    return ORCH_OK;
}

static orch_status xe_emit(struct orch_ctx *ctx, const char *type, const char *json)
{
    xe_send_json(oc_msg_event(type, json));
    return ORCH_OK;
}

static orch_status xe_no_instance(struct orch_ctx *ctx, struct orch_error *err)
{
    return oc_error_set(err, ORCH_E_UNSUPPORTED, "%s runs without a backend instance",
                        ctx->plugin ? ctx->plugin : "this step");
}

/* The attempt records the exit status of the last command its step ran. */
static void xe_note_exit(struct xe_job *job, orch_status rc, const struct orch_exec_res *res)
{
    if (rc == ORCH_OK || rc == ORCH_E_TIMEOUT || rc == ORCH_E_CANCELLED)
        job->exit_code = res->exit_code;
}

static orch_status xe_inst_exec(struct orch_ctx *ctx, const struct orch_exec_req *req,
                                struct orch_exec_res *res, struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    if (!job->inst)
        return xe_no_instance(ctx, err);
    /* Every command of the step, whichever plugin asks and whichever
     * backend runs it, gets the step's environment under the plugin's own
     * variables and the script's secret variables over them. */
    struct orch_exec_req merged;
    memset(&merged, 0, sizeof merged);
    memcpy(&merged, req, req->struct_size < sizeof merged ? req->struct_size : sizeof merged);
    struct orch_kv *env = oc_exec_env_merge(job->env, req->env, req->env_count,
                                            job->secret_env, &merged.env_count);
    merged.env = env;
    xe_at(job->be_desc, "exec");
    orch_status rc = job->bvt->exec(job->inst, ctx, &merged, res, err);
    xe_at(job->step_desc, "run");
    free(env);
    xe_note_exit(job, rc, res);
    return rc;
}

static orch_status xe_unsupported(struct xe_job *job, const char *what, struct orch_error *err)
{
    return oc_error_set(err, ORCH_E_UNSUPPORTED, "backend %s cannot %s", job->be_desc->name,
                        what);
}

static orch_status xe_inst_put(struct orch_ctx *ctx, const char *path, uint32_t mode,
                               orch_read_fn rd, void *ud, struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    if (!job->inst)
        return xe_no_instance(ctx, err);
    if (!job->bvt->put_file)
        return xe_unsupported(job, "put files", err);
    xe_at(job->be_desc, "put_file");
    orch_status rc = job->bvt->put_file(job->inst, ctx, path, mode, rd, ud, err);
    xe_at(job->step_desc, "run");
    return rc;
}

static orch_status xe_inst_get(struct orch_ctx *ctx, const char *path, orch_write_fn wr,
                               void *ud, struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    if (!job->inst)
        return xe_no_instance(ctx, err);
    if (!job->bvt->get_file)
        return xe_unsupported(job, "get files", err);
    xe_at(job->be_desc, "get_file");
    orch_status rc = job->bvt->get_file(job->inst, ctx, path, wr, ud, err);
    xe_at(job->step_desc, "run");
    return rc;
}

static orch_status xe_inst_list(struct orch_ctx *ctx, const char *path, orch_dirent_fn fn,
                                void *ud, struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    if (!job->inst)
        return xe_no_instance(ctx, err);
    if (!job->bvt->list_dir)
        return xe_unsupported(job, "list directories", err);
    xe_at(job->be_desc, "list_dir");
    orch_status rc = job->bvt->list_dir(job->inst, ctx, path, fn, ud, err);
    xe_at(job->step_desc, "run");
    return rc;
}

const struct oc_ctx_ops xe_ctx_ops = {
    .log = xe_log,
    .log_stream = xe_log_stream,
    .secret_get = xe_secret_get,
    .output_set = xe_output_set,
    .emit = xe_emit,
    .artifact_put = xe_artifact_put,
    .artifact_get = xe_artifact_get,
    .inst_exec = xe_inst_exec,
    .inst_put_file = xe_inst_put,
    .inst_get_file = xe_inst_get,
    .inst_list_dir = xe_inst_list,
};

void xe_ctx_init(struct orch_ctx *ctx, struct xe_job *job, const char *plugin_id)
{
    const struct oc_req_ctx *c = &job->rq.ctx;
    oc_ctx_init(ctx, plugin_id);
    ctx->ops = &xe_ctx_ops;
    ctx->ud = job;
    ctx->plugin = plugin_id;
    ctx->run_id = c->run_id;
    ctx->step_id = c->step_id;
    ctx->workflow = c->workflow;
    ctx->tmpdir = job->rq.tmpdir;
    ctx->state_dir = job->rq.state_dir;
    ctx->host_paths = c->host_paths;
    ctx->instance_id = job->rq.instance.id;
    if (c->attempt)
        snprintf(ctx->attempt, sizeof ctx->attempt, "%u", (unsigned)c->attempt);
    ctx->dry_run = c->dry_run;
    int64_t tmo = c->timeout_ms;
    ctx->deadline_ns = tmo > 0 ? oc_now_mono_ns() + tmo * 1000000 : 0;
    ctx->cancelled = &xe_cancelled;
    ctx->cancel_fd = xe_cancel_rd;
}
