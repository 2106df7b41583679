/* GET and PUT /v1/control: the daemon's switches (paused, proof,
 * draining), read from and written to the store's control flags. */
#include "flags.h"
#include "host.h"
#include "http.h"
#include "runctl.h"

static void orchd_control_reply(struct orchd_req *rq, unsigned status)
{
    struct orchd_control f = {0};
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(rq->d);
    orch_status rc = rq->d->api->vt->flag_list(rq->d->api->h, orchd_control_cb, &f, &err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc != ORCH_OK)
        orchd_fail_err(rq, &err);
    else
        orchd_reply(rq, status, json_pack("{s:b,s:b,s:b}", OC_FLAG_PAUSED, f.paused,
                                          OC_FLAG_PROOF, f.proof, OC_FLAG_DRAINING,
                                          f.draining));
    oc_error_clear(&err);
}

void orchd_control_get(struct orchd_req *rq)
{
    orchd_control_reply(rq, 200);
}

/* Flags live in the store, so they hold for every daemon sharing it and
 * survive restarts. */
void orchd_control_set(struct orchd_req *rq)
{
    json_t *b = orchd_body_object(rq);
    if (!b)
        return;
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        if (!oc_flag_is_switch(k) || !json_is_boolean(v)) {
            orchd_fail(rq, 400, "invalid", "'%s': the body takes paused, proof and draining, "
                       "each true or false", k);
            json_decref(b);
            return;
        }
    }
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = ORCH_OK;
    ORCHD_API_LOCK(rq->d);
    json_object_foreach(b, k, v) {
        rc = oc_flag_write(rq->d->api, k, json_is_true(v) ? "1" : NULL, &err);
        if (rc != ORCH_OK)
            break;
    }
    ORCHD_API_UNLOCK(rq->d);
    json_decref(b);
    if (rc != ORCH_OK) {
        orchd_fail_err(rq, &err);
        oc_error_clear(&err);
        return;
    }
    struct oc_log_fields f = {.component = "control"};
    oc_log_at(ORCH_LOG_INFO, &f, "control flags changed by %s: %.*s",
              rq->token ? rq->token->name : "anonymous", (int)rq->body_len, rq->body);
    orchd_wake(rq->d);
    orchd_control_reply(rq, 200);
}
