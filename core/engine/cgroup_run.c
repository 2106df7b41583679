/* A run in a concurrency group (docs/config.md, "Concurrency groups"):
 * until core/concurrency.c admits it, none of its steps starts; it asks
 * again with a back-off while it waits; its slot goes with its terminal
 * state. The rule and the group's records are core/concurrency.c's; this
 * file only paces the asking and tells the ledger and the caller. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../concurrency.h"
#include "../flags.h"
#include "../host.h"
#include "internal.h"

/* A waiting run asks again after 250 ms, then twice as long each time up
 * to 2 s: a freed slot is taken within 2 s, and a long queue costs each
 * store a few reads a second. A busy group lease is asked again soon. */
#define OC_CG_BACKOFF_FIRST_MS 250
#define OC_CG_BACKOFF_MAX_MS 2000
#define OC_CG_BUSY_RETRY_MS 50
/* How often a run the CLI drives looks for a cancel request (a daemon's
 * tick reads them for its runs). */
#define OC_CG_CANCEL_CHECK_MS 1000

static const char *oc_cg_policy(enum oc_cg_conflict c)
{
    return c == OC_CG_SKIP ? "skip" : c == OC_CG_CANCEL_RUNNING ? "cancel_running" : "queue";
}

static void oc_cg_say(struct oc_run *r, uint32_t waiting, const char *msg)
{
    struct oc_progress p = {.type = OC_EV_RUN_CONCURRENCY, .run_id = r->id, .state = waiting,
                            .message = msg};
    oc_engine_progress(r, &p);
}

static json_t *oc_cg_event_data(const struct oc_run *r)
{
    char id[OC_CGROUP_ID_LEN + 1];
    oc_cgroup_key_id(r->cg->key, id);
    return json_pack("{s:s,s:s,s:i,s:s}", "key", r->cg->shown, "key_sha256", id, "limit",
                     (json_int_t)r->wf->cgroup.limit, "on_conflict",
                     oc_cg_policy(r->wf->cgroup.on_conflict));
}

void oc_run_cg_init(struct oc_run *r)
{
    const struct oc_cgroup_decl *d = &r->wf->cgroup;
    if (!d->key || r->cg)
        return;
    r->cg = oc_xcalloc(1, sizeof *r->cg);
    struct orch_error err;
    oc_error_init(&err);
    if (oc_cgroup_key(r->wf, r->inputs, &r->cg->key, &err) != ORCH_OK) {
        /* Checked when the run was created: only a store changed behind
         * orch's back gets here. The run ends, saying why. */
        r->cg->refusal = oc_xstrdup(oc_error_text(&err));
        oc_error_clear(&err);
        return;
    }
    r->cg->shown = oc_cgroup_key_shown(r->cg->key);
    r->cg->backoff_ms = OC_CG_BACKOFF_FIRST_MS;
    r->cg->waiting_since_mono = oc_now_mono_ns();
    if (r->dry_run) {
        /* A plan takes no slot and waits for none: it runs nothing. */
        r->cg->admitted = 1;
        oc_ledger_event(r, "concurrency.planned", oc_cg_event_data(r));
        char *m = oc_xasprintf("concurrency group %s (limit %u, on_conflict %s): a dry run "
                               "takes no slot", r->cg->shown, d->limit,
                               oc_cg_policy(d->on_conflict));
        oc_cg_say(r, 0, m);
        free(m);
    }
}

static char *oc_cg_list(json_t *ids)
{
    struct oc_buf b = {0};
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        if (i == 8) {
            oc_buf_addf(&b, ", and %zu more", json_array_size(ids) - i);
            break;
        }
        oc_buf_addf(&b, "%s%s", i ? ", " : "", json_string_value(v));
    }
    return b.data ? b.data : oc_xstrdup("none");
}

/* A run the CLI drives has no daemon reading its cancel requests: it
 * looks itself, now and then. */
