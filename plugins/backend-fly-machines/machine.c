/* Machines: create (the app and a volume first when asked; orch's labels
 * in the metadata; after a 5xx or timeout, a look for the machine by its
 * label before trying again, since the create may have happened) and wait
 * until started, looping on the bounded /wait; attach, status, stop,
 * destroy (force; destroyed and 404 both mean gone), and list_owned. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fly-machines.h"

/* Metadata keys: labels' dots become underscores (orch.run -> orch_run);
 * the labels themselves, keys intact, ride along as JSON in orch_labels. */
static char *fl_meta_key(const char *label)
{
    char *k = fl_host->strdup(label);
    for (char *p = k; p && *p; p++)
        if (*p == '.')
            *p = '_';
    return k;
}

static uint32_t fl_state(const char *s)
{
    if (!s)
        return ORCH_INST_UNKNOWN;
    if (!strcmp(s, "created") || !strcmp(s, "starting"))
        return ORCH_INST_CREATING;
    if (!strcmp(s, "started"))
        return ORCH_INST_RUNNING;
    if (!strcmp(s, "stopping") || !strcmp(s, "stopped") || !strcmp(s, "suspended") ||
        !strcmp(s, "suspending"))
        return ORCH_INST_STOPPED;
    if (!strcmp(s, "destroying") || !strcmp(s, "destroyed"))
        return ORCH_INST_DESTROYED;
    if (!strcmp(s, "failed"))
        return ORCH_INST_FAILED;
    return ORCH_INST_UNKNOWN;
}

void fl_release(struct orch_instance *in)
{
    if (!in)
        return;
    fl_host->free(in->id);
    fl_host->free(in);
}

static struct orch_instance *fl_inst(struct orch_backend *be, const char *id)
{
    struct orch_instance *in = fl_host->calloc(1, sizeof *in);
    if (in) {
        in->be = be;
        in->id = fl_host->strdup(id);
        if (!in->id) {
            fl_host->free(in);
            in = NULL;
        }
    }
    return in;
}

static orch_status fl_ensure_app(struct orch_backend *be, struct orch_ctx *ctx,
                                 struct orch_error *err)
{
    const struct fl_cfg *c = be->cfg;
    struct fl_resp r;
    orch_status rc = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, err, "/apps/%s",
                             c->app);
    if (rc != ORCH_OK)
        return rc;
    long st = r.status;
    if (st != 200 && st != 404)
        rc = fl_fail(&r, "look up the app", err);
    fl_resp_free(&r);
    if (st != 404)
        return rc;
    if (!c->create_app)
        return fl_host->error_set(err, ORCH_E_CONFIG,
                                  "app %s does not exist (create it, or set create_app: "
                                  "true)", c->app);
    /* POST /apps is not idempotent: after a 5xx or a lost answer the app
     * may exist, so look before asking again; "taken" may be this very
     * create, or another process's (both fine once the app is there). */
    for (int attempt = 0;; attempt++) {
        rc = fl_call(be, ctx, "POST",
                     json_pack("{s:s,s:s}", "app_name", c->app, "org_slug", c->org), 0, NULL, &r,
                     err, "/apps");
        long cst = rc == ORCH_OK ? r.status : 0;
        if (rc == ORCH_OK && (cst == 201 || cst == 200)) {
            fl_resp_free(&r);
            return ORCH_OK;
        }
        int unsure = rc == ORCH_E_TRANSIENT || cst >= 500 || cst == 408 || cst == 409 ||
                     cst == 422;
        if (!unsure) {
            if (rc == ORCH_OK)
                rc = fl_fail(&r, "create the app", err);
            fl_resp_free(&r);
            return rc;
        }
        struct orch_error e2 = {0};
        struct fl_resp again;
        orch_status rc2 = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &again, &e2,
                                  "/apps/%s", c->app);
        long gst = rc2 == ORCH_OK ? again.status : 0;
        fl_resp_free(&again);
        fl_host->error_set(&e2, ORCH_OK, NULL);
        if (gst == 200) {
            fl_resp_free(&r);
            fl_host->error_set(err, ORCH_OK, NULL);
            return ORCH_OK;
        }
        if (gst != 404 || attempt >= c->retries || fl_retry_pause(ctx, attempt)) {
            if (rc == ORCH_OK)
                rc = fl_fail(&r, "create the app", err);
            fl_resp_free(&r);
            return rc;
        }
        fl_resp_free(&r);
        fl_host->error_set(err, ORCH_OK, NULL);
    }
}

