/* The engine <-> executor protocol (request.h): builders and the decoder. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../config.h"
#include "../host.h"
#include "../node.h"
#include "../registry.h"
#include "../util.h"
#include "request.h"

static const char *const oc_req_names[OC_REQ_N_OPS] = {
#define OC_REQ_OP_NAME(e, name, fn) [OC_REQ_##e] = name,
    OC_REQ_OPS(OC_REQ_OP_NAME)
#undef OC_REQ_OP_NAME
};

const char *oc_req_op_name(enum oc_req_op op)
{
    return (unsigned)op < OC_REQ_N_OPS ? oc_req_names[op] : NULL;
}

int oc_req_op_parse(const char *name, enum oc_req_op *op)
{
    for (unsigned i = 0; name && i < OC_REQ_N_OPS; i++)
        if (!strcmp(oc_req_names[i], name)) {
            *op = (enum oc_req_op)i;
            return 0;
        }
    return -1;
}

json_t *oc_req_ctx(const struct oc_req_site *site, const struct oc_req_ctx *c)
{
    if (!site || !c)
        return NULL;
    json_t *ctx = json_pack("{s:s,s:s?,s:i,s:s,s:s?,s:b,s:I}", "run_id",
                            c->run_id ? c->run_id : "", "step_id", c->step_id, "attempt",
                            (json_int_t)c->attempt, "workflow", c->workflow ? c->workflow : "",
                            "tmpdir", site->tmpdir, "dry_run", c->dry_run, "timeout_ms",
                            (json_int_t)c->timeout_ms);
    if (!ctx)
        return NULL;
    if (site->state_dir) /* ctx_get("state_dir") of every plugin (ABI 1.1) */
        json_object_set_new(ctx, "state_dir", json_string(site->state_dir));
    if (c->host_paths)
        json_object_set_new(ctx, "host_paths", json_string(c->host_paths));
    if (c->secrets)
        json_object_set(ctx, "secrets", c->secrets);
    if (c->env)
        json_object_set(ctx, "env", c->env);
    if (c->secret_env)
        json_object_set(ctx, "secret_env", c->secret_env);
    if (c->hash_files && json_object_size(c->hash_files))
        json_object_set(ctx, "hash_files", c->hash_files);
    return ctx;
}

json_t *oc_req_plugin(const char *name, const struct oc_plugin *p, json_t *with)
{
    if (!p) {
        json_decref(with);
        return NULL;
    }
    json_t *spec = json_pack("{s:s,s:o,s:o}", "id", p->id, "path",
                             p->builtin ? json_null() : json_string(p->path), "with",
                             with ? with : json_object());
    if (spec && name)
        json_object_set_new(spec, "name", json_string(name));
    return spec;
}

json_t *oc_req_backend(const struct oc_req_site *site, const struct oc_plugin_ref *b)
{
    if (!b || !b->plugin || !site)
        return NULL;
    /* No option is added for a plugin by its name: a backend that keeps
     * files in the state directory reads it with ctx_get("state_dir"). */
    json_t *with = b->with ? oc_node_to_json(b->with) : json_object();
    return oc_req_plugin(b->name, b->plugin, with);
}

static json_t *oc_req_instance_json(const struct oc_req_instance *in)
{
    return json_pack("{s:s,s:s?,s:s?}", "id", in->id, "backend_id", in->backend_id, "handle",
                     in->handle);
}

/* {"op", "ctx", "backend"} with ctx and backend taken; NULL (both
 * released) when either is missing. */
static json_t *oc_req_new(enum oc_req_op op, json_t *ctx, json_t *backend)
{
    if (!ctx || !backend) {
        json_decref(ctx);
        json_decref(backend);
        return NULL;
    }
    return json_pack("{s:s,s:o,s:o}", "op", oc_req_op_name(op), "ctx", ctx, "backend", backend);
}

