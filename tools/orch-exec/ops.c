/* The operations an executor performs for the engine. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "builtins.h"
#include "exec.h"
#include "exec/result.h"
#include "host.h"
#include "node.h"
#include "options.h"
#include "plugin_with.h"
#include "registry.h"
#include "util.h"

/* Open the request's backend; with attach, bind its instance too. */
static orch_status xe_backend_open(struct xe_job *job, int attach, struct orch_error *err)
{
    const struct oc_req_plugin_spec *b = &job->rq.backend;
    job->be_desc = xe_plugin(b, ORCH_KIND_BACKEND, err);
    if (!job->be_desc)
        return err->code;
    job->bvt = job->be_desc->vtable;
    const char *name = b->name;
    char *what = oc_xasprintf("backend %s", name ? name : job->be_desc->name);
    job->be_cfg = xe_options(job->be_desc, b->with, what, 1, err);
    free(what);
    if (!job->be_cfg)
        return err->code;
    struct orch_ctx ctx;
    xe_ctx_init(&ctx, job, job->be_desc->name);
    xe_at(job->be_desc, "open");
    orch_status rc = job->bvt->open(&ctx, job->be_cfg, &job->be, err);
    if (rc != ORCH_OK || !attach)
        return rc;
    const char *bid = job->rq.instance.backend_id;
    const char *handle = job->rq.instance.handle;
    if (!bid)
        return oc_error_set(err, ORCH_E_PROTOCOL, "request has no instance to attach");
    if (!job->bvt->attach)
        return oc_error_set(err, ORCH_E_UNSUPPORTED,
                            "backend %s cannot attach to an instance from another process",
                            job->be_desc->name);
    xe_at(job->be_desc, "attach");
    return job->bvt->attach(job->be, &ctx, bid, handle, &job->inst, err);
}

static void xe_backend_close(struct xe_job *job)
{
    if (job->inst)
        job->bvt->release(job->inst);
    if (job->be)
        job->bvt->close(job->be);
    oc_options_free(job->be_desc, job->be_cfg);
}

static orch_status xe_step(struct xe_job *job, json_t **result, struct orch_error *err)
{
    const struct oc_req_plugin_spec *st = &job->rq.step;
    const struct orch_plugin_desc *d = xe_plugin(st, ORCH_KIND_STEP, err);
    if (!d)
        return err->code;
    const struct orch_step_vtable *vt = d->vtable;
    job->step_desc = d;
    struct orch_ctx ctx;
    xe_ctx_init(&ctx, job, d->name);
    int run = !ctx.dry_run, gone = 0;
    orch_status rc = ORCH_OK;
    /* The instance first: hashFiles() in the options reads its files. */
    if (run && job->rq.has_backend) {
        rc = xe_backend_open(job, 1, err);
        /* The instance is gone (removed outside orch) and nothing ran:
         * the engine makes a new one and runs the step there. */
        if (rc == ORCH_E_NOT_FOUND && job->be && !job->inst)
            gone = 1;
    }
    if (rc == ORCH_OK)
        rc = xe_hash_files(job, &ctx, st->with, err);
    void *cfg = NULL;
    if (rc == ORCH_OK) {
        const char *name = st->name;
        char *what = oc_xasprintf("step %s", name ? name : d->name);
        cfg = xe_options(d, st->with, what, 0, err);
        free(what);
        if (!cfg)
            rc = err->code;
    }
    if (rc == ORCH_OK && vt->validate) {
        xe_at(d, "validate");
        rc = vt->validate(cfg, err);
    }
    if (rc == ORCH_OK && !run) {
        char *text = NULL;
        if (!vt->plan) {
            text = oc_host()->strdup("(this step cannot describe itself without running)");
        } else {
            xe_at(d, "plan");
            rc = vt->plan(&ctx, cfg, &text, err);
        }
        if (rc == ORCH_OK && text) {
            oc_host()->log_stream(&ctx, ORCH_STREAM_STDOUT, text, strlen(text));
            oc_host()->log_stream(&ctx, ORCH_STREAM_STDOUT, "\n", 1);
            *result = oc_res_step(&(struct oc_res_step){.plan = text});
        }
        oc_host()->free(text);
    } else if (run) {
        if (rc == ORCH_OK) {
            /* host->inst_workdir: what the bound backend reports (1.1). */
            ctx.workdir = job->inst && ORCH_HAS(struct orch_backend_vtable, job->bvt, workdir)
                              ? job->bvt->workdir(job->inst)
                              : NULL;
            xe_at(d, "run");
            rc = vt->run(&ctx, cfg, err);
        }
        xe_backend_close(job);
        struct oc_res_step r = {.has_exit_code = job->exit_code != -1,
                                .exit_code = job->exit_code,
                                .instance_gone = gone,
                                .backend_id = gone ? job->rq.instance.backend_id : NULL};
        *result = oc_res_step(&r);
    }
    if (cfg)
        oc_options_free(d, cfg);
    return rc;
}

