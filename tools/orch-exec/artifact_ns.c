/* A step's reads and writes of artifact:ns/NS/NAME[@V], inside the
 * executor. The version ledger is the state store's (the request's
 * namespaces.state, opened here as the artifacts store is), the bytes the
 * artifacts store's; core/artifact_ns.c owns the rules. A write allocates
 * its version before the bytes go (so two writers never share a key),
 * stores them under ns/NS/NAME@V and records them; a read takes the
 * latest stored version (or @V), checked by size and sha256. Both are
 * recorded in the run's ledger (artifact.read, artifact.ns.stored), which
 * is where a later write of the run finds the version it read: the
 * conflict rule's "read earlier in the same run". */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "artifact_ns.h"
#include "exec.h"
#include "exec/result.h"
#include "host.h"
#include "run_artifacts.h"
#include "util.h"

/* The parsed reference, its declaration and both stores, open. */
struct xe_ns {
    struct oc_artns_ref ref;
    json_t *decl;                /* {keep, on_conflict}, borrowed */
    struct xe_store state, blobs;
};

static void xe_ns_close(struct xe_ns *n)
{
    oc_artns_ref_free(&n->ref);
    xe_store_close(&n->state);
    xe_store_close(&n->blobs);
}

static orch_status xe_ns_open(struct orch_ctx *ctx, const char *text, struct xe_ns *n,
                              struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    memset(n, 0, sizeof *n);
    char *why = NULL;
    if (oc_artns_ref_parse(text + 3, &n->ref, &why) != 0) {
        orch_status rc = oc_error_set(err, ORCH_E_INVALID_ARG, "artifact '%.600s': %s", text,
                                      why);
        free(why);
        return rc;
    }
    if (!job->rq.has_namespaces ||
        !(n->decl = json_object_get(job->rq.ns_declared, n->ref.ns)))
        return oc_error_set(err, ORCH_E_INVALID_ARG,
                            "artifact '%.600s': namespace '%s' is not declared in the workflow "
                            "file (artifacts: namespaces: {%s: {}})",
                            text, n->ref.ns, n->ref.ns);
    orch_status rc = xe_artifact_store_open(ctx, &n->blobs, err);
    if (rc == ORCH_OK)
        rc = xe_store_open(ctx, &job->rq.ns_state, "state", &n->state, err);
    if (rc == ORCH_OK && !(n->state.d->caps & ORCH_STORE_CAP_LEASES))
        rc = oc_error_set(err, ORCH_E_UNSUPPORTED, "artifact namespaces need a state store "
                          "with leases; %s has none", n->state.d->name);
    return rc;
}

static char *xe_ns_seen_key(const struct oc_artns_ref *r)
{
    return oc_xasprintf("%s\n%s", r->ns, r->name);
}

static void xe_ns_seen(struct xe_job *job, const struct oc_artns_ref *r, uint64_t v)
{
    if (!job->ns_seen)
        job->ns_seen = json_object();
    char *k = xe_ns_seen_key(r);
    json_object_set_new(job->ns_seen, k, json_integer((json_int_t)v));
    free(k);
}

/* The last version of the name this run read or wrote: its
 * artifact.read and artifact.ns.stored events (earlier steps) and this
 * job's own. */
struct xe_ns_read {
    const struct oc_artns_ref *ref;
    uint64_t version;
};

static int32_t xe_ns_read_ev(void *ud, const struct orch_event_rec *e)
{
    struct xe_ns_read *r = ud;
    if (strcmp(e->type, "artifact.read") && strcmp(e->type, OC_ARTNS_EV_STORED))
        return 0;
    json_t *d = json_loads(e->data_json ? e->data_json : "{}", 0, NULL);
    const char *ns = json_string_value(json_object_get(d, "namespace"));
    const char *name = json_string_value(json_object_get(d, "name"));
    if (ns && name && !strcmp(ns, r->ref->ns) && !strcmp(name, r->ref->name))
        r->version = (uint64_t)json_integer_value(json_object_get(d, "version"));
    json_decref(d);
    return 0;
}

static orch_status xe_ns_read_version(struct orch_ctx *ctx, struct xe_ns *n, uint64_t *out,
                                      struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    struct xe_ns_read r = {&n->ref, 0};
    orch_status rc = n->state.vt->event_list(n->state.h, ctx->run_id, 0, 0, xe_ns_read_ev, &r,
                                             err);
    char *k = xe_ns_seen_key(&n->ref);
    json_t *mine = json_object_get(job->ns_seen, k);
    free(k);
    if (mine)
        r.version = (uint64_t)json_integer_value(mine); /* this job's are the newest */
    *out = r.version;
    return rc;
}

static void xe_ns_event(const char *type, json_t *data)
{
    char *txt = json_dumps(data, JSON_COMPACT);
    json_decref(data);
    /* The executor's own event (a plugin's emit lands as plugin.*). */
    xe_send_json(oc_msg_event_core(type, txt ? txt : "{}"));
    free(txt);
}