json_t *oc_req_step_run(json_t *ctx, json_t *step, json_t *artifacts, json_t *backend,
                        const struct oc_req_instance *in)
{
    if (!ctx || !step || (backend && (!in || !in->id))) {
        json_decref(ctx);
        json_decref(step);
        json_decref(artifacts);
        json_decref(backend);
        return NULL;
    }
    json_t *req = json_pack("{s:s,s:o,s:o}", "op", oc_req_op_name(OC_REQ_STEP_RUN), "ctx", ctx,
                            "step", step);
    if (artifacts)
        json_object_set_new(req, "artifacts", artifacts);
    if (backend) {
        json_object_set_new(req, "backend", backend);
        json_object_set_new(req, "instance", oc_req_instance_json(in));
    }
    return req;
}

void oc_req_step_run_namespaces(json_t *req, json_t *ns)
{
    if (req && ns)
        json_object_set_new(req, "namespaces", ns);
    else
        json_decref(ns);
}

json_t *oc_req_instance_create(json_t *ctx, json_t *backend, const struct oc_req_spec *spec)
{
    if (!spec || !spec->instance_id) {
        json_decref(ctx);
        json_decref(backend);
        return NULL;
    }
    json_t *req = oc_req_new(OC_REQ_INSTANCE_CREATE, ctx, backend);
    json_t *sp = json_pack("{s:s,s:s?,s:O?,s:O?,s:O?,s:o,s:o}", "instance_id",
                           spec->instance_id, "run_id", spec->run_id, "image", spec->image,
                           "size", spec->size, "region", spec->region, "env",
                           spec->env ? json_incref(spec->env) : json_object(), "labels",
                           spec->labels ? json_incref(spec->labels) : json_object());
    if (req)
        json_object_set_new(req, "spec", sp);
    else
        json_decref(sp);
    return req;
}

json_t *oc_req_instance_release(json_t *ctx, json_t *backend, const struct oc_req_instance *in)
{
    if (!in || !in->id) {
        json_decref(ctx);
        json_decref(backend);
        return NULL;
    }
    json_t *req = oc_req_new(in->backend_id ? OC_REQ_INSTANCE_DESTROY : OC_REQ_INSTANCE_REAP,
                             ctx, backend);
    if (req && in->backend_id)
        json_object_set_new(req, "instance", oc_req_instance_json(in));
    else if (req)
        json_object_set_new(req, "match", json_pack("{s:s}", "orch.instance", in->id));
    return req;
}

json_t *oc_req_instance_reap_commands(json_t *ctx, json_t *backend,
                                      const struct oc_req_instance *in)
{
    json_t *req = oc_req_new(OC_REQ_INSTANCE_REAP_COMMANDS, ctx, backend);
    if (req && in && in->id)
        json_object_set_new(req, "instance", oc_req_instance_json(in));
    else {
        json_decref(req);
        req = NULL;
    }
    return req;
}

json_t *oc_req_instance_status(json_t *ctx, json_t *backend, const struct oc_req_instance *in)
{
    if (!in || !in->id) {
        json_decref(ctx);
        json_decref(backend);
        return NULL;
    }
    json_t *req = oc_req_new(OC_REQ_INSTANCE_STATUS, ctx, backend);
    if (req)
        json_object_set_new(req, "instance", oc_req_instance_json(in));
    return req;
}

json_t *oc_req_instance_list_owned(json_t *ctx, json_t *backend, json_t *match)
{
    json_t *req = oc_req_new(OC_REQ_INSTANCE_LIST_OWNED, ctx, backend);
    if (req)
        json_object_set_new(req, "match", match ? json_deep_copy(match) : json_object());
    return req;
}