static struct orch_kv *xe_kv(json_t *obj, uint32_t *n)
{
    *n = (uint32_t)json_object_size(obj);
    struct orch_kv *kv = oc_xcalloc(*n + 1, sizeof *kv);
    const char *k;
    json_t *v;
    uint32_t i = 0;
    json_object_foreach(obj, k, v) kv[i++] = (struct orch_kv){k, json_string_value(v)};
    return kv;
}

static orch_status xe_create(struct xe_job *job, json_t **result, struct orch_error *err)
{
    orch_status rc = xe_backend_open(job, 0, err);
    if (rc == ORCH_OK) {
        json_t *sp = job->rq.spec;
        struct orch_instance_spec spec = {
            .struct_size = sizeof spec,
            .instance_id = json_string_value(json_object_get(sp, "instance_id")),
            .run_id = json_string_value(json_object_get(sp, "run_id")),
            .image = json_string_value(json_object_get(sp, "image")),
            .size = json_string_value(json_object_get(sp, "size")),
            .region = json_string_value(json_object_get(sp, "region")),
        };
        struct orch_kv *env = xe_kv(json_object_get(sp, "env"), &spec.env_count);
        struct orch_kv *labels = xe_kv(json_object_get(sp, "labels"), &spec.label_count);
        spec.env = env;
        spec.labels = labels;
        struct orch_instance_ref ref = {.struct_size = sizeof ref};
        struct orch_ctx ctx;
        xe_ctx_init(&ctx, job, job->be_desc->name);
        xe_at(job->be_desc, "create");
        rc = job->bvt->create(job->be, &ctx, &spec, &job->inst, &ref, err);
        if (rc == ORCH_OK)
            *result = oc_res_created(&(struct oc_res_created){ref.id, ref.handle});
        oc_host()->free(ref.id);
        oc_host()->free(ref.handle);
        free(env);
        free(labels);
    }
    xe_backend_close(job);
    return rc;
}

/* Commands an interrupted exec left in the instance are killed and
 * confirmed gone (ORCH_OK when the backend has no reap_commands). */
static orch_status xe_reap_in(struct xe_job *job, struct orch_ctx *ctx, struct orch_error *err)
{
    if (!job->bvt->reap_commands)
        return ORCH_OK;
    xe_at(job->be_desc, "reap_commands");
    return job->bvt->reap_commands(job->inst, ctx, err);
}

static orch_status xe_destroy(struct xe_job *job, json_t **result, struct orch_error *err)
{
    orch_status rc = xe_backend_open(job, 1, err);
    if (rc == ORCH_E_NOT_FOUND) {
        rc = ORCH_OK; /* already gone */
        oc_error_clear(err);
    } else if (rc == ORCH_OK) {
        struct orch_ctx ctx;
        xe_ctx_init(&ctx, job, job->be_desc->name);
        rc = xe_reap_in(job, &ctx, err);
        xe_at(job->be_desc, "destroy");
        if (rc == ORCH_OK)
            rc = job->bvt->destroy(job->inst, &ctx, err);
    }
    xe_backend_close(job);
    *result = oc_res_empty();
    return rc;
}