/* The configured volume: an unattached one of that name, or a new one. */
static orch_status fl_volume(struct orch_backend *be, struct orch_ctx *ctx,
                             const char *region, char **id, struct orch_error *err)
{
    const struct fl_cfg *c = be->cfg;
    struct fl_resp r;
    orch_status rc = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, err,
                             "/apps/%s/volumes", c->app);
    size_t i;
    json_t *v;
    *id = NULL;
    if (rc == ORCH_OK && r.status != 200)
        rc = fl_fail(&r, "list volumes", err);
    json_array_foreach(rc == ORCH_OK ? r.json : NULL, i, v) {
        const char *name = json_string_value(json_object_get(v, "name"));
        const char *att = json_string_value(json_object_get(v, "attached_machine_id"));
        if (name && !strcmp(name, c->volume) && (!att || !*att)) {
            *id = fl_host->strdup(json_string_value(json_object_get(v, "id")));
            break;
        }
    }
    fl_resp_free(&r);
    if (rc != ORCH_OK || *id)
        return rc;
    json_t *body = json_pack("{s:s,s:I,s:b}", "name", c->volume, "size_gb",
                             (json_int_t)c->volume_size_gb, "encrypted", c->volume_encrypted);
    if (region)
        json_object_set_new(body, "region", json_string(region));
    rc = fl_call(be, ctx, "POST", body, 0, NULL, &r, err, "/apps/%s/volumes", c->app);
    if (rc == ORCH_OK && r.status != 200 && r.status != 201)
        rc = fl_fail(&r, "create the volume", err);
    if (rc == ORCH_OK)
        *id = fl_host->strdup(json_string_value(json_object_get(r.json, "id")));
    fl_resp_free(&r);
    return rc;
}

