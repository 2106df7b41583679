/* The host slots that act for the call in progress: each reads the orch_ctx
 * the core handed the plugin (run and step ids, cancel flag, deadline,
 * tmpdir, state_dir) or forwards to the ctx's ops (secrets, outputs,
 * events, artifacts, the step's backend instance), and answers
 * UNSUPPORTED where the process has no such service. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ctx.h"
#include "host.h"
#include "host_slots.h"

void oc_ctx_init(struct orch_ctx *ctx, const char *prefix)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->prefix = prefix;
    ctx->cancel_fd = -1;
}

orch_status oc_h_secret_get(struct orch_ctx *ctx, const char *name,
                                   char **buf, uint64_t *len,
                                   struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->secret_get)
        return ctx->ops->secret_get(ctx, name, buf, len, err);
    return oc_h_error_set(err, ORCH_E_NOT_FOUND,
                          "secret %s is not available here", name);
}

void oc_h_secret_release(char *buf, uint64_t len)
{
    if (!buf)
        return;
    explicit_bzero(buf, len);
    oc_h_free(buf);
}

int32_t oc_h_is_cancelled(struct orch_ctx *ctx)
{
    return ctx && ctx->cancelled && *ctx->cancelled ? 1 : 0;
}

int32_t oc_h_cancel_fd(struct orch_ctx *ctx)
{
    return ctx ? ctx->cancel_fd : -1;
}

int64_t oc_h_deadline_ns(struct orch_ctx *ctx)
{
    return ctx ? ctx->deadline_ns : 0;
}

orch_status oc_h_output_set(struct orch_ctx *ctx, const char *key,
                                   const char *value)
{
    if (ctx && ctx->ops && ctx->ops->output_set)
        return ctx->ops->output_set(ctx, key, value);
    return ORCH_E_UNSUPPORTED;
}

/* An event type is a name ([a-z][a-z0-9_.]*, at most 64 bytes): it becomes
 * "plugin.TYPE" in the ledger, which readers filter on. */
static int oc_event_type_ok(const char *t)
{
    if (!t || !(*t >= 'a' && *t <= 'z'))
        return 0;
    size_t n = 0;
    for (; t[n]; n++)
        if (!((t[n] >= 'a' && t[n] <= 'z') || (t[n] >= '0' && t[n] <= '9') || t[n] == '_' ||
              t[n] == '.') || n >= 64)
            return 0;
    return 1;
}

orch_status oc_h_emit(struct orch_ctx *ctx, const char *type,
                             const char *json)
{
    /* Refused, not dropped or rewritten: a plugin that emits a bad event
     * learns it from the status (it was OK while the event vanished). */
    if (!oc_event_type_ok(type))
        return ORCH_E_INVALID_ARG;
    if (json) {
        json_t *j = json_loads(json, 0, NULL);
        int ok = json_is_object(j);
        json_decref(j);
        if (!ok)
            return ORCH_E_INVALID_ARG;
    }
    if (ctx && ctx->ops && ctx->ops->emit)
        return ctx->ops->emit(ctx, type, json);
    return ORCH_E_UNSUPPORTED;
}

static orch_status oc_h_unsupported(struct orch_error *err, const char *what)
{
    return oc_h_error_set(err, ORCH_E_UNSUPPORTED, "%s is not available here",
                          what);
}

orch_status oc_h_artifact_put(struct orch_ctx *ctx, const char *name,
                                     orch_read_fn rd, void *ud,
                                     struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->artifact_put)
        return ctx->ops->artifact_put(ctx, name, rd, ud, err);
    return oc_h_unsupported(err, "artifact storage");
}

orch_status oc_h_artifact_get(struct orch_ctx *ctx, const char *name,
                                     orch_write_fn wr, void *ud,
                                     struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->artifact_get)
        return ctx->ops->artifact_get(ctx, name, wr, ud, err);
    return oc_h_unsupported(err, "artifact storage");
}

const char *oc_h_tmpdir(struct orch_ctx *ctx)
{
    if (ctx && ctx->tmpdir)
        return ctx->tmpdir;
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

const char *oc_h_ctx_get(struct orch_ctx *ctx, const char *key)
{
    if (!ctx || !key)
        return NULL;
    if (!strcmp(key, "run_id")) return ctx->run_id;
    if (!strcmp(key, "step_id")) return ctx->step_id;
    if (!strcmp(key, "attempt")) return ctx->attempt[0] ? ctx->attempt : NULL;
    if (!strcmp(key, "workflow")) return ctx->workflow;
    if (!strcmp(key, "instance_id")) return ctx->instance_id;
    if (!strcmp(key, "plugin")) return ctx->plugin;
    if (!strcmp(key, "host_paths")) return ctx->host_paths;
    if (!strcmp(key, "state_dir")) return ctx->state_dir;
    return NULL;
}

int32_t oc_h_is_dry_run(struct orch_ctx *ctx)
{
    return ctx ? ctx->dry_run : 0;
}

orch_status oc_h_inst_exec(struct orch_ctx *ctx,
                                  const struct orch_exec_req *req,
                                  struct orch_exec_res *res,
                                  struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->inst_exec)
        return ctx->ops->inst_exec(ctx, req, res, err);
    return oc_h_unsupported(err, "a backend instance");
}

orch_status oc_h_inst_put_file(struct orch_ctx *ctx, const char *path,
                                      uint32_t mode, orch_read_fn rd, void *ud,
                                      struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->inst_put_file)
        return ctx->ops->inst_put_file(ctx, path, mode, rd, ud, err);
    return oc_h_unsupported(err, "a backend instance");
}

orch_status oc_h_inst_get_file(struct orch_ctx *ctx, const char *path,
                                      orch_write_fn wr, void *ud,
                                      struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->inst_get_file)
        return ctx->ops->inst_get_file(ctx, path, wr, ud, err);
    return oc_h_unsupported(err, "a backend instance");
}

orch_status oc_h_inst_list_dir(struct orch_ctx *ctx, const char *path,
                                      orch_dirent_fn fn, void *ud,
                                      struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->inst_list_dir)
        return ctx->ops->inst_list_dir(ctx, path, fn, ud, err);
    return oc_h_unsupported(err, "a backend instance");
}

const char *oc_h_inst_workdir(struct orch_ctx *ctx)
{
    return ctx ? ctx->workdir : NULL;
}