static orch_status xe_status(struct xe_job *job, json_t **result, struct orch_error *err)
{
    orch_status rc = xe_backend_open(job, 1, err);
    if (rc == ORCH_E_NOT_FOUND) {
        oc_error_clear(err);
        *result = oc_res_status(&(struct oc_res_status){ORCH_INST_DESTROYED, "not found"});
        rc = ORCH_OK;
    } else if (rc == ORCH_OK && !job->bvt->status) {
        rc = oc_error_set(err, ORCH_E_UNSUPPORTED, "backend has no status");
    } else if (rc == ORCH_OK) {
        struct orch_ctx ctx;
        xe_ctx_init(&ctx, job, job->be_desc->name);
        struct orch_instance_status s = {.struct_size = sizeof s};
        xe_at(job->be_desc, "status");
        rc = job->bvt->status(job->inst, &ctx, &s, err);
        if (rc == ORCH_OK)
            *result = oc_res_status(&(struct oc_res_status){(int32_t)s.state, s.detail});
        oc_host()->free(s.detail);
    }
    xe_backend_close(job);
    return rc;
}

/* A command on an instance outside any step (the daemon's instances API).
 * Output goes to the engine as stream frames, as a step's would. */
static orch_status xe_inst_exec(struct xe_job *job, json_t **result, struct orch_error *err)
{
    json_t *x = job->rq.exec;
    json_t *argv = json_object_get(x, "argv");
    size_t argc = json_array_size(argv);
    orch_status rc = xe_backend_open(job, 1, err);
    if (rc == ORCH_OK) {
        const char **args = oc_xcalloc(argc + 1, sizeof *args);
        for (size_t i = 0; i < argc; i++)
            args[i] = json_string_value(json_array_get(argv, i));
        const char *in = json_string_value(json_object_get(x, "stdin"));
        struct orch_exec_req rq = {
            .struct_size = sizeof rq,
            .argc = (uint32_t)argc,
            .argv = args,
            .flags = json_is_true(json_object_get(x, "shell")) ? ORCH_EXEC_SHELL : 0,
            .cwd = json_string_value(json_object_get(x, "cwd")),
            .timeout_ms = json_integer_value(json_object_get(x, "timeout_ms")),
            .stdin_data = in,
            .stdin_len = in ? strlen(in) : 0,
        };
        struct orch_kv *env = xe_kv(json_object_get(x, "env"), &rq.env_count);
        rq.env = env;
        struct orch_exec_res res = {.struct_size = sizeof res};
        struct orch_ctx ctx;
        xe_ctx_init(&ctx, job, job->be_desc->name);
        xe_at(job->be_desc, "exec");
        rc = job->bvt->exec(job->inst, &ctx, &rq, &res, err);
        if (rc == ORCH_OK)
            *result = oc_res_exec(&(struct oc_res_exec){res.exit_code, res.term_signal,
                                                        (int64_t)res.duration_ns});
        free(env);
        free(args);
    }
    xe_backend_close(job);
    return rc;
}

static int32_t xe_owned_cb(void *ud, const struct orch_owned_instance *o)
{
    oc_res_owned_add(ud, o->id, o->handle, (int32_t)o->state, o->labels, o->label_count);
    return 0;
}

static orch_status xe_list_owned(struct xe_job *job, json_t **result, struct orch_error *err)
{
    orch_status rc = xe_backend_open(job, 0, err);
    if (rc == ORCH_OK && !job->bvt->list_owned)
        rc = oc_error_set(err, ORCH_E_UNSUPPORTED, "backend cannot list its instances");
    if (rc == ORCH_OK) {
        uint32_t n;
        struct orch_kv *match = xe_kv(job->rq.match, &n);
        json_t *arr = json_array();
        struct orch_ctx ctx;
        xe_ctx_init(&ctx, job, job->be_desc->name);
        xe_at(job->be_desc, "list_owned");
        rc = job->bvt->list_owned(job->be, &ctx, match, n, xe_owned_cb, arr, err);
        free(match);
        *result = oc_res_owned(arr);
    }
    xe_backend_close(job);
    return rc;
}

