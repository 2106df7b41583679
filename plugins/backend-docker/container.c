/* Containers as instances: create + start with orch's labels, attach by id,
 * status, stop, remove, and listing what orch owns by label. */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "docker.h"

/* PID 1 of every instance: a shell that sleeps until told to stop, and
 * stops at once on SIGTERM (sh as PID 1 ignores signals it does not trap). */
#define DK_KEEPALIVE "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done"

static struct orch_instance *dk_inst_new(struct orch_backend *be, const char *id,
                                         const char *name)
{
    struct orch_instance *in = dk_host->calloc(1, sizeof *in);
    if (!in)
        return NULL;
    in->be = be;
    in->id = dk_host->strdup(id);
    in->name = dk_host->strdup(name && *name == '/' ? name + 1 : name ? name : id);
    if (!in->id || !in->name) {
        dk_release(in);
        return NULL;
    }
    return in;
}

void dk_release(struct orch_instance *in)
{
    if (!in)
        return;
    dk_host->free(in->id);
    dk_host->free(in->name);
    dk_host->free(in);
}

static void dk_container_name(char *out, size_t cap, const char *instance_id)
{
    snprintf(out, cap, "orch-%s", instance_id);
    for (char *p = out; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
            *p = '_';
}

static json_t *dk_create_body(struct orch_backend *be, const struct orch_instance_spec *spec,
                              const char *image)
{
    const struct dk_cfg *cfg = be->cfg;
    json_t *env = json_array(), *labels = json_object(), *binds = json_array();
    for (uint32_t i = 0; i < cfg->env.count; i++) {
        char *kv = dk_printf("%s=%s", cfg->env.keys[i], cfg->env.values[i]);
        json_array_append_new(env, json_string(kv ? kv : ""));
        dk_host->free(kv);
    }
    for (uint32_t i = 0; i < spec->env_count; i++) {
        char *kv = dk_printf("%s=%s", spec->env[i].key,
                             spec->env[i].value ? spec->env[i].value : "");
        json_array_append_new(env, json_string(kv ? kv : ""));
        dk_host->free(kv);
    }
    for (uint32_t i = 0; i < cfg->labels.count; i++)
        json_object_set_new(labels, cfg->labels.keys[i], json_string(cfg->labels.values[i]));
    json_object_set_new(labels, "orch.backend", json_string("docker"));
    for (uint32_t i = 0; i < spec->label_count; i++)
        json_object_set_new(labels, spec->labels[i].key,
                            json_string(spec->labels[i].value ? spec->labels[i].value : ""));
    for (uint32_t i = 0; i < cfg->binds.count; i++)
        json_array_append_new(binds, json_string(cfg->binds.items[i]));
    for (uint32_t i = 0; i < spec->volume_count; i++)
        json_array_append_new(binds, json_string(spec->volumes[i]));
    json_t *hc = json_object();
    json_object_set_new(hc, "Binds", binds);
    if (cfg->network)
        json_object_set_new(hc, "NetworkMode", json_string(cfg->network));
    if (cfg->cpus > 0)
        json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)llround(cfg->cpus * 1e9)));
    if (cfg->memory > 0)
        json_object_set_new(hc, "Memory", json_integer(cfg->memory));
    json_t *body = json_pack("{s:s,s:[s,s,s],s:o,s:o,s:o}", "Image", image, "Entrypoint",
                             "/bin/sh", "-c", DK_KEEPALIVE, "Env", env, "Labels", labels,
                             "HostConfig", hc);
    if (body && cfg->workdir)
        json_object_set_new(body, "WorkingDir", json_string(cfg->workdir));
    if (body && cfg->user)
        json_object_set_new(body, "User", json_string(cfg->user));
    return body;
}

/* Removal after a failed create or start, by the name orch chose, so a
 * container the engine made before the failure (an answer lost to a cancel
 * or an allocation) goes too. Best effort, outside the ctx's cancel: the
 * error that matters is the create's. */