json_t *oc_req_instance_exec(json_t *ctx, json_t *backend, const struct oc_req_instance *in,
                             const struct oc_req_exec *x)
{
    if (!in || !in->id || !x || !json_is_array(x->argv)) {
        json_decref(ctx);
        json_decref(backend);
        return NULL;
    }
    json_t *req = oc_req_new(OC_REQ_INSTANCE_EXEC, ctx, backend);
    if (!req)
        return NULL;
    json_object_set_new(req, "instance", oc_req_instance_json(in));
    json_t *e = json_pack("{s:o,s:b,s:O?,s:O?,s:O?}", "argv", json_deep_copy(x->argv), "shell",
                          x->shell, "env", x->env, "cwd", x->cwd, "stdin", x->stdin_text);
    if (e && x->timeout_ms)
        json_object_set_new(e, "timeout_ms", json_integer(x->timeout_ms));
    json_object_set_new(req, "exec", e);
    return req;
}

const char *oc_req_first_plugin(json_t *req)
{
    const char *id = json_string_value(json_object_get(json_object_get(req, "step"), "id"));
    return id ? id : json_string_value(json_object_get(json_object_get(req, "backend"), "id"));
}

/* Decoding. Each helper names the field it refuses. */

static orch_status oc_req_bad(struct orch_error *err, enum oc_req_op op, const char *what)
{
    return oc_error_set(err, ORCH_E_PROTOCOL, "%s request: %s", oc_req_op_name(op), what);
}

/* An optional string member: 0, or -1 when present but not a string. */
static int oc_req_str(json_t *obj, const char *key, const char **out)
{
    json_t *v = json_object_get(obj, key);
    *out = json_string_value(v);
    return v && !json_is_string(v) && !json_is_null(v) ? -1 : 0;
}

/* An optional object member: 0, or -1 when present but not an object. */
static int oc_req_obj(json_t *obj, const char *key, json_t **out)
{
    json_t *v = json_object_get(obj, key);
    *out = json_is_object(v) ? v : NULL;
    return v && !json_is_object(v) ? -1 : 0;
}

static orch_status oc_req_decode_ctx(json_t *req, struct oc_req *out, struct orch_error *err)
{
    json_t *c = json_object_get(req, "ctx");
    if (!json_is_object(c))
        return oc_req_bad(err, out->op, "'ctx' must be an object");
    struct oc_req_ctx *x = &out->ctx;
    if (oc_req_str(c, "run_id", &x->run_id) || oc_req_str(c, "step_id", &x->step_id) ||
        oc_req_str(c, "workflow", &x->workflow) || oc_req_str(c, "tmpdir", &out->tmpdir) ||
        oc_req_str(c, "state_dir", &out->state_dir) ||
        oc_req_str(c, "host_paths", &x->host_paths))
        return oc_req_bad(err, out->op, "a ctx field that must be a string is not");
    if (oc_req_obj(c, "secrets", &x->secrets) || oc_req_obj(c, "env", &x->env) ||
        oc_req_obj(c, "secret_env", &x->secret_env) || oc_req_obj(c, "hash_files", &x->hash_files))
        return oc_req_bad(err, out->op,
                          "ctx secrets, env, secret_env and hash_files must be objects");
    json_int_t att = json_integer_value(json_object_get(c, "attempt"));
    x->attempt = att > 0 && att < 1000000 ? (uint32_t)att : 0;
    x->dry_run = json_is_true(json_object_get(c, "dry_run"));
    x->timeout_ms = json_integer_value(json_object_get(c, "timeout_ms"));
    return ORCH_OK;
}

/* The plugin spec under key: 1 when present and well formed, 0 when
 * absent, -1 (err set) when malformed. */
static int oc_req_decode_plugin(json_t *req, const char *key, enum oc_req_op op,
                                struct oc_req_plugin_spec *out, struct orch_error *err)
{
    json_t *p = json_object_get(req, key);
    if (!p)
        return 0;
    char what[96];
    snprintf(what, sizeof what, "'%s' must be a plugin spec {id, path, with}", key);
    if (!json_is_object(p) || oc_req_str(p, "name", &out->name) ||
        oc_req_str(p, "id", &out->id) || oc_req_str(p, "path", &out->path) ||
        oc_req_obj(p, "with", &out->with) || (!out->id && !out->path)) {
        oc_req_bad(err, op, what);
        return -1;
    }
    return 1;
}