static int32_t oc_cg_cancel_cb(void *ud, const char *name, const char *value)
{
    (void)value;
    int *found = ((void **)ud)[1];
    if (!strcmp(name, ((void **)ud)[0]))
        *found = 1;
    return 0;
}

static int oc_cg_cli_cancelled(struct oc_run *r)
{
    int64_t now = oc_now_mono_ns();
    if (r->owner || r->cancelled || now < r->cg->cancel_check_mono)
        return 0;
    r->cg->cancel_check_mono = now + (int64_t)OC_CG_CANCEL_CHECK_MS * 1000000;
    struct oc_store *st = r->e->store;
    char *name = oc_flag_key(OC_FLAG_CANCEL, r->id);
    int found = 0;
    void *ud[2] = {name, &found};
    struct orch_error err;
    oc_error_init(&err);
    st->vt->flag_list(st->h, oc_cg_cancel_cb, ud, &err);
    oc_error_clear(&err);
    free(name);
    return found;
}

static enum oc_cg_gate oc_cg_admitted(struct oc_run *r)
{
    struct oc_run_cg *c = r->cg;
    c->admitted = 1;
    int64_t waited_ms = (oc_now_mono_ns() - c->waiting_since_mono) / 1000000;
    json_t *d = oc_cg_event_data(r);
    json_object_set_new(d, "waited_ms", json_integer(c->said_waiting ? waited_ms : 0));
    oc_ledger_event(r, "concurrency.admitted", d);
    if (c->said_waiting) {
        char *m = oc_xasprintf("admitted to concurrency group %s after %lld.%llds", c->shown,
                               (long long)(waited_ms / 1000), (long long)(waited_ms % 1000 / 100));
        oc_cg_say(r, 0, m);
        free(m);
    }
    r->dirty = 1;
    return OC_CGATE_GO;
}

static void oc_cg_waiting(struct oc_run *r, const struct oc_cg_result *res)
{
    struct oc_run_cg *c = r->cg;
    if (json_array_size(res->cancelled)) {
        json_t *d = oc_cg_event_data(r);
        json_object_set(d, "runs", res->cancelled);
        oc_ledger_event(r, "concurrency.cancelling", d);
        char *list = oc_cg_list(res->cancelled);
        char *m = oc_xasprintf("concurrency group %s: cancelling %s (on_conflict "
                               "cancel_running)", c->shown, list);
        oc_cg_say(r, 1, m);
        free(m);
        free(list);
    }
    if (c->said_waiting)
        return;
    c->said_waiting = 1;
    json_t *d = oc_cg_event_data(r);
    json_object_set(d, "holders", res->holders);
    json_object_set_new(d, "ahead", json_integer((json_int_t)res->ahead));
    oc_ledger_event(r, "concurrency.waiting", d);
    char *m = oc_xasprintf("waiting for concurrency group %s (limit %u)", c->shown,
                           r->wf->cgroup.limit);
    oc_cg_say(r, 1, m);
    free(m);
}