static json_t *fl_machine_body(struct orch_backend *be, const struct orch_instance_spec *spec,
                               const char *volume_id)
{
    const struct fl_cfg *c = be->cfg;
    json_t *env = json_object(), *meta = json_object(), *labels = json_object();
    for (uint32_t i = 0; i < c->env.count; i++)
        json_object_set_new(env, c->env.keys[i], json_string(c->env.values[i]));
    for (uint32_t i = 0; i < spec->env_count; i++)
        json_object_set_new(env, spec->env[i].key,
                            json_string(spec->env[i].value ? spec->env[i].value : ""));
    for (uint32_t i = 0; i < c->metadata.count; i++)
        json_object_set_new(meta, c->metadata.keys[i], json_string(c->metadata.values[i]));
    for (uint32_t i = 0; i < spec->label_count; i++) {
        char *k = fl_meta_key(spec->labels[i].key);
        const char *v = spec->labels[i].value ? spec->labels[i].value : "";
        if (k)
            json_object_set_new(meta, k, json_string(v));
        json_object_set_new(labels, spec->labels[i].key, json_string(v));
        fl_host->free(k);
    }
    char *lj = json_dumps(labels, JSON_COMPACT | JSON_SORT_KEYS);
    json_object_set_new(meta, "orch_labels", json_string(lj ? lj : "{}"));
    free(lj);
    json_decref(labels);
    json_t *config = json_pack("{s:s,s:o,s:{s:s,s:I,s:I},s:{s:s},s:b,s:o}", "image",
                               spec->image ? spec->image : c->image, "env", env, "guest",
                               "cpu_kind", c->cpu_kind, "cpus", (json_int_t)c->cpus,
                               "memory_mb", (json_int_t)be->memory_mb, "restart", "policy",
                               c->restart_policy, "auto_destroy", c->auto_destroy, "metadata",
                               meta);
    if (c->init_cmd.count) {
        json_t *cmd = json_array();
        for (uint32_t i = 0; i < c->init_cmd.count; i++)
            json_array_append_new(cmd, json_string(c->init_cmd.items[i]));
        json_object_set_new(config, "init", json_pack("{s:o}", "cmd", cmd));
    }
    if (volume_id)
        json_object_set_new(config, "mounts",
                            json_pack("[{s:s,s:s}]", "volume", volume_id, "path",
                                      c->volume_path));
    json_t *body = json_pack("{s:o}", "config", config);
    const char *region = spec->region ? spec->region : c->region;
    if (region)
        json_object_set_new(body, "region", json_string(region));
    /* Machine names: unique in the app (so a retried create cannot make a
     * second machine), at most 63 lowercase letters, digits and dashes. */
    char name[64];
    snprintf(name, sizeof name, "orch-%s", spec->instance_id);
    for (char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            *p = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : '-';
    json_object_set_new(body, "name", json_string(name));
    return body;
}

/* A metadata value of a machine as the API lists it. */
static const char *fl_machine_meta(const json_t *m, const char *key)
{
    return json_string_value(
        json_object_get(json_object_get(json_object_get(m, "config"), "metadata"), key));
}

/* The machine carrying orch.instance = id, if any (a create that may have
 * happened though its answer was lost): *found (host memory) or NULL. */
static orch_status fl_find_by_instance(struct orch_backend *be, struct orch_ctx *ctx,
                                       const char *iid, char **found, struct orch_error *err)
{
    struct fl_resp r;
    *found = NULL;
    orch_status rc = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, err,
                             "/apps/%s/machines?metadata.orch_instance=%s", be->cfg->app, iid);
    if (rc == ORCH_OK && r.status != 200)
        rc = fl_fail(&r, "look for the machine", err);
    size_t i;
    json_t *m;
    json_array_foreach(rc == ORCH_OK ? r.json : NULL, i, m) {
        const char *v = fl_machine_meta(m, "orch_instance");
        const char *st = json_string_value(json_object_get(m, "state"));
        if (v && !strcmp(v, iid) && fl_state(st) != ORCH_INST_DESTROYED) {
            *found = fl_host->strdup(json_string_value(json_object_get(m, "id")));
            if (!*found)
                rc = fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
            break;
        }
    }
    fl_resp_free(&r);
    return rc;
}

/* Whether the machine is gone or going: 404, or destroying/destroyed. */
static int fl_gone(struct orch_backend *be, struct orch_ctx *ctx, const char *id)
{
    struct fl_resp r;
    struct orch_error e = {0};
    orch_status rc = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, &e,
                             "/apps/%s/machines/%s", be->cfg->app, id);
    int gone = rc == ORCH_OK &&
               (r.status == 404 ||
                (r.status == 200 && fl_state(json_string_value(json_object_get(r.json, "state"))) ==
                                        ORCH_INST_DESTROYED));
    fl_resp_free(&r);
    fl_host->error_set(&e, ORCH_OK, NULL);
    return gone;
}

/* DELETE ?force=true; gone already counts as destroyed, and so does a 412
 * for a machine already being destroyed (a retried DELETE whose first
 * answer was lost gets one) once a look confirms it. Tried twice when
 * memory ran short, so a machine is not left behind for want of a URL. */
