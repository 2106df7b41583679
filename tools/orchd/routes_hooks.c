/* POST /v1/hooks/NAME: webhook triggers. The signature is checked against
 * the hook's secret before anything is read from the body; then the event
 * (a ping, the hook's events:), its filter: and its inputs: mapped from
 * the payload decide what starts; the delivery id makes a redelivery find
 * the run it already started. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "authlog.h"
#include "hook_event.h"
#include "host.h"
#include "inputs.h"
#include "http.h"
#include "runctl.h"
#include "util.h"

/* A delivery that starts nothing is answered with why: 200 for a ping
 * (GitHub's "is this hook there"), 202 for an event the hook does not
 * take or one its filter leaves out. */
static void orchd_hook_skip(struct orchd_req *rq, int status, const char *why)
{
    orchd_reply(rq, status, json_pack("{s:b,s:s}", "accepted", 0, "reason", why));
}

/* The event name a sender gives (GitHub's header, or orch's own). */
static const char *orchd_hook_event_name(struct orchd_req *rq)
{
    const char *e = orchd_header(rq, "X-GitHub-Event");
    return e ? e : orchd_header(rq, "X-Orch-Event");
}

/* The inputs of a mapped delivery: each of the hook's templates rendered
 * over the payload, then read as the text of its declared type. */
static json_t *orchd_hook_mapped(struct orchd_req *rq, const struct orchd_webhook *h,
                                 const struct oc_scope *sc)
{
    json_t *given = json_object();
    for (size_t k = 0; k < h->inputs->len; k++) {
        char *text = NULL, *err = NULL;
        if (oc_template_render(h->inputs->items[k]->str, sc, &text, NULL, &err) != 0) {
            orchd_fail(rq, 400, "invalid", "webhook %s, input %s: %s", h->name,
                       h->inputs->keys[k]->str, err ? err : "cannot be evaluated");
            free(err);
            json_decref(given);
            return NULL;
        }
        /* Unchecked here: the input's check says what is wrong with it. */
        json_object_set_new(given, h->inputs->keys[k]->str,
                            json_stringn_nocheck(text, strlen(text)));
        free(text);
    }
    const struct oc_workflow *wf = oc_config_workflow(rq->cfg, h->workflow);
    json_t *typed = NULL;
    struct orch_error err;
    oc_error_init(&err);
    if (wf && oc_inputs_from_text(wf, given, &typed, &err) != ORCH_OK) {
        orchd_fail_err(rq, &err);
        typed = NULL;
    } else if (!wf) {
        typed = json_incref(given); /* the start names the missing workflow */
    }
    oc_error_clear(&err);
    json_decref(given);
    return typed;
}

/* Whether this delivery starts a run, and with which inputs (*inputs, a
 * new reference; NULL: none): 0, or -1 when it was answered already. */
static int orchd_hook_decide(struct orchd_req *rq, const struct orchd_webhook *h, json_t *body,
                             json_t **inputs)
{
    const char *event = orchd_hook_event_name(rq);
    if (event && !strcmp(event, "ping")) {
        orchd_hook_skip(rq, 200, "ping: nothing to run");
        return -1;
    }
    if (h->n_events) {
        int listed = 0;
        for (size_t i = 0; event && i < h->n_events; i++)
            listed |= !strcmp(h->events[i], event);
        if (!listed) {
            char *why = event ? oc_xasprintf("event '%s' is not one this webhook takes", event)
                              : oc_xstrdup("no X-GitHub-Event or X-Orch-Event header, and "
                                           "this webhook takes only some events");
            orchd_hook_skip(rq, 202, why);
            free(why);
            return -1;
        }
    }
    struct orchd_hook_event ev = {rq, body};
    struct oc_scope sc;
    orchd_hook_scope(&sc, &ev);
    if (h->filter) {
        int keep = 0;
        char *err = NULL;
        if (oc_expr_eval_bool(h->filter->str, &sc, &keep, &err) != 0) {
            orchd_fail(rq, 400, "invalid", "webhook %s, filter: %s", h->name,
                       err ? err : "cannot be evaluated");
            free(err);
            return -1;
        }
        if (!keep) {
            orchd_hook_skip(rq, 202, "the webhook's filter is false for this delivery");
            return -1;
        }
    }
    if (h->inputs) {
        *inputs = orchd_hook_mapped(rq, h, &sc);
        return *inputs ? 0 : -1;
    }
    json_t *given = json_object_get(body, "inputs");
    if (given && !json_is_object(given)) {
        orchd_fail(rq, 400, "invalid", "inputs must be an object");
        return -1;
    }
    *inputs = json_incref(given);
    return 0;
}

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
    json_t *inputs = NULL;
    if (orchd_hook_decide(rq, h, b, &inputs) != 0) {
        json_decref(b);
        return; /* answered: not an event to run, filtered out, or bad */
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
                    json_pack("{s:s,s:b,s:b}", "run_id", id, "existing", rc != ORCH_OK,
                              "accepted", 1));
    } else {
        orchd_fail_err(rq, &err);
    }
    oc_error_clear(&err);
    free(id);
    free(ikey);
    json_decref(inputs);
    json_decref(b);
}