enum oc_cg_gate oc_run_cg_gate(struct oc_run *r)
{
    struct oc_run_cg *c = r->cg;
    if (!c)
        return OC_CGATE_GO;
    if (c->refusal)
        return r->cancelled ? OC_CGATE_GO : OC_CGATE_END;
    if (oc_cg_cli_cancelled(r))
        return OC_CGATE_CANCEL;
    if (c->admitted || r->cancelled)
        return OC_CGATE_GO; /* a cancelled waiter ends its steps, none starts */
    int64_t now = oc_now_mono_ns();
    if (now < c->next_try_mono)
        return OC_CGATE_WAIT;
    const struct oc_cgroup_decl *d = &r->wf->cgroup;
    struct oc_cg_result res;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = oc_cgroup_admit(r->e->store, c->key, d->limit, d->on_conflict, r->id,
                                     oc_now_real_ns(), &res, &err);
    enum oc_cg_gate gate = OC_CGATE_WAIT;
    if (rc == ORCH_E_UNSUPPORTED) {
        c->refusal = oc_xstrdup(oc_error_text(&err));
        gate = OC_CGATE_END;
    } else if (rc != ORCH_OK) {
        /* The store did not answer: nothing was decided; ask again. */
        struct oc_log_fields f = {.run_id = r->id, .component = "engine"};
        oc_log_at(ORCH_LOG_WARN, &f, "concurrency group %s: admission: %s", c->shown,
                  oc_error_text(&err));
        c->next_try_mono = now + c->backoff_ms * 1000000;
    } else if (res.outcome == OC_CG_ADMITTED) {
        gate = oc_cg_admitted(r);
    } else if (res.outcome == OC_CG_BUSY) {
        c->next_try_mono = now + (int64_t)OC_CG_BUSY_RETRY_MS * 1000000;
    } else if (res.outcome == OC_CG_REFUSED) {
        char *list = oc_cg_list(res.holders);
        c->refusal = oc_xasprintf("skipped: concurrency group %s (limit %u) is full, held "
                                  "by %s (on_conflict: skip)", c->shown, d->limit, list);
        free(list);
        json_t *e = oc_cg_event_data(r);
        json_object_set(e, "holders", res.holders);
        oc_ledger_event(r, "concurrency.skipped", e);
        gate = OC_CGATE_END;
    } else {
        oc_cg_waiting(r, &res);
        if (res.cancel_asked_self && !r->owner)
            gate = OC_CGATE_CANCEL;
        c->next_try_mono = now + c->backoff_ms * 1000000;
        c->backoff_ms = c->backoff_ms * 2 > OC_CG_BACKOFF_MAX_MS ? OC_CG_BACKOFF_MAX_MS
                                                                 : c->backoff_ms * 2;
    }
    oc_error_clear(&err);
    oc_cg_result_free(&res);
    return gate;
}

static int32_t oc_cg_reason_cb(void *ud, const struct orch_event_rec *ev)
{
    if (strcmp(ev->type, "concurrency.cancel_requested"))
        return 0;
    json_t *d = json_loads(ev->data_json ? ev->data_json : "{}", 0, NULL);
    const char *why = json_string_value(json_object_get(d, "reason"));
    if (why) {
        free(*(char **)ud);
        *(char **)ud = oc_xstrdup(why);
    }
    json_decref(d);
    return 0;
}

char *oc_run_cg_cancel_reason(struct oc_run *r)
{
    if (!r->cg)
        return NULL;
    if (r->cg->refusal)
        return oc_xstrdup(r->cg->refusal);
    /* Cancelled by a newer run of the group (cancel_running): its ledger
     * says which; read once, at the end, only for such a run. */
    char *why = NULL;
    struct oc_store *st = r->e->store;
    struct orch_error err;
    oc_error_init(&err);
    st->vt->event_list(st->h, r->id, 0, 0, oc_cg_reason_cb, &why, &err);
    oc_error_clear(&err);
    return why;
}

void oc_run_cg_release(struct oc_run *r)
{
    if (!r->cg || !r->cg->key || r->dry_run || r->lost)
        return;
    struct orch_error err;
    oc_error_init(&err);
    /* A failure leaves a stale flag, cleared by the group's next
     * admission (its run is terminal now). */
    if (oc_cgroup_release(r->e->store, r->cg->key, r->id, &err) != ORCH_OK) {
        struct oc_log_fields f = {.run_id = r->id, .component = "store"};
        oc_log_at(ORCH_LOG_WARN, &f, "concurrency group %s: release: %s", r->cg->shown,
                  oc_error_text(&err));
    }
    oc_error_clear(&err);
}

void oc_run_cg_free(struct oc_run *r)
{
    if (!r->cg)
        return;
    free(r->cg->key);
    free(r->cg->shown);
    free(r->cg->refusal);
    free(r->cg);
    r->cg = NULL;
}