static orch_status fl_destroy_id(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                                 const char *nonce, struct orch_error *err)
{
    orch_status rc = ORCH_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        struct fl_resp r;
        rc = fl_call(be, ctx, "DELETE", NULL, FL_IDEMPOTENT, nonce, &r, err,
                     "/apps/%s/machines/%s?force=true", be->cfg->app, id);
        if (rc == ORCH_OK && r.status == 412 && fl_gone(be, ctx, id))
            r.status = 200;
        if (rc == ORCH_OK && r.status != 200 && r.status != 404)
            rc = fl_fail(&r, "destroy the machine", err);
        fl_resp_free(&r);
        if (rc != ORCH_E_NOMEM)
            break;
    }
    return rc;
}

/* /wait answers within 60 s at most: ask again until `state` or the
 * deadline. */
static orch_status fl_wait(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                           const char *state, int64_t deadline, struct orch_error *err)
{
    for (;;) {
        int64_t left = (deadline - fl_host->now_mono_ns()) / 1000000000;
        if (left < 1)
            return fl_host->error_set(err, ORCH_E_TIMEOUT, "machine %s did not reach %s in "
                                      "time", id, state);
        struct fl_resp r;
        orch_status rc = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, err,
                                 "/apps/%s/machines/%s/wait?state=%s&timeout=%lld",
                                 be->cfg->app, id, state, (long long)(left > 60 ? 60 : left));
        long st = r.status;
        if (rc == ORCH_OK && st != 200 && st != 408)
            rc = fl_fail(&r, "wait for the machine", err);
        fl_resp_free(&r);
        if (rc != ORCH_OK || st == 200)
            return rc;
    }
}

/* The POST that creates the machine, tried again (up to `retries`) where
 * it may have failed or happened unseen: before a second POST the app is
 * searched for the instance's machine, so a lost answer never makes two.
 * *idp: the machine id, host memory. */
static orch_status fl_create_machine(struct orch_backend *be, struct orch_ctx *ctx,
                                     const struct orch_instance_spec *spec, const char *vol,
                                     char **idp, struct orch_error *err)
{
    const struct fl_cfg *c = be->cfg;
    orch_status rc = ORCH_OK;
    char *id = NULL;
    for (int attempt = 0; rc == ORCH_OK && !id; attempt++) {
        struct fl_resp r;
        rc = fl_call(be, ctx, "POST", fl_machine_body(be, spec, vol), 0, NULL, &r, err,
                     "/apps/%s/machines", c->app);
        if (rc == ORCH_OK && r.status == 200) {
            const char *jid = json_string_value(json_object_get(r.json, "id"));
            id = jid ? fl_host->strdup(jid) : NULL;
            if (!id) {
                /* Made but unusable here: it goes at once. */
                if (jid)
                    fl_destroy_id(be, NULL, jid, NULL, err);
                rc = fl_host->error_set(err, jid ? ORCH_E_NOMEM : ORCH_E_PROTOCOL,
                                        jid ? "out of memory"
                                            : "the create answer has no id");
            }
        } else if ((rc == ORCH_E_TRANSIENT || rc == ORCH_E_NOMEM ||
                    (rc == ORCH_OK && (r.status >= 500 || r.status == 408))) &&
                   attempt < c->retries) {
            /* The create may have happened: look before creating again
             * (after a pause, unless memory ran short here). */
            int nomem = rc == ORCH_E_NOMEM;
            fl_host->error_set(err, ORCH_OK, NULL);
            rc = fl_find_by_instance(be, ctx, spec->instance_id, &id, err);
            if (id)
                fl_host->log(ctx, ORCH_LOG_INFO, "fly: the create of %s did happen (machine "
                             "%s) though its answer was lost", spec->instance_id, id);
            else if (rc == ORCH_OK && !nomem && fl_retry_pause(ctx, attempt))
                rc = fl_host->error_set(err, ORCH_E_TIMEOUT, "create %s: cancelled or "
                                        "out of time while retrying", spec->instance_id);
        } else if (rc == ORCH_OK && (r.status == 409 || r.status == 422) && attempt > 0) {
            /* Names are unique in an app and ours is the instance's: "taken"
             * on a retry is our own earlier create, its answer lost. */
            orch_status frc = fl_find_by_instance(be, ctx, spec->instance_id, &id, err);
            rc = frc != ORCH_OK ? frc : id ? ORCH_OK : fl_fail(&r, "create the machine", err);
        } else if (rc == ORCH_OK) {
            rc = fl_fail(&r, "create the machine", err);
        }
        fl_resp_free(&r);
    }
    *idp = id;
    return rc;
}

