/* Health, metrics, workflows, plugins, control flags and webhook triggers. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "authlog.h"
#include "flags.h"
#include "host.h"
#include "http.h"
#include "runctl.h"
#include "util.h"

static int32_t orchd_flag_noop(void *ud, const char *n, const char *v)
{
    (void)ud;
    (void)n;
    (void)v;
    return 0;
}

void orchd_health_ready(struct orchd_req *rq)
{
    struct orchd *d = rq->d;
    struct orch_error err;
    oc_error_init(&err);
    ORCHD_API_LOCK(d);
    orch_status rc = d->api->vt->flag_list(d->api->h, orchd_flag_noop, NULL, &err);
    ORCHD_API_UNLOCK(d);
    int store_ok = rc == ORCH_OK;
    int64_t last = atomic_load(&d->last_tick_ns);
    int64_t age_ms = last ? (orchd_now(d) - last) / 1000000 : -1;
    int tick_ok = last && age_ms <= 3 * d->cfg->daemon.tick_ms + 5000;
    size_t errors = json_array_size(d->plugin_errors);
    int plugins_ok = json_array_size(d->plugins) > 0;
    int ready = store_ok && tick_ok && plugins_ok;
    json_t *j = json_pack("{s:b,s:{s:{s:b,s:s?},s:{s:b,s:i,s:i},s:{s:b,s:I}}}", "ready", ready,
                          "checks", "store", "ok", store_ok, "error",
                          store_ok ? NULL : oc_error_text(&err), "plugins", "ok", plugins_ok,
                          "loaded", (json_int_t)json_array_size(d->plugins), "errors",
                          (json_int_t)errors, "scheduler", "ok", tick_ok, "last_tick_age_ms",
                          (json_int_t)age_ms);
    oc_error_clear(&err);
    orchd_reply(rq, ready ? 200 : 503, j);
}

void orchd_health_env(struct orchd_req *rq)
{
    struct orchd *d = rq->d;
    json_t *sec = json_object(), *env = json_object();
    for (size_t i = 0; i < d->n_secret_names; i++) {
        char *v = oc_secret_lookup(d->secret_names[i]);
        json_object_set_new(sec, d->secret_names[i], json_boolean(v != NULL));
        free(v); /* presence only: a value never leaves */
    }
    for (size_t i = 0; i < d->n_env_names; i++)
        json_object_set_new(env, d->env_names[i], json_boolean(getenv(d->env_names[i]) != NULL));
    orchd_reply(rq, 200, json_pack("{s:o,s:o}", "secrets", sec, "env", env));
}

static json_t *orchd_workflow_json(const struct oc_workflow *w, int full)
{
    json_t *inputs = json_array();
    for (size_t i = 0; i < w->n_inputs; i++)
        json_array_append_new(inputs, json_pack("{s:s,s:b,s:s?,s:s?}", "name", w->inputs[i].name,
                                                "required", w->inputs[i].required, "default",
                                                w->inputs[i].default_value, "description",
                                                w->inputs[i].description));
    json_t *j = json_pack("{s:s,s:s?,s:o,s:i}", "name", w->name, "description", w->description,
                          "inputs", inputs, "step_count", (json_int_t)w->n_steps);
    if (!full)
        return j;
    json_t *steps = json_array(), *order = json_array();
    for (size_t i = 0; i < w->n_steps; i++) {
        const struct oc_step *s = &w->steps[i];
        json_t *needs = json_array();
        for (size_t k = 0; k < s->n_needs; k++)
            json_array_append_new(needs, json_string(s->needs[k]));
        json_array_append_new(steps, json_pack("{s:s,s:s,s:o,s:s?,s:s?,s:I,s:i,s:b}", "id",
                                               s->id, "uses", s->uses, "needs", needs,
                                               "backend", s->backend, "if", s->if_expr,
                                               "timeout_ms", (json_int_t)s->timeout_ms,
                                               "retry_attempts", (json_int_t)s->retry.attempts,
                                               "continue_on_error", s->continue_on_error));
        if (w->order)
            json_array_append_new(order, json_string(w->steps[w->order[i]].id));
    }
    json_object_set_new(j, "steps", steps);
    json_object_set_new(j, "order", order);
    return j;
}

void orchd_workflows_list(struct orchd_req *rq)
{
    json_t *a = json_array();
    for (size_t i = 0; i < rq->d->cfg->n_workflows; i++)
        json_array_append_new(a, orchd_workflow_json(&rq->d->cfg->workflows[i], 0));
    orchd_reply(rq, 200, json_pack("{s:o}", "workflows", a));
}

void orchd_workflows_get(struct orchd_req *rq)
{
    const struct oc_workflow *w = oc_config_workflow(rq->d->cfg, rq->params[0]);
    if (!w) {
        struct orch_error err;
        oc_error_init(&err);
        oc_workflow_missing(rq->d->cfg, rq->params[0], &err);
        orchd_fail_err(rq, &err);
        oc_error_clear(&err);
        return;
    }
    orchd_reply(rq, 200, json_pack("{s:o}", "workflow", orchd_workflow_json(w, 1)));
}

void orchd_plugins_list(struct orchd_req *rq)
{
    orchd_reply(rq, 200, json_pack("{s:O,s:O}", "plugins", rq->d->plugins, "errors",
                                   rq->d->plugin_errors));
}

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

/* POST /v1/hooks/NAME: verified by the HMAC-SHA256 of the raw body with
 * the hook's secret, in X-Orch-Signature (or GitHub's
 * X-Hub-Signature-256), as "sha256=HEX". */
void orchd_hook(struct orchd_req *rq)
{
    const struct oc_daemon_cfg *dc = &rq->d->cfg->daemon;
    const struct oc_hook *h = NULL;
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
    if (!key || strlen(key) < OC_HMAC_SECRET_MIN) {
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
    orch_status rc = oc_run_enqueue(rq->d->api, rq->d->cfg, h->workflow, inputs, ikey, "webhook",
                                    &id, &err);
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
