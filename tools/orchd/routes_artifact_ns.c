/* GET /v1/artifacts/namespaces/{ns} and /v1/artifacts/namespaces/{ns}/{name*}
 * [?version=N]: a shared namespace's versions from the state store's ledger
 * (core/artifact_ns.c), and one version's bytes (the latest stored unless
 * version says), served as a run's artifact is (routes_artifacts.c: the
 * checked spool, Content-Length, ranges, the sha256 as ETag). A name or
 * namespace that is not one (.. parts, '@', control characters, after
 * the path's percent-decoding) is a 400 and never becomes a key. The bytes
 * come from the artifacts store of orchd's file, else its state store. */
#include <string.h>

#include "artifact_ns.h"
#include "host.h"
#include "http.h"
#include "run_artifacts.h"

void orchd_artns_list(struct orchd_req *rq)
{
    const char *ns = rq->params[0];
    if (!oc_artns_ns_ok(ns)) {
        orchd_fail(rq, 400, "invalid", "'%.64s' is not a namespace name (1-%d of a-z, "
                   "0-9, '_', '-', starting with a letter or digit)", ns, OC_ARTNS_NS_MAX);
        return;
    }
    struct orch_error err;
    oc_error_init(&err);
    json_t *list = NULL;
    ORCHD_API_LOCK(rq->d);
    struct oc_artns_state s = {rq->d->api->vt, rq->d->api->h};
    orch_status rc = oc_artns_list(&s, ns, NULL, &list, &err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc != ORCH_OK)
        orchd_fail_err(rq, &err);
    else
        orchd_reply(rq, 200, json_pack("{s:s,s:o}", "namespace", ns, "versions", list));
    oc_error_clear(&err);
}

static orch_status orchd_artns_open(struct orchd_req *rq, struct oc_run_artifact **a,
                                    struct orch_error *err)
{
    const char *v = orchd_query(rq, "version");
    uint64_t version = 0;
    if (v && !(version = oc_artns_version_parse(v)))
        return oc_error_set(err, ORCH_E_INVALID_ARG,
                            "version '%.32s' is not a version (1, 2, 3, ...)", v);
    return oc_artns_open(rq->d->reg, rq->d->api, rq->cfg, rq->params[0], rq->params[1],
                         version, a, err);
}

void orchd_artns_get(struct orchd_req *rq)
{
    orchd_artifact_send(rq, orchd_artns_open);
}