/* A new machine made usable: started (within the deadline), its work dir
 * made. */
static orch_status fl_create_ready(struct orch_backend *be, struct orch_ctx *ctx,
                                   struct orch_instance *in, int64_t deadline,
                                   struct orch_error *err)
{
    const struct fl_cfg *c = be->cfg;
    orch_status rc = fl_wait(be, ctx, in->id, "started", deadline, err);
    int st = 0;
    char *q = rc == ORCH_OK ? fl_quote(c->workdir) : NULL;
    char *mk = q ? fl_printf("mkdir -p %s", q) : NULL;
    fl_host->free(q);
    if (rc == ORCH_OK)
        rc = mk ? fl_sh_idem(in, ctx, mk, 60, NULL, &st, err)
                : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    fl_host->free(mk);
    if (rc == ORCH_OK && st != 0)
        rc = fl_host->error_set(err, ORCH_E_IO, "cannot make %s on machine %s", c->workdir,
                                in->id);
    return rc;
}

orch_status fl_create(struct orch_backend *be, struct orch_ctx *ctx,
                      const struct orch_instance_spec *spec, struct orch_instance **out,
                      struct orch_instance_ref *ref, struct orch_error *err)
{
    const struct fl_cfg *c = be->cfg;
    if (!spec->instance_id)
        return fl_host->error_set(err, ORCH_E_INVALID_ARG, "no instance id");
    if (!spec->image && !c->image)
        return fl_host->error_set(err, ORCH_E_CONFIG,
                                  "no image to create the machine from: set the "
                                  "backend's 'image' option");
    if (spec->size)
        return fl_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "sizes are set with cpu_kind, cpus and memory_mb");
    int64_t deadline = fl_host->now_mono_ns() +
                       (spec->timeout_ms ? spec->timeout_ms : c->create_timeout_ms) * 1000000;
    orch_status rc = fl_ensure_app(be, ctx, err);
    char *vol = NULL;
    if (rc == ORCH_OK && c->volume)
        rc = fl_volume(be, ctx, spec->region ? spec->region : c->region, &vol, err);
    char *id = NULL;
    if (rc == ORCH_OK)
        rc = fl_create_machine(be, ctx, spec, vol, &id, err);
    fl_host->free(vol);
    struct orch_instance *in = rc == ORCH_OK ? fl_inst(be, id) : NULL;
    if (rc == ORCH_OK && !in)
        rc = fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (rc == ORCH_OK)
        rc = fl_create_ready(be, ctx, in, deadline, err);
    if (rc != ORCH_OK) {
        /* A machine that never became usable is not left behind. */
        if (id) {
            struct orch_error e2 = {0};
            fl_destroy_id(be, NULL, id, NULL, &e2);
            fl_host->error_set(&e2, ORCH_OK, NULL);
        }
        fl_release(in);
        fl_host->free(id);
        return rc;
    }
    ref->id = id;
    ref->handle = NULL;
    *out = in;
    return ORCH_OK;
}

