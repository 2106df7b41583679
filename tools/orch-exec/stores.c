/* The stores a request names, opened inside the executor for a step's
 * artifact transfers (the artifacts store, and the state store a shared
 * namespace's versions are allocated in), and the counting reader a put
 * hashes its bytes with. Apart from artifacts.c and artifact_ns.c, which
 * both use them. */
#include <string.h>

#include "exec.h"
#include "host.h"
#include "options.h"

orch_status xe_store_open(struct orch_ctx *ctx, const struct oc_req_plugin_spec *spec,
                          const char *what, struct xe_store *s, struct orch_error *err)
{
    memset(s, 0, sizeof *s);
    s->d = xe_plugin(spec, ORCH_KIND_STORE, err);
    if (!s->d)
        return err->code;
    s->vt = s->d->vtable;
    s->cfg = xe_options(s->d, spec->with, what, 1, err);
    if (!s->cfg)
        return err->code;
    struct orch_ctx sctx;
    oc_ctx_init(&sctx, s->d->name);
    sctx.state_dir = ctx->state_dir;
    orch_status rc = s->vt->open(&sctx, s->cfg, &s->h, err);
    if (rc != ORCH_OK)
        oc_error_wrap(err, "%s store %s", what, s->d->name);
    return rc;
}

void xe_store_close(struct xe_store *s)
{
    if (s->h)
        s->vt->close(s->h);
    if (s->d)
        oc_options_free(s->d, s->cfg);
    memset(s, 0, sizeof *s);
}

orch_status xe_artifact_store_open(struct orch_ctx *ctx, struct xe_store *s,
                                   struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    memset(s, 0, sizeof *s);
    if (!ctx->run_id)
        return oc_error_set(err, ORCH_E_UNSUPPORTED, "artifacts belong to a run; this call "
                                                     "has none");
    if (!job->rq.has_artifacts)
        return oc_error_set(err, ORCH_E_UNSUPPORTED,
                            "no artifact store: the state store cannot hold blobs; configure "
                            "artifacts: in the workflow file");
    return xe_store_open(ctx, &job->rq.artifacts, "artifacts", s, err);
}

int64_t xe_count_read(void *ud, void *buf, uint64_t len)
{
    struct xe_count *c = ud;
    int64_t n = c->rd(c->ud, buf, len);
    if (n > 0) {
        c->n += (uint64_t)n;
        sha256_update(&c->sha, (size_t)n, buf);
    }
    return n;
}

