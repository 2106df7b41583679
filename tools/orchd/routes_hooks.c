/* POST /v1/hooks/NAME: webhook triggers. The signature is checked against
 * the hook's secret before anything is read from the body; the delivery id
 * makes a redelivery find the run it already started. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "authlog.h"
#include "host.h"
#include "http.h"
#include "runctl.h"
#include "util.h"

/* POST /v1/hooks/NAME: verified by the HMAC-SHA256 of the raw body with
 * the hook's secret, in X-Orch-Signature (or GitHub's
 * X-Hub-Signature-256), as "sha256=HEX". */
void orchd_hook(struct orchd_req *rq)
{
    const struct orchd_cfg *dc = orchd_cfg_of(rq->cfg);
    const struct orchd_webhook *h = NULL;
    for (size_t i = 0; i < dc->n_hooks; i++)
        if (!strcmp(dc->hooks[i].name, rq->params[0]))
            h = &dc->hooks[i];
    if (!h) {
        orchd_fail(rq, 404, "not_found", "no webhook '%s'", rq->params[0]);
        return;
    }
    const char *sig = orchd_header(rq, "X-Orch-Signature");
    if (!sig)
        sig = orchd_header(rq, "X-Hub-Signature-256");
    char *key = oc_secret_lookup(h->secret);
    /* Checked at start too; a secrets file may have changed since. A short
     * key would let anyone sign. */
    if (!key || strlen(key) < ORCHD_HMAC_SECRET_MIN) {
        struct oc_log_fields lf = {.component = "webhook"};
        oc_log_at(ORCH_LOG_ERROR, &lf, "webhook %s: its secret %s is %s: refusing its requests",
                  h->name, h->secret, key ? "too short" : "not set");
        orchd_fail(rq, 503, "unavailable", "webhook %s: its secret %s is %s on this server",
                   h->name, h->secret, key ? "too short" : "not set");
        free(key);
        return;
    }
    char *want = orchd_hmac_sig(key, rq->body, rq->body_len);
    free(key);
    int ok = sig && strlen(sig) == strlen(want) && orchd_consttime_eq(sig, want, strlen(want));
    free(want);
    if (!ok)
        orchd_hook_sig_failed(rq, h, sig ? ORCHD_SIG_MISMATCH : ORCHD_SIG_MISSING);
    if (!ok) {
        orchd_fail(rq, 401, "bad_signature", "%s", sig ? "the signature does not match the body"
                                                      : "X-Orch-Signature: sha256=HEX is required");
        return;
    }
    json_t *b = orchd_body_object(rq);
    if (!b)
        return;
    json_t *inputs = json_object_get(b, "inputs");
    if (inputs && !json_is_object(inputs)) {
        orchd_fail(rq, 400, "invalid", "inputs must be an object");
        json_decref(b);
        return;
    }
    const char *delivery = orchd_header(rq, "X-Orch-Delivery");
    if (!delivery)
        delivery = orchd_header(rq, "X-GitHub-Delivery");
    char *ikey = delivery ? oc_xasprintf("hook:%s:%s", h->name, delivery) : NULL;
    struct orch_error err;
    oc_error_init(&err);
    char *id = NULL;
    ORCHD_API_LOCK(rq->d);
    orch_status rc = oc_run_enqueue(rq->d->api, rq->cfg, h->workflow, inputs, ikey, "webhook",
                                    orchd_header(rq, "traceparent"), &id, &err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc == ORCH_OK || (rc == ORCH_E_EXISTS && id)) {
        orchd_wake(rq->d);
        orchd_reply(rq, rc == ORCH_OK ? 201 : 200,
                    json_pack("{s:s,s:b}", "run_id", id, "existing", rc != ORCH_OK));
    } else {
        orchd_fail_err(rq, &err);
    }
    oc_error_clear(&err);
    free(id);
    free(ikey);
    json_decref(b);
}