static void dk_discard(struct orch_backend *be, const char *name)
{
    char *path = dk_printf("/containers/%s?force=1&v=1", name);
    struct orch_error e = {.struct_size = sizeof e};
    long code;
    if (path)
        dk_call(be, NULL, "DELETE", path, NULL, &code, NULL, &e);
    dk_host->free(e.message);
    dk_host->free(path);
}

static orch_status dk_inspect(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                              long *code, json_t **body, struct orch_error *err)
{
    return dk_get_named(be, ctx, "/containers/%s/json", id, code, body, err);
}

static orch_status dk_start(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                            const char *name, struct orch_error *err)
{
    char *path = dk_printf("/containers/%s/start", id);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    long code = 0;
    json_t *body = NULL;
    orch_status st = dk_call(be, ctx, "POST", path, NULL, &code, &body, err);
    dk_host->free(path);
    if (st == ORCH_OK && code != 204 && code != 304)
        st = dk_engine_error(err, code, body, "starting container %s", name);
    json_decref(body);
    if (st != ORCH_OK)
        return st;
    /* An image without /bin/sh, or one whose shell dies at once, shows up
     * here rather than as a puzzling exec failure later. */
    st = dk_inspect(be, ctx, id, &code, &body, err);
    if (st != ORCH_OK)
        return st;
    json_t *state = json_object_get(body, "State");
    if (code != 200)
        st = dk_engine_error(err, code, body, "inspecting container %s", name);
    else if (!json_is_true(json_object_get(state, "Running")))
        st = dk_host->error_set(err, ORCH_E_FAILED,
                                "container %s stopped right after start (exit code "
                                "%lld%s%s); the image needs /bin/sh",
                                name, (long long)json_integer_value(json_object_get(state, "ExitCode")),
                                json_string_length(json_object_get(state, "Error")) ? ": " : "",
                                json_string_value(json_object_get(state, "Error"))
                                    ? json_string_value(json_object_get(state, "Error"))
                                    : "");
    json_decref(body);
    return st;
}