orch_status fl_attach(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                      const char *handle, struct orch_instance **out, struct orch_error *err)
{
    (void)handle;
    struct fl_resp r;
    orch_status rc = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, err,
                             "/apps/%s/machines/%s", be->cfg->app, id);
    if (rc == ORCH_OK) {
        const char *st = json_string_value(json_object_get(r.json, "state"));
        if (r.status == 404 || (r.status == 200 && fl_state(st) == ORCH_INST_DESTROYED))
            rc = fl_host->error_set(err, ORCH_E_NOT_FOUND, "no machine %s in app %s", id,
                                    be->cfg->app);
        else if (r.status != 200)
            rc = fl_fail(&r, "look up the machine", err);
    }
    fl_resp_free(&r);
    if (rc != ORCH_OK)
        return rc;
    *out = fl_inst(be, id);
    return *out ? ORCH_OK : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
}

/* A lease around a mutation, when configured (*nonce NULL otherwise).
 * Fly answers a new lease with 201 and {status, data: {nonce, ...}}; the
 * ttl goes in the body, in seconds. Without the nonce the mutation would
 * be refused (409), so a lease that cannot be had is an error. */
static orch_status fl_lease(struct orch_instance *in, struct orch_ctx *ctx, char **nonce,
                            struct orch_error *err)
{
    *nonce = NULL;
    if (!in->be->cfg->use_leases)
        return ORCH_OK;
    int64_t ttl = in->be->cfg->lease_ttl_ms / 1000;
    struct fl_resp r;
    orch_status rc = fl_call(in->be, ctx, "POST",
                             json_pack("{s:I,s:s}", "ttl", (json_int_t)(ttl > 0 ? ttl : 1),
                                       "description", "orch"),
                             0, NULL, &r, err, "/apps/%s/machines/%s/lease", in->be->cfg->app,
                             in->id);
    if (rc == ORCH_OK && (r.status == 201 || r.status == 200)) {
        const char *n =
            json_string_value(json_object_get(json_object_get(r.json, "data"), "nonce"));
        *nonce = n && *n ? fl_host->strdup(n) : NULL;
        if (!*nonce)
            rc = n && *n ? fl_host->error_set(err, ORCH_E_NOMEM, "out of memory")
                         : fl_host->error_set(err, ORCH_E_PROTOCOL,
                                              "the lease answer for machine %s has no "
                                              "nonce", in->id);
    } else if (rc == ORCH_OK) {
        char *what = fl_printf("lease machine %s", in->id);
        rc = fl_fail(&r, what ? what : "lease the machine", err);
        fl_host->free(what);
    }
    fl_resp_free(&r);
    return rc;
}

static void fl_unlease(struct orch_instance *in, char *nonce)
{
    if (!nonce)
        return;
    struct fl_resp r;
    struct orch_error e = {0};
    fl_call(in->be, NULL, "DELETE", NULL, FL_IDEMPOTENT, nonce, &r, &e,
            "/apps/%s/machines/%s/lease", in->be->cfg->app, in->id);
    fl_resp_free(&r);
    fl_host->error_set(&e, ORCH_OK, NULL);
    fl_host->free(nonce);
}

orch_status fl_destroy(struct orch_instance *in, struct orch_ctx *ctx, struct orch_error *err)
{
    char *nonce = NULL;
    orch_status rc = fl_lease(in, ctx, &nonce, err);
    if (rc != ORCH_OK) {
        /* No lease on a machine that is gone or going: that is destroyed. */
        if (fl_gone(in->be, ctx, in->id)) {
            fl_host->error_set(err, ORCH_OK, NULL);
            return ORCH_OK;
        }
        return rc;
    }
    rc = fl_destroy_id(in->be, ctx, in->id, nonce, err);
    if (rc != ORCH_OK)
        fl_unlease(in, nonce); /* not destroyed: the lease must not block the reaper */
    else
        fl_host->free(nonce); /* a destroyed machine's lease goes with it */
    return rc;
}