static orch_status oc_req_decode_instance(json_t *req, struct oc_req *out,
                                          struct orch_error *err)
{
    json_t *in = json_object_get(req, "instance");
    struct oc_req_instance *i = &out->instance;
    if (!json_is_object(in) || oc_req_str(in, "id", &i->id) ||
        oc_req_str(in, "backend_id", &i->backend_id) || oc_req_str(in, "handle", &i->handle) ||
        !i->id || !i->backend_id)
        return oc_req_bad(err, out->op, "'instance' must name an id and a backend_id");
    out->has_instance = 1;
    return ORCH_OK;
}

orch_status oc_req_decode(json_t *req, struct oc_req *out, struct orch_error *err)
{
    memset(out, 0, sizeof *out);
    if (!json_is_object(req))
        return oc_error_set(err, ORCH_E_PROTOCOL, "request is not a JSON object");
    const char *name = json_string_value(json_object_get(req, "op"));
    if (!name)
        return oc_error_set(err, ORCH_E_PROTOCOL, "request without an op");
    if (oc_req_op_parse(name, &out->op) != 0)
        return oc_error_set(err, ORCH_E_PROTOCOL, "unknown op '%s'", name);
    enum oc_req_op op = out->op;
    if (oc_req_decode_ctx(req, out, err) != ORCH_OK)
        return err->code;
    int st = oc_req_decode_plugin(req, "step", op, &out->step, err);
    int be = st < 0 ? -1 : oc_req_decode_plugin(req, "backend", op, &out->backend, err);
    int art = be < 0 ? -1 : oc_req_decode_plugin(req, "artifacts", op, &out->artifacts, err);
    if (art < 0)
        return err->code;
    out->has_step = st;
    out->has_backend = be;
    out->has_artifacts = art;
    json_t *ns = json_object_get(req, "namespaces");
    if (ns) {
        if (!json_is_object(ns) ||
            oc_req_decode_plugin(ns, "state", op, &out->ns_state, err) != 1 ||
            oc_req_obj(ns, "declared", &out->ns_declared) || !out->ns_declared)
            return err->code ? err->code
                             : oc_req_bad(err, op, "'namespaces' must hold a state store spec "
                                                   "and the declared namespaces");
        out->has_namespaces = 1;
    }
    if (op == OC_REQ_STEP_RUN && !st)
        return oc_req_bad(err, op, "no 'step'");
    if (op != OC_REQ_STEP_RUN && !be)
        return oc_req_bad(err, op, "no 'backend'");
    if ((op == OC_REQ_INSTANCE_DESTROY || op == OC_REQ_INSTANCE_STATUS ||
         op == OC_REQ_INSTANCE_REAP_COMMANDS ||
         op == OC_REQ_INSTANCE_EXEC || (op == OC_REQ_STEP_RUN && be)) &&
        oc_req_decode_instance(req, out, err) != ORCH_OK)
        return err->code;
    if (op == OC_REQ_INSTANCE_CREATE) {
        out->spec = json_object_get(req, "spec");
        const char *iid = NULL;
        if (!json_is_object(out->spec) || oc_req_str(out->spec, "instance_id", &iid) || !iid)
            return oc_req_bad(err, op, "'spec' must name an instance_id");
    }
    if (oc_req_obj(req, "match", &out->match))
        return oc_req_bad(err, op, "'match' must be an object");
    if (op == OC_REQ_INSTANCE_REAP && !json_object_size(out->match))
        return oc_req_bad(err, op, "no 'match': reaping everything is never meant");
    if (op == OC_REQ_INSTANCE_EXEC) {
        out->exec = json_object_get(req, "exec");
        json_t *argv = json_object_get(out->exec, "argv");
        if (!json_is_object(out->exec) || !json_is_array(argv) || !json_array_size(argv))
            return oc_req_bad(err, op, "exec request without a command");
    }
    return ORCH_OK;
}
