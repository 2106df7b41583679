/* The run's artifacts, from the executor: the job names the store that
 * holds them (the `artifacts:` store, or the state store when it can hold
 * blobs); the executor opens it for each transfer, so bytes stream from the
 * plugin to the store without passing through the engine. Keys are
 * "runs/<run id>/artifacts/<name>". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "exec.h"
#include "exec/result.h"
#include "host.h"
#include "options.h"
#include "run_artifacts.h"
#include "util.h"

static int xe_artifact_name_ok(const char *name)
{
    if (!name || !*name || name[0] == '/' || strlen(name) > 512)
        return 0;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20)
            return 0;
    const char *part = name;
    for (;;) {
        const char *slash = strchr(part, '/');
        size_t len = slash ? (size_t)(slash - part) : strlen(part);
        if (len == 0 || (len == 1 && part[0] == '.') ||
            (len == 2 && part[0] == '.' && part[1] == '.'))
            return 0;
        if (!slash)
            return 1;
        part = slash + 1;
    }
}

struct xe_art {
    const struct orch_plugin_desc *d;
    const struct orch_store_vtable *vt;
    void *cfg;
    struct orch_store *h;
    char *key;
};

static orch_status xe_art_open(struct orch_ctx *ctx, const char *name, struct xe_art *a,
                               struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    memset(a, 0, sizeof *a);
    if (!xe_artifact_name_ok(name))
        return oc_error_set(err, ORCH_E_INVALID_ARG,
                            "artifact name '%s' must be relative, without '.' or '..' parts",
                            name ? name : "");
    if (!ctx->run_id)
        return oc_error_set(err, ORCH_E_UNSUPPORTED, "artifacts belong to a run; this call "
                                                     "has none");
    const struct oc_req_plugin_spec *spec = &job->rq.artifacts;
    if (!job->rq.has_artifacts)
        return oc_error_set(err, ORCH_E_UNSUPPORTED,
                            "no artifact store: the state store cannot hold blobs; configure "
                            "artifacts: in the workflow file");
    a->d = xe_plugin(spec, ORCH_KIND_STORE, err);
    if (!a->d)
        return err->code;
    a->vt = a->d->vtable;
    a->cfg = xe_options(a->d, spec->with, "artifacts", 1, err);
    if (!a->cfg)
        return err->code;
    struct orch_ctx sctx;
    oc_ctx_init(&sctx, a->d->name);
    sctx.state_dir = ctx->state_dir;
    orch_status rc = a->vt->open(&sctx, a->cfg, &a->h, err);
    if (rc != ORCH_OK) {
        oc_error_wrap(err, "artifact store %s", a->d->name);
        return rc;
    }
    a->key = oc_artifact_key(ctx->run_id, name);
    return ORCH_OK;
}

static void xe_art_close(struct xe_art *a)
{
    if (a->h)
        a->vt->close(a->h);
    if (a->d)
        oc_options_free(a->d, a->cfg);
    free(a->key);
}

/* The bytes a put reads, counted and hashed on their way to the store. */
struct xe_count {
    orch_read_fn rd;
    void *ud;
    uint64_t n;
    struct sha256_ctx sha;
};

static int64_t xe_count_read(void *ud, void *buf, uint64_t len)
{
    struct xe_count *c = ud;
    int64_t n = c->rd(c->ud, buf, len);
    if (n > 0) {
        c->n += (uint64_t)n;
        sha256_update(&c->sha, (size_t)n, buf);
    }
    return n;
}

orch_status xe_artifact_put(struct orch_ctx *ctx, const char *name, orch_read_fn rd, void *ud,
                            struct orch_error *err)
{
    struct xe_art a;
    orch_status rc = xe_art_open(ctx, name, &a, err);
    if (rc == ORCH_OK) {
        struct xe_count c = {.rd = rd, .ud = ud};
        sha256_init(&c.sha);
        rc = a.vt->blob_put(a.h, a.key, xe_count_read, &c, err);
        if (rc == ORCH_OK) {
            char hex[2 * SHA256_DIGEST_SIZE + 1];
            oc_artifact_sha256_hex(&c.sha, hex);
            json_t *j = json_pack("{s:s,s:s?,s:I,s:s}", "name", name, "step", ctx->step_id,
                                  "size", (json_int_t)c.n, "sha256", hex);
            char *txt = json_dumps(j, JSON_COMPACT);
            json_decref(j);
            /* The executor's own event: core/run_artifacts.c lists them. */
            xe_send_json(oc_msg_event_core("artifact.stored", txt ? txt : "{}"));
            free(txt);
        } else {
            oc_error_wrap(err, "storing artifact %s", name);
        }
    }
    xe_art_close(&a);
    return rc;
}

orch_status xe_artifact_get(struct orch_ctx *ctx, const char *name, orch_write_fn wr, void *ud,
                            struct orch_error *err)
{
    struct xe_art a;
    orch_status rc = xe_art_open(ctx, name, &a, err);
    if (rc == ORCH_OK) {
        rc = a.vt->blob_get(a.h, a.key, wr, ud, err);
        if (rc == ORCH_E_NOT_FOUND)
            oc_error_set(err, rc, "no artifact '%s' in run %s", name, ctx->run_id);
        else if (rc != ORCH_OK)
            oc_error_wrap(err, "reading artifact %s", name);
    }
    xe_art_close(&a);
    return rc;
}
