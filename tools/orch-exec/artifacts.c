/* The run's artifacts, from the executor: the job names the store that
 * holds them (the `artifacts:` store, or the state store when it can hold
 * blobs); the executor opens it for each transfer, so bytes stream from the
 * plugin to the store without passing through the engine. Keys are
 * "runs/<run id>/artifacts/<name>" (core/run_artifacts.c). A name
 * runs/RUN/NAME reads run RUN's artifact NAME from the same store, never
 * writes it, and the read is recorded as an artifact.read event. A name
 * ns/NS/NAME[@V] is a shared namespace's: tools/orch-exec/artifact_ns.c. */
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

struct xe_art {
    struct xe_store st;
    char *key;
    char *other_run;         /* runs/RUN/NAME: RUN; else NULL */
    const char *name;        /* the name within its run */
};

static orch_status xe_art_open(struct orch_ctx *ctx, const char *name, int write,
                               struct xe_art *a, struct orch_error *err)
{
    memset(a, 0, sizeof *a);
    switch (oc_artifact_ref_parse(name, &a->other_run, &a->name)) {
    case OC_ART_BAD:
        return oc_error_set(err, ORCH_E_INVALID_ARG,
                            "artifact name '%s' must be relative, without '.' or '..' parts "
                            "(and runs/RUN/NAME names a run id and a name)",
                            name ? name : "");
    case OC_ART_OTHER_RUN:
        if (write)
            return oc_error_set(err, ORCH_E_INVALID_ARG,
                                "artifact '%s': runs/RUN/NAME is another run's artifact, "
                                "which is read-only (store it under a name of this run)",
                                name);
        break;
    case OC_ART_NAMESPACE: /* xe_artifact_put/get sent it to artifact_ns.c */
    case OC_ART_OWN: break;
    }
    orch_status rc = xe_artifact_store_open(ctx, &a->st, err);
    if (rc != ORCH_OK)
        return rc;
    a->key = oc_artifact_key(a->other_run ? a->other_run : ctx->run_id, a->name);
    return ORCH_OK;
}

static void xe_art_close(struct xe_art *a)
{
    xe_store_close(&a->st);
    free(a->key);
    free(a->other_run);
}

/* ns/NS/NAME: a shared namespace's (artifact_ns.c). */
static int xe_is_ns(const char *name)
{
    char *run;
    const char *rest;
    enum oc_artifact_ref k = oc_artifact_ref_parse(name, &run, &rest);
    free(run);
    return k == OC_ART_NAMESPACE;
}

orch_status xe_artifact_put(struct orch_ctx *ctx, const char *name, orch_read_fn rd, void *ud,
                            struct orch_error *err)
{
    if (xe_is_ns(name))
        return xe_artns_put(ctx, name, rd, ud, err);
    struct xe_art a;
    orch_status rc = xe_art_open(ctx, name, 1, &a, err);
    if (rc == ORCH_OK) {
        struct xe_count c = {.rd = rd, .ud = ud};
        sha256_init(&c.sha);
        rc = a.st.vt->blob_put(a.st.h, a.key, xe_count_read, &c, err);
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
    if (xe_is_ns(name))
        return xe_artns_get(ctx, name, wr, ud, err);
    struct xe_art a;
    orch_status rc = xe_art_open(ctx, name, 0, &a, err);
    if (rc != ORCH_OK) {
        xe_art_close(&a);
        return rc;
    }
    /* Counted and hashed: what a read of another run's artifact is
     * recorded with. */
    struct oc_artifact_tee c;
    oc_artifact_tee_init(&c, wr, ud);
    rc = a.st.vt->blob_get(a.st.h, a.key, oc_artifact_tee_write, &c, err);
    if (rc == ORCH_E_NOT_FOUND)
        oc_error_set(err, rc, "no artifact '%s' in run %s", a.name,
                     a.other_run ? a.other_run : ctx->run_id);
    else if (rc != ORCH_OK)
        oc_error_wrap(err, "reading artifact %s", name);
    if (rc == ORCH_OK && a.other_run) {
        /* Which bytes of which run this one used: its ledger says, and
         * the sha256 can be held against the other run's list. */
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        oc_artifact_sha256_hex(&c.sha, hex);
        json_t *j = json_pack("{s:s,s:s,s:s?,s:I,s:s}", "run", a.other_run, "name", a.name,
                              "step", ctx->step_id, "size", (json_int_t)c.n, "sha256", hex);
        char *txt = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        xe_send_json(oc_msg_event_core("artifact.read", txt ? txt : "{}"));
        free(txt);
    }
    xe_art_close(&a);
    return rc;
}