orch_status dk_create(struct orch_backend *be, struct orch_ctx *ctx,
                      const struct orch_instance_spec *spec, struct orch_instance **out,
                      struct orch_instance_ref *ref, struct orch_error *err)
{
    const char *image = spec->image ? spec->image : be->cfg->image;
    if (!image || !*image)
        return dk_host->error_set(err, ORCH_E_CONFIG,
                                  "no image to create the instance from: set the "
                                  "backend's 'image' option");
    if (!spec->instance_id || !*spec->instance_id)
        return dk_host->error_set(err, ORCH_E_INVALID_ARG, "no instance id");
    /* Silently ignoring them would hand back something other than asked. */
    if (spec->size || spec->region)
        return dk_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "containers have no %s; set cpus and memory in the "
                                  "backend's options", spec->size ? "sizes" : "regions");
    orch_status st = dk_ensure_image(be, ctx, image, err);
    if (st != ORCH_OK)
        return st;
    char name[128];
    dk_container_name(name, sizeof name, spec->instance_id);
    json_t *body = dk_create_body(be, spec, image);
    char *path = dk_printf("/containers/create?name=%s", name);
    if (!body || !path) {
        json_decref(body);
        dk_host->free(path);
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    long code = 0;
    json_t *ans = NULL;
    st = dk_call(be, ctx, "POST", path, body, &code, &ans, err);
    json_decref(body);
    dk_host->free(path);
    if (st != ORCH_OK) {
        dk_discard(be, name);
        return st;
    }
    const char *id = json_string_value(json_object_get(ans, "Id"));
    if (code != 201 || !id) {
        st = code == 201 ? dk_host->error_set(err, ORCH_E_PROTOCOL,
                                              "creating container %s: no Id in the "
                                              "answer",
                                              name)
                         : dk_engine_error(err, code, ans,
                                           "creating container %s from image %s", name,
                                           image);
        json_decref(ans);
        if (code == 201)
            dk_discard(be, name);
        return st;
    }
    struct orch_instance *in = dk_inst_new(be, id, name);
    json_decref(ans);
    if (!in) {
        dk_discard(be, name);
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    st = dk_start(be, ctx, in->id, name, err);
    if (st == ORCH_OK) {
        ref->id = dk_host->strdup(in->id);
        ref->handle = dk_host->strdup(name);
        if (!ref->id || !ref->handle) {
            dk_host->free(ref->id);
            dk_host->free(ref->handle);
            ref->id = ref->handle = NULL;
            st = dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
        }
    }
    if (st != ORCH_OK) {
        dk_discard(be, name);
        dk_release(in);
        return st;
    }
    *out = in;
    return ORCH_OK;
}

orch_status dk_attach(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                      const char *handle, struct orch_instance **out, struct orch_error *err)
{
    (void)handle;
    if (!id || !*id)
        return dk_host->error_set(err, ORCH_E_INVALID_ARG, "attach: no container id");
    long code = 0;
    json_t *body = NULL;
    orch_status st = dk_inspect(be, ctx, id, &code, &body, err);
    if (st != ORCH_OK)
        return st;
    const char *cid = json_string_value(json_object_get(body, "Id"));
    if (code == 404)
        st = dk_host->error_set(err, ORCH_E_NOT_FOUND, "no container %s", id);
    else if (code != 200 || !cid)
        st = dk_engine_error(err, code, body, "inspecting container %s", id);
    else if (!(*out = dk_inst_new(be, cid,
                                  json_string_value(json_object_get(body, "Name")))))
        st = dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    json_decref(body);
    return st;
}

static uint32_t dk_state_of(const char *s)
{
    if (!s)
        return ORCH_INST_UNKNOWN;
    if (!strcmp(s, "running") || !strcmp(s, "paused") || !strcmp(s, "restarting"))
        return ORCH_INST_RUNNING;
    if (!strcmp(s, "created"))
        return ORCH_INST_CREATING;
    if (!strcmp(s, "exited") || !strcmp(s, "removing"))
        return ORCH_INST_STOPPED;
    if (!strcmp(s, "dead"))
        return ORCH_INST_FAILED;
    return ORCH_INST_UNKNOWN;
}

orch_status dk_status(struct orch_instance *in, struct orch_ctx *ctx,
                      struct orch_instance_status *out, struct orch_error *err)
{
    long code = 0;
    json_t *body = NULL;
    orch_status st = dk_inspect(in->be, ctx, in->id, &code, &body, err);
    if (st != ORCH_OK)
        return st;
    if (code == 404) {
        out->state = ORCH_INST_DESTROYED;
        out->detail = dk_printf("container %s is gone", in->name);
    } else if (code != 200) {
        st = dk_engine_error(err, code, body, "inspecting container %s", in->name);
    } else {
        const char *s = json_string_value(json_object_get(json_object_get(body, "State"), "Status"));
        s = s ? s : "unknown";
        out->state = dk_state_of(s);
        out->detail = dk_printf("container %s: %s", in->name, s);
    }
    json_decref(body);
    return st;
}

int dk_running(struct orch_instance *in)
{
    long code = 0;
    json_t *body = NULL;
    struct orch_error e = {.struct_size = sizeof e};
    int r = -1;
    if (dk_inspect(in->be, NULL, in->id, &code, &body, &e) == ORCH_OK)
        r = code == 404 ? 0
            : code == 200
                ? json_is_true(json_object_get(json_object_get(body, "State"), "Running"))
                : -1;
    json_decref(body);
    dk_host->free(e.message);
    return r;
}

orch_status dk_stop(struct orch_instance *in, struct orch_ctx *ctx, int64_t grace_ms,
                    struct orch_error *err)
{
    long secs = grace_ms <= 0 ? 0 : (long)((grace_ms + 999) / 1000);
    char *path = dk_printf("/containers/%s/stop?t=%ld", in->id, secs);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    /* The engine answers after the grace period and the kill. */
    json_t *body = NULL;
    struct dk_req rq = {.method = "POST", .path = path, .ctx = ctx,
                        .timeout_ms = secs * 1000 + in->be->cfg->api_timeout_ms};
    struct dk_resp rs;
    orch_status st = dk_http(in->be, &rq, &rs, err);
    dk_host->free(path);
    if (st != ORCH_OK)
        return st;
    if (rs.code == 404)
        st = dk_host->error_set(err, ORCH_E_NOT_FOUND, "no container %s", in->name);
    else if (rs.code != 204 && rs.code != 304) {
        body = rs.http.body.len ? json_loadb(rs.http.body.p, rs.http.body.len, 0, NULL) : NULL;
        st = dk_engine_error(err, rs.code, body, "stopping container %s", in->name);
        json_decref(body);
    }
    dk_resp_free(&rs);
    return st;
}

orch_status dk_destroy(struct orch_instance *in, struct orch_ctx *ctx, struct orch_error *err)
{
    char path[256];
    snprintf(path, sizeof path, "/containers/%s?force=1&v=%d", in->id,
             in->be->cfg->remove_volumes ? 1 : 0);
    int64_t until = dk_host->now_mono_ns() + in->be->cfg->api_timeout_ms * 1000000;
    orch_status st;
    for (;;) {
        long code = 0;
        json_t *body = NULL;
        st = dk_call(in->be, ctx, "DELETE", path, NULL, &code, &body, err);
        if (st == ORCH_OK && code != 204 && code != 404) {
            /* 409 "removal already in progress": wait for the other remover. */
            if (code == 409 && dk_host->now_mono_ns() < until) {
                json_decref(body);
                struct timespec ts = {0, 100 * 1000000};
                nanosleep(&ts, NULL);
                continue;
            }
            st = dk_engine_error(err, code, body, "removing container %s", in->name);
        }
        json_decref(body);
        break;
    }
    return st;
}


static int dk_report_owned(json_t *c, orch_owned_fn fn, void *ud)
{
    json_t *labels = json_object_get(c, "Labels");
    size_t n = json_object_size(labels), i = 0;
    struct orch_kv *kv = dk_host->calloc(n ? n : 1, sizeof *kv);
    if (!kv)
        return -1;
    const char *k;
    json_t *v;
    json_object_foreach(labels, k, v) {
        kv[i].key = k;
        kv[i].value = json_string_value(v) ? json_string_value(v) : "";
        i++;
    }
    const char *name = json_string_value(json_array_get(json_object_get(c, "Names"), 0));
    struct orch_owned_instance o = {
        .struct_size = sizeof o,
        .state = dk_state_of(json_string_value(json_object_get(c, "State"))),
        .id = json_string_value(json_object_get(c, "Id")),
        .handle = name && *name == '/' ? name + 1 : name,
        .labels = kv,
        .label_count = (uint32_t)i,
    };
    int rc = o.id ? fn(ud, &o) : 0;
    dk_host->free(kv);
    return rc;
}

orch_status dk_list_owned(struct orch_backend *be, struct orch_ctx *ctx,
                          const struct orch_kv *match, uint32_t match_count, orch_owned_fn fn,
                          void *ud, struct orch_error *err)
{
    json_t *want = json_array();
    json_array_append_new(want, json_string("orch.backend=docker"));
    for (uint32_t i = 0; i < match_count; i++) {
        char *kv = dk_printf("%s=%s", match[i].key, match[i].value ? match[i].value : "");
        json_array_append_new(want, json_string(kv ? kv : ""));
        dk_host->free(kv);
    }
    json_t *filters = json_pack("{s:o}", "label", want);
    char *text = filters ? json_dumps(filters, JSON_COMPACT) : NULL;
    json_decref(filters);
    char *esc = text ? dk_escape(text) : NULL;
    free(text);
    char *path = esc ? dk_printf("/containers/json?all=1&filters=%s", esc) : NULL;
    dk_host->free(esc);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    long code = 0;
    json_t *body = NULL;
    orch_status st = dk_call(be, ctx, "GET", path, NULL, &code, &body, err);
    dk_host->free(path);
    if (st == ORCH_OK && (code != 200 || !json_is_array(body)))
        st = dk_engine_error(err, code, body, "listing orch's containers");
    size_t i;
    json_t *c;
    if (st == ORCH_OK)
        json_array_foreach(body, i, c) {
            int rc = dk_report_owned(c, fn, ud);
            if (rc < 0)
                st = dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
            if (rc)
                break;
        }
    json_decref(body);
    return st;
}