orch_status fl_status(struct orch_instance *in, struct orch_ctx *ctx,
                      struct orch_instance_status *out, struct orch_error *err)
{
    struct fl_resp r;
    orch_status rc = fl_call(in->be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, err,
                             "/apps/%s/machines/%s", in->be->cfg->app, in->id);
    if (rc == ORCH_OK && r.status == 404) {
        out->state = ORCH_INST_DESTROYED;
        out->detail = fl_host->strdup("not found");
    } else if (rc == ORCH_OK && r.status == 200) {
        const char *st = json_string_value(json_object_get(r.json, "state"));
        out->state = fl_state(st);
        out->detail = fl_printf("%s in %s", st ? st : "?",
                                json_string_value(json_object_get(r.json, "region"))
                                    ? json_string_value(json_object_get(r.json, "region"))
                                    : "?");
    } else if (rc == ORCH_OK) {
        rc = fl_fail(&r, "machine status", err);
    }
    fl_resp_free(&r);
    return rc;
}

orch_status fl_stop(struct orch_instance *in, struct orch_ctx *ctx, int64_t grace_ms,
                    struct orch_error *err)
{
    char *nonce = NULL;
    orch_status rc = fl_lease(in, ctx, &nonce, err);
    if (rc != ORCH_OK)
        return rc;
    char t[32];
    snprintf(t, sizeof t, "%llds", (long long)((grace_ms + 999) / 1000));
    struct fl_resp r;
    rc = fl_call(in->be, ctx, "POST", json_pack("{s:s,s:s}", "signal", "SIGTERM", "timeout", t),
                 FL_IDEMPOTENT, nonce, &r, err, "/apps/%s/machines/%s/stop", in->be->cfg->app,
                 in->id);
    if (rc == ORCH_OK && r.status != 200)
        rc = fl_fail(&r, "stop the machine", err);
    fl_resp_free(&r);
    if (rc == ORCH_OK)
        rc = fl_wait(in->be, ctx, in->id, "stopped",
                     fl_host->now_mono_ns() + (grace_ms + 60000) * 1000000, err);
    fl_unlease(in, nonce);
    return rc;
}

orch_status fl_list_owned(struct orch_backend *be, struct orch_ctx *ctx,
                          const struct orch_kv *match, uint32_t match_count, orch_owned_fn fn,
                          void *ud, struct orch_error *err)
{
    struct fl_resp r;
    orch_status rc = fl_call(be, ctx, "GET", NULL, FL_IDEMPOTENT, NULL, &r, err,
                             "/apps/%s/machines", be->cfg->app);
    if (rc == ORCH_OK && r.status == 404) {
        fl_resp_free(&r);
        return ORCH_OK; /* no app: nothing of ours */
    }
    if (rc == ORCH_OK && r.status != 200)
        rc = fl_fail(&r, "list machines", err);
    size_t i;
    json_t *m;
    json_array_foreach(rc == ORCH_OK ? r.json : NULL, i, m) {
        const char *lj = fl_machine_meta(m, "orch_labels");
        uint32_t state = fl_state(json_string_value(json_object_get(m, "state")));
        json_t *labels = lj ? json_loads(lj, 0, NULL) : NULL;
        if (!json_is_object(labels) || state == ORCH_INST_DESTROYED) {
            json_decref(labels);
            continue;
        }
        int ok = 1;
        for (uint32_t k = 0; k < match_count && ok; k++) {
            const char *v = json_string_value(json_object_get(labels, match[k].key));
            ok = v && !strcmp(v, match[k].value ? match[k].value : "");
        }
        struct orch_kv kv[32];
        uint32_t n = 0;
        const char *key;
        json_t *val;
        json_object_foreach(labels, key, val) {
            if (n < 32)
                kv[n++] = (struct orch_kv){key, json_string_value(val)};
        }
        struct orch_owned_instance o = {.struct_size = sizeof o, .state = state,
                                        .id = json_string_value(json_object_get(m, "id")),
                                        .labels = kv, .label_count = n};
        int stop = ok && fn(ud, &o) != 0;
        json_decref(labels);
        if (stop)
            break;
    }
    fl_resp_free(&r);
    return rc;
}