orch_status xe_artns_put(struct orch_ctx *ctx, const char *name, orch_read_fn rd, void *ud,
                         struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    struct xe_ns n;
    orch_status rc = xe_ns_open(ctx, name, &n, err);
    if (rc == ORCH_OK && n.ref.version)
        rc = oc_error_set(err, ORCH_E_INVALID_ARG,
                          "artifact '%.600s': a write gets the next version of the name; "
                          "write ns/%s/%s, without '@'", name, n.ref.ns, n.ref.name);
    uint64_t read = 0;
    if (rc == ORCH_OK)
        rc = xe_ns_read_version(ctx, &n, &read, err);
    struct oc_artns_alloc al = {0};
    struct oc_artns_state s = {n.state.vt, n.state.h};
    if (rc == ORCH_OK) {
        const char *oc = json_string_value(json_object_get(n.decl, "on_conflict"));
        struct oc_artns_write w = {n.ref.ns, n.ref.name, ctx->run_id, ctx->step_id, read,
                                   oc && !strcmp(oc, "fail")};
        rc = oc_artns_allocate(&s, &w, &al, err);
        if (al.conflict) {
            json_object_set_new(al.conflict, "step", json_string(ctx->step_id ? ctx->step_id
                                                                               : ""));
            if (al.version)
                json_object_set_new(al.conflict, "version", json_integer((json_int_t)al.version));
            xe_ns_event(OC_ARTNS_EV_CONFLICT, al.conflict);
        }
    }
    if (rc == ORCH_OK) {
        struct xe_count c = {.rd = rd, .ud = ud};
        sha256_init(&c.sha);
        char *key = oc_artns_key(n.ref.ns, n.ref.name, al.version);
        rc = n.blobs.vt->blob_put(n.blobs.h, key, xe_count_read, &c, err);
        free(key);
        char hex[2 * SHA256_DIGEST_SIZE + 1];
        oc_artifact_sha256_hex(&c.sha, hex);
        struct orch_error e2;
        oc_error_init(&e2);
        if (rc == ORCH_OK) {
            rc = oc_artns_stored(&s, n.ref.ns, n.ref.name, al.version, c.n, hex, err);
        } else {
            oc_error_wrap(err, "storing version %llu of %s", (unsigned long long)al.version,
                          name);
            oc_artns_failed(&s, n.ref.ns, n.ref.name, al.version, oc_error_text(err), &e2);
        }
        oc_error_clear(&e2);
        if (rc == ORCH_OK) {
            xe_ns_seen(job, &n.ref, al.version);
            xe_ns_event(OC_ARTNS_EV_STORED,
                        json_pack("{s:s,s:s,s:I,s:s?,s:I,s:s}", "namespace", n.ref.ns, "name",
                                  n.ref.name, "version", (json_int_t)al.version, "step",
                                  ctx->step_id, "size", (json_int_t)c.n, "sha256", hex));
            uint64_t keep = (uint64_t)json_integer_value(json_object_get(n.decl, "keep"));
            uint64_t pruned = 0;
            /* A prune that fails leaves old versions for the next write;
             * the write itself succeeded. */
            if (oc_artns_prune(&s, n.blobs.vt, n.blobs.h, n.ref.ns, n.ref.name, keep,
                               ctx->run_id, &pruned, &e2) != ORCH_OK)
                oc_log(ORCH_LOG_WARN, ctx->run_id, "artifact %s: pruning beyond keep %llu: %s",
                       name, (unsigned long long)keep, oc_error_text(&e2));
            oc_error_clear(&e2);
        }
    }
    xe_ns_close(&n);
    return rc;
}

orch_status xe_artns_get(struct orch_ctx *ctx, const char *name, orch_write_fn wr, void *ud,
                         struct orch_error *err)
{
    struct xe_job *job = ctx->ud;
    struct xe_ns n;
    orch_status rc = xe_ns_open(ctx, name, &n, err);
    json_t *list = NULL, *e = NULL;
    struct oc_artns_state s = {n.state.vt, n.state.h};
    if (rc == ORCH_OK)
        rc = oc_artns_list(&s, n.ref.ns, n.ref.name, &list, err);
    if (rc == ORCH_OK && !(e = oc_artns_pick(list, n.ref.ns, n.ref.name, n.ref.version, err)))
        rc = err->code;
    if (rc == ORCH_OK) {
        uint64_t v = (uint64_t)json_integer_value(json_object_get(e, "version"));
        char *key = oc_artns_key(n.ref.ns, n.ref.name, v);
        char *what = oc_xasprintf("version %llu of '%s' in namespace %s", (unsigned long long)v,
                                  n.ref.name, n.ref.ns);
        rc = oc_artifact_blob_checked(n.blobs.vt, n.blobs.h, key, e, what, wr, ud, err);
        free(key);
        free(what);
        if (rc == ORCH_OK) {
            xe_ns_seen(job, &n.ref, v);
            xe_ns_event("artifact.read",
                        json_pack("{s:s,s:s,s:I,s:s?,s:O,s:O,s:O?}", "namespace", n.ref.ns,
                                  "name", n.ref.name, "version", (json_int_t)v, "step",
                                  ctx->step_id, "size", json_object_get(e, "size"), "sha256",
                                  json_object_get(e, "sha256"), "writer",
                                  json_object_get(e, "run")));
        }
    }
    json_decref(list);
    xe_ns_close(&n);
    return rc;
}