/* instance.reap_commands (shaped like instance.destroy): the commands the
 * instance's interrupted execs left are killed and confirmed gone. An
 * instance that is gone has none. */
static orch_status xe_reap_commands(struct xe_job *job, json_t **result,
                                    struct orch_error *err)
{
    orch_status rc = xe_backend_open(job, 1, err);
    if (rc == ORCH_E_NOT_FOUND && job->be && !job->inst) {
        rc = ORCH_OK;
        oc_error_clear(err);
    } else if (rc == ORCH_OK && !job->bvt->reap_commands) {
        rc = oc_error_set(err, ORCH_E_UNSUPPORTED, "backend %s cannot reap commands",
                          job->be_desc->name);
    } else if (rc == ORCH_OK) {
        struct orch_ctx ctx;
        xe_ctx_init(&ctx, job, job->be_desc->name);
        rc = xe_reap_in(job, &ctx, err);
    }
    xe_backend_close(job);
    *result = oc_res_empty();
    return rc;
}

/* An instance whose create was in flight when its run died: whatever the
 * backend made for it is found by its orch.instance label and destroyed.
 * (Killing one instance's leftover commands is instance.reap_commands.) */
static orch_status xe_reap(struct xe_job *job, json_t **result, struct orch_error *err)
{
    orch_status rc = xe_backend_open(job, 0, err);
    json_t *found = json_array();
    if (rc == ORCH_OK && !job->bvt->list_owned)
        rc = oc_error_set(err, ORCH_E_UNSUPPORTED, "backend cannot list its instances");
    struct orch_ctx ctx;
    if (rc == ORCH_OK) {
        uint32_t n;
        struct orch_kv *match = xe_kv(job->rq.match, &n);
        xe_ctx_init(&ctx, job, job->be_desc->name);
        xe_at(job->be_desc, "list_owned");
        rc = job->bvt->list_owned(job->be, &ctx, match, n, xe_owned_cb, found, err);
        free(match);
    }
    size_t i, reaped = 0;
    json_t *o;
    json_array_foreach(found, i, o) {
        if (rc != ORCH_OK)
            break;
        struct orch_instance *inst = NULL;
        xe_at(job->be_desc, "attach");
        rc = job->bvt->attach(job->be, &ctx, json_string_value(json_object_get(o, "id")),
                              json_string_value(json_object_get(o, "handle")), &inst, err);
        if (rc == ORCH_E_NOT_FOUND) {
            oc_error_clear(err);
            rc = ORCH_OK;
            continue;
        }
        if (rc == ORCH_OK) {
            xe_at(job->be_desc, "destroy");
            rc = job->bvt->destroy(inst, &ctx, err);
        }
        if (inst)
            job->bvt->release(inst);
        reaped += rc == ORCH_OK;
    }
    json_decref(found);
    xe_backend_close(job);
    *result = oc_res_reaped(reaped);
    return rc;
}

/* One handler per operation of core/exec/request.h's table: an operation
 * without its xe_<name> does not compile. */
typedef orch_status (*xe_op_fn)(struct xe_job *job, json_t **result, struct orch_error *err);
static const xe_op_fn xe_ops[OC_REQ_N_OPS] = {
#define XE_OP(e, name, fn) [OC_REQ_##e] = xe_##fn,
    OC_REQ_OPS(XE_OP)
#undef XE_OP
};

orch_status xe_run(json_t *req, json_t **result, struct orch_error *err)
{
    struct xe_job job = {.req = req, .exit_code = -1};
    if (oc_req_decode(req, &job.rq, err) != ORCH_OK)
        return err->code;
    job.secrets = job.rq.ctx.secrets;
    job.env = job.rq.ctx.env;
    job.secret_env = job.rq.ctx.secret_env;
    orch_status rc = xe_ops[job.rq.op](&job, result, err);
    json_decref(job.ns_seen);
    return rc;
}
