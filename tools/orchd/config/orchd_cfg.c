/* orchd's sections of the workflow file: server, worker, control,
 * schedules, webhooks, notifications (orchd_cfg.h). */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config_read.h"
#include "cron.h"
#include "host.h"
#include "orchd_cfg.h"
#include "plugin_with.h"
#include "template.h"
#include "util.h"
#include "yamltree.h"

/* What a file without these sections gets. */
static const struct orchd_cfg od_default = {
    .max_body = 1 << 20,
    .log_json = 1,
    .lease_ttl_ms = 30000,
    .tick_ms = 1000,
    .max_runs = 64,
    .stop_grace_ms = 30000,
    .reconcile_ms = 60000,
    .retention_every_ms = 600000,
    .idle_instance_ms = 1800000,
    .max_engine_crashes = 3,
    .max_tick_ms = 5000,
    .max_claims_per_tick = 64,
    .tick_ledger_keep = 100000,
    .tick_ledger_max_age_ms = 86400000,
    .paused = -1,
    .proof = -1,
};

/* "${{ secrets.NAME }}" -> NAME; anything else is refused so that no
 * secret is ever written into the file itself. */
static char *od_secret_ref(struct oc_cfg_reader *b, const struct oc_node *map, const char *key,
                           const char *what)
{
    const struct oc_node *n = oc_node_get(map, key);
    const char *s = oc_scalar(b, n, what);
    if (!s)
        return NULL;
    const char *p = s;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "${{", 3))
        goto bad;
    p += 3;
    while (isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "secrets.", 8))
        goto bad;
    p += 8;
    const char *start = p;
    while (isalnum((unsigned char)*p) || *p == '_')
        p++;
    const char *end = p;
    while (isspace((unsigned char)*p))
        p++;
    if (end == start || strncmp(p, "}}", 2))
        goto bad;
    p += 2;
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        goto bad;
    return oc_xstrndup(start, (size_t)(end - start));
bad:
    oc_diag_add(b->diag, &n->pos, "%s: %s must be ${{ secrets.NAME }}, never the secret itself",
                what, key);
    return NULL;
}

static int od_hex32(const char *s, unsigned char out[32])
{
    if (!s || strlen(s) != 64)
        return -1;
    for (int i = 0; i < 32; i++) {
        unsigned v;
        if (!isxdigit((unsigned char)s[2 * i]) || !isxdigit((unsigned char)s[2 * i + 1]) ||
            sscanf(s + 2 * i, "%2x", &v) != 1)
            return -1;
        out[i] = (unsigned char)v;
    }
    return 0;
}

static void od_server_tokens(struct oc_cfg_reader *b, struct orchd_cfg *d,
                             const struct oc_node *tk);

/* server.log_level: "info", "warn,scheduler=debug", or a mapping
 * {default: warn, scheduler: debug}; kept as the spec oc_log_configure
 * takes, checked here so that an error has its line:col. */
static void od_log_level_read(struct oc_cfg_reader *b, struct orchd_cfg *d,
                              const struct oc_node *n)
{
    if (!n || n->kind == OC_NODE_NULL)
        return;
    struct oc_buf spec = {0};
    if (n->kind == OC_NODE_MAP) {
        for (size_t i = 0; i < n->len; i++) {
            const char *v = oc_scalar(b, n->items[i], "server.log_level");
            if (!v)
                continue;
            const char *k = n->keys[i]->str;
            if (!strcmp(k, "default"))
                oc_buf_addf(&spec, "%s%s", spec.len ? "," : "", v);
            else
                oc_buf_addf(&spec, "%s%s=%s", spec.len ? "," : "", k, v);
        }
    } else {
        const char *v = oc_scalar(b, n, "server.log_level");
        if (v)
            oc_buf_adds(&spec, v);
    }
    char *why = NULL;
    if (spec.data && oc_log_spec_check(spec.data, &why) != 0)
        oc_diag_add(b->diag, &n->pos, "server.log_level: %s", why);
    else if (spec.data)
        d->log_level = oc_xstrdup(spec.data);
    free(why);
    oc_buf_free(&spec);
}

static void od_server_read(struct oc_cfg_reader *b, struct orchd_cfg *d, const struct oc_node *n)
{
    static const char *const keys[] = {"listen", "max_body", "log_format", "log_level",
                                       "tokens", NULL};
    oc_cfg_check_keys(n, keys, "server", b->diag);
    d->listen = oc_dup_scalar(b, n, "listen", "server.listen");
    const struct oc_node *mb = oc_node_get(n, "max_body");
    const char *mbs = oc_scalar(b, mb, "server.max_body");
    if (mbs && (oc_parse_size(mbs, &d->max_body) != 0 || d->max_body < 1024))
        oc_diag_add(b->diag, &mb->pos, "server.max_body: '%s' is not a size of at least 1K", mbs);
    const struct oc_node *lf = oc_node_get(n, "log_format");
    const char *lfs = oc_scalar(b, lf, "server.log_format");
    if (lfs && strcmp(lfs, "json") && strcmp(lfs, "text"))
        oc_diag_add(b->diag, &lf->pos, "server.log_format must be json or text, not '%s'", lfs);
    d->log_json = !lfs || !strcmp(lfs, "json");
    od_log_level_read(b, d, oc_node_get(n, "log_level"));
    const struct oc_node *tk = oc_node_get(n, "tokens");
    if (!tk || tk->kind == OC_NODE_NULL)
        return;
    /* A container or a Fly machine gets its token hashes from the
     * environment (fly secrets set), not from a file baked into an image. */
    char *msg;
    struct oc_node *resolved = oc_with_resolve(tk, &msg);
    if (!resolved) {
        oc_diag_add(b->diag, &tk->pos, "server.tokens: %s", msg);
        free(msg);
        return;
    }
    od_server_tokens(b, d, resolved);
    oc_node_free(resolved);
}

static void od_server_tokens(struct oc_cfg_reader *b, struct orchd_cfg *d, const struct oc_node *tk)
{
    if (tk->kind != OC_NODE_SEQ) {
        oc_diag_add(b->diag, &tk->pos, "server.tokens must be a list of {name, sha256, role}");
        return;
    }
    d->tokens = oc_xcalloc(tk->len + 1, sizeof *d->tokens);
    for (size_t i = 0; i < tk->len; i++) {
        const struct oc_node *t = tk->items[i];
        static const char *const tkeys[] = {"name", "sha256", "role", NULL};
        if (t->kind != OC_NODE_MAP) {
            oc_diag_add(b->diag, &t->pos, "server.tokens[%zu] must be a mapping", i);
            continue;
        }
        oc_cfg_check_keys(t, tkeys, "server.tokens", b->diag);
        struct orchd_token *o = &d->tokens[d->n_tokens++];
        o->pos = t->pos;
        o->name = oc_dup_scalar(b, t, "name", "server.tokens.name");
        if (!o->name)
            oc_diag_add(b->diag, &t->pos, "server.tokens[%zu]: 'name' is required", i);
        const struct oc_node *h = oc_node_get(t, "sha256");
        if (od_hex32(oc_scalar(b, h, "server.tokens.sha256"), o->sha256) != 0)
            oc_diag_add(b->diag, h ? &h->pos : &t->pos,
                        "server.tokens[%zu]: 'sha256' must be the 64 hex digits of the "
                        "token's SHA-256 (orchd --hash-token prints it; a ${{ env.X }} "
                        "there must be set to them)",
                        i);
        const struct oc_node *r = oc_node_get(t, "role");
        const char *rs = oc_scalar(b, r, "server.tokens.role");
        o->role = !rs || !strcmp(rs, "write") ? ORCHD_ROLE_WRITE
                  : !strcmp(rs, "read")       ? ORCHD_ROLE_READ
                  : !strcmp(rs, "admin")      ? ORCHD_ROLE_ADMIN
                                              : 0;
        if (!o->role)
            oc_diag_add(b->diag, &r->pos,
                        "server.tokens[%zu]: role must be read, write or "
                        "admin, not '%s'",
                        i, rs);
    }
}

static void od_worker_read(struct oc_cfg_reader *b, struct orchd_cfg *d, const struct oc_node *n)
{
    static const char *const keys[] = {"id",
                                       "lease_ttl",
                                       "tick",
                                       "max_runs",
                                       "stop_grace",
                                       "reconcile_every",
                                       "retention_every",
                                       "idle_instance_ttl",
                                       "max_engine_crashes",
                                       "max_tick",
                                       "max_claims_per_tick",
                                       "mode",
                                       "tick_ledger_keep",
                                       "tick_ledger_max_age",
                                       NULL};
    oc_cfg_check_keys(n, keys, "worker", b->diag);
    d->worker_id = oc_dup_scalar(b, n, "id", "worker.id");
    const struct oc_node *mode = oc_node_get(n, "mode");
    if (mode) {
        const char *m = oc_scalar(b, mode, "worker.mode");
        if (m && !strcmp(m, "singleton"))
            d->singleton = 1;
        else if (m && strcmp(m, "shared"))
            oc_diag_add(b->diag, &mode->pos, "worker.mode must be shared or singleton, not '%s'",
                        m);
    }
    d->lease_ttl_ms = oc_get_duration(b, n, "lease_ttl", od_default.lease_ttl_ms, "worker");
    d->tick_ms = oc_get_duration(b, n, "tick", od_default.tick_ms, "worker");
    d->max_runs =
        (uint32_t)oc_get_uint(b, n, "max_runs", od_default.max_runs, 1, 100000, "worker.max_runs");
    d->stop_grace_ms = oc_get_duration(b, n, "stop_grace", od_default.stop_grace_ms, "worker");
    d->reconcile_ms = oc_get_duration(b, n, "reconcile_every", od_default.reconcile_ms, "worker");
    d->retention_every_ms =
        oc_get_duration(b, n, "retention_every", od_default.retention_every_ms, "worker");
    const struct oc_node *re = oc_node_get(n, "retention_every");
    if (re && d->retention_every_ms < 1000)
        oc_diag_add(b->diag, &re->pos, "worker.retention_every must be at least 1s");
    d->idle_instance_ms =
        oc_get_duration(b, n, "idle_instance_ttl", od_default.idle_instance_ms, "worker");
    d->max_engine_crashes =
        (uint32_t)oc_get_uint(b, n, "max_engine_crashes", od_default.max_engine_crashes, 1, 1000,
                              "worker.max_engine_crashes");
    const struct oc_node *lt = oc_node_get(n, "lease_ttl");
    if (d->lease_ttl_ms < 1000 || d->tick_ms * 2 > d->lease_ttl_ms)
        oc_diag_add(b->diag, lt ? &lt->pos : &n->pos,
                    "worker.lease_ttl must be at least 1s and twice the tick");
    /* A tick longer than half a lease lets the leases it renews run out. */
    int64_t half_lease = d->lease_ttl_ms / 2;
    d->max_tick_ms = oc_get_duration(b, n, "max_tick",
                                     half_lease < od_default.max_tick_ms ? half_lease
                                                                         : od_default.max_tick_ms,
                                     "worker");
    const struct oc_node *mt = oc_node_get(n, "max_tick");
    if (mt && (d->max_tick_ms < 1 || d->max_tick_ms > half_lease))
        oc_diag_add(b->diag, &mt->pos, "worker.max_tick must be more than 0 and at most half of "
                    "worker.lease_ttl (%lldms)", (long long)half_lease);
    d->max_claims_per_tick = (uint32_t)oc_get_uint(b, n, "max_claims_per_tick", d->max_runs, 1,
                                                   100000, "worker.max_claims_per_tick");
    d->tick_ledger_keep = (uint32_t)oc_get_uint(b, n, "tick_ledger_keep",
                                                od_default.tick_ledger_keep, 0, 10000000,
                                                "worker.tick_ledger_keep");
    d->tick_ledger_max_age_ms = oc_get_duration(b, n, "tick_ledger_max_age",
                                                od_default.tick_ledger_max_age_ms, "worker");
}

static void od_schedules_read(struct oc_cfg_reader *b, struct orchd_cfg *d, const struct oc_node *n)
{
    d->schedules = oc_xcalloc(n->len + 1, sizeof *d->schedules);
    for (size_t i = 0; i < n->len; i++) {
        static const char *const keys[] = {"workflow", "cron",   "timezone",
                                           "overlap",  "inputs", NULL};
        const struct oc_node *s = n->items[i];
        char *what = oc_xasprintf("schedule %s", n->keys[i]->str);
        if (s->kind != OC_NODE_MAP) {
            oc_diag_add(b->diag, &s->pos, "%s must be a mapping (workflow, cron, ...)", what);
            free(what);
            continue;
        }
        oc_cfg_check_keys(s, keys, what, b->diag);
        struct orchd_schedule *o = &d->schedules[d->n_schedules++];
        o->name = oc_xstrdup(n->keys[i]->str);
        o->pos = s->pos;
        o->workflow = oc_dup_scalar(b, s, "workflow", what);
        o->cron = oc_dup_scalar(b, s, "cron", what);
        if (!o->workflow || !o->cron)
            oc_diag_add(b->diag, &s->pos, "%s: 'workflow' and 'cron' are required", what);
        if (o->cron) {
            char *err = NULL;
            o->spec = oc_cron_parse(o->cron, &err);
            if (!o->spec)
                oc_diag_add(b->diag, &oc_node_get(s, "cron")->pos, "%s: %s", what, err);
            free(err);
        }
        o->timezone = oc_dup_scalar(b, s, "timezone", what);
        if (o->timezone && oc_tz_valid(o->timezone) != 0)
            oc_diag_add(b->diag, &oc_node_get(s, "timezone")->pos,
                        "%s: unknown time zone '%s' (e.g. UTC, Europe/Paris)", what, o->timezone);
        const struct oc_node *ov = oc_node_get(s, "overlap");
        const char *ovs = oc_scalar(b, ov, what);
        o->overlap_allow = ovs && !strcmp(ovs, "allow");
        if (ovs && strcmp(ovs, "allow") && strcmp(ovs, "skip"))
            oc_diag_add(b->diag, &ov->pos, "%s: overlap must be skip or allow", what);
        o->inputs = (struct oc_node *)oc_get_map(b, s, "inputs", what);
        free(what);
    }
}

struct od_hook_refs {
    struct oc_cfg_reader *b;
    const char *what;
    const struct oc_pos *pos;
};

/* A webhook's templates see the delivery (event.*) and nothing else: not
 * secrets (a payload value is not to be compared with one), not steps. */
static int od_hook_ref(void *ud, const char *ns, const char *const *parts, size_t n)
{
    struct od_hook_refs *r = ud;
    (void)parts;
    (void)n;
    if (strcmp(ns, "event"))
        oc_diag_add(r->b->diag, r->pos, "%s: cannot use %s (a webhook's inputs: and filter: "
                                        "see the delivery: event.FIELD, event.headers.NAME)",
                    r->what, ns);
    return 0;
}

static void od_hook_template(struct oc_cfg_reader *b, const struct oc_node *v, int is_expr,
                             const char *what)
{
    struct od_hook_refs r = {b, what, &v->pos};
    char *err = NULL;
    if (oc_template_refs(v->str, is_expr, od_hook_ref, &r, &err) != 0 && err)
        oc_diag_add(b->diag, &v->pos, "%s: %s", what, err);
    free(err);
}

/* The inputs a webhook maps are inputs of its workflow, each a template
 * (a scalar); its filter an expression; both over `event` only. */
static void od_hook_check_templates(struct oc_cfg_reader *b, const struct orchd_webhook *h,
                                    const struct oc_workflow *wf)
{
    for (size_t k = 0; h->inputs && k < h->inputs->len; k++) {
        const char *name = h->inputs->keys[k]->str;
        const struct oc_node *v = h->inputs->items[k];
        char *what = oc_xasprintf("webhook %s, input %s", h->name, name);
        int declared = 0;
        for (size_t j = 0; wf && j < wf->n_inputs; j++)
            declared |= !strcmp(wf->inputs[j].name, name);
        if (wf && !declared)
            oc_diag_add(b->diag, &h->inputs->keys[k]->pos, "%s: workflow %s has no input %s",
                        what, wf->name, name);
        if (v->kind != OC_NODE_SCALAR)
            oc_diag_add(b->diag, &v->pos, "%s must be text (e.g. ${{ event.ref }})", what);
        else
            od_hook_template(b, v, 0, what);
        free(what);
    }
    if (h->filter) {
        char *what = oc_xasprintf("webhook %s, filter", h->name);
        od_hook_template(b, h->filter, 1, what);
        free(what);
    }
}

static void od_hooks_read(struct oc_cfg_reader *b, struct orchd_cfg *d, const struct oc_node *n)
{
    d->hooks = oc_xcalloc(n->len + 1, sizeof *d->hooks);
    for (size_t i = 0; i < n->len; i++) {
        static const char *const keys[] = {"workflow", "secret", "events", "inputs",
                                           "filter", NULL};
        const struct oc_node *h = n->items[i];
        char *what = oc_xasprintf("webhook %s", n->keys[i]->str);
        if (h->kind != OC_NODE_MAP) {
            oc_diag_add(b->diag, &h->pos, "%s must be a mapping (workflow, secret)", what);
            free(what);
            continue;
        }
        oc_cfg_check_keys(h, keys, what, b->diag);
        struct orchd_webhook *o = &d->hooks[d->n_hooks++];
        o->name = oc_xstrdup(n->keys[i]->str);
        o->pos = h->pos;
        o->workflow = oc_dup_scalar(b, h, "workflow", what);
        o->secret = od_secret_ref(b, h, "secret", what);
        if (oc_node_get(h, "secret"))
            o->secret_pos = oc_node_get(h, "secret")->pos;
        if (!o->workflow || !oc_node_get(h, "secret"))
            oc_diag_add(b->diag, &h->pos,
                        "%s: 'workflow' and 'secret' are required "
                        "(requests are verified by their HMAC-SHA256 signature)",
                        what);
        o->events = oc_get_names(b, oc_node_get(h, "events"), &o->n_events, what);
        o->inputs = oc_get_map(b, h, "inputs", what);
        const struct oc_node *f = oc_node_get(h, "filter");
        if (f && f->kind != OC_NODE_SCALAR)
            oc_diag_add(b->diag, &f->pos, "%s: filter must be an expression (text)", what);
        else
            o->filter = f;
        free(what);
    }
}

static void od_notifications_read(struct oc_cfg_reader *b, struct orchd_cfg *d,
                                  const struct oc_node *n)
{
    if (n->kind != OC_NODE_SEQ) {
        oc_diag_add(b->diag, &n->pos, "notifications must be a list of {url, on, secret}");
        return;
    }
    d->notifications = oc_xcalloc(n->len + 1, sizeof *d->notifications);
    for (size_t i = 0; i < n->len; i++) {
        static const char *const keys[] = {"url", "on", "secret", "attempts", NULL};
        const struct oc_node *h = n->items[i];
        if (h->kind != OC_NODE_MAP) {
            oc_diag_add(b->diag, &h->pos, "notifications[%zu] must be a mapping", i);
            continue;
        }
        oc_cfg_check_keys(h, keys, "notification", b->diag);
        struct orchd_notification *o = &d->notifications[d->n_notifications++];
        o->pos = h->pos;
        o->url = oc_dup_scalar(b, h, "url", "notification.url");
        if (!o->url || (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)))
            oc_diag_add(b->diag, &h->pos, "notifications[%zu]: 'url' must be an http(s) URL", i);
        if (oc_node_get(h, "secret")) {
            o->secret = od_secret_ref(b, h, "secret", "notification");
            o->secret_pos = oc_node_get(h, "secret")->pos;
        }
        o->attempts = (uint32_t)oc_get_uint(b, h, "attempts", 5, 1, 100, "notification.attempts");
        size_t nn;
        char **on = oc_get_names(b, oc_node_get(h, "on"), &nn, "notification.on");
        if (!on) {
            o->on_succeeded = o->on_failed = 1;
        }
        for (size_t k = 0; k < nn; k++) {
            if (!strcmp(on[k], "succeeded"))
                o->on_succeeded = 1;
            else if (!strcmp(on[k], "failed"))
                o->on_failed = 1;
            else if (!strcmp(on[k], "cancelled"))
                o->on_cancelled = 1;
            else
                oc_diag_add(b->diag, &oc_node_get(h, "on")->pos,
                            "notifications[%zu]: on: '%s' is not succeeded, failed or "
                            "cancelled",
                            i, on[k]);
            free(on[k]);
        }
        free(on);
    }
}

static void *od_read(struct oc_cfg_reader *b, const struct oc_node *root)
{
    struct orchd_cfg *d = oc_xcalloc(1, sizeof *d);
    *d = od_default;
    const struct oc_node *n;
    if ((n = oc_get_map(b, root, "server", "server")))
        od_server_read(b, d, n);
    if ((n = oc_get_map(b, root, "worker", "worker")))
        od_worker_read(b, d, n);
    if ((n = oc_get_map(b, root, "control", "control"))) {
        static const char *const keys[] = {"paused", "proof", NULL};
        oc_cfg_check_keys(n, keys, "control", b->diag);
        if (oc_node_get(n, "paused"))
            d->paused = oc_get_bool(b, n, "paused", 0, "control.paused");
        if (oc_node_get(n, "proof"))
            d->proof = oc_get_bool(b, n, "proof", 0, "control.proof");
    }
    if ((n = oc_get_map(b, root, "schedules", "schedules")))
        od_schedules_read(b, d, n);
    if ((n = oc_get_map(b, root, "webhooks", "webhooks")))
        od_hooks_read(b, d, n);
    n = oc_node_get(root, "notifications");
    if (n && n->kind != OC_NODE_NULL)
        od_notifications_read(b, d, n);
    /* Triggers must name workflows of this file. */
    for (size_t i = 0; i < d->n_schedules; i++)
        if (d->schedules[i].workflow && !oc_config_workflow(b->cfg, d->schedules[i].workflow))
            oc_diag_add(b->diag, &d->schedules[i].pos, "schedule %s: no workflow '%s'",
                        d->schedules[i].name, d->schedules[i].workflow);
    for (size_t i = 0; i < d->n_hooks; i++) {
        const struct oc_workflow *wf =
            d->hooks[i].workflow ? oc_config_workflow(b->cfg, d->hooks[i].workflow) : NULL;
        if (d->hooks[i].workflow && !wf)
            oc_diag_add(b->diag, &d->hooks[i].pos, "webhook %s: no workflow '%s'", d->hooks[i].name,
                        d->hooks[i].workflow);
        od_hook_check_templates(b, &d->hooks[i], wf);
    }
    return d;
}

static void od_free(void *model)
{
    struct orchd_cfg *d = model;
    if (!d)
        return;
    free(d->listen);
    free(d->log_level);
    free(d->worker_id);
    for (size_t i = 0; i < d->n_tokens; i++)
        free(d->tokens[i].name);
    free(d->tokens);
    for (size_t i = 0; i < d->n_schedules; i++) {
        free(d->schedules[i].name);
        free(d->schedules[i].workflow);
        free(d->schedules[i].cron);
        free(d->schedules[i].timezone);
        oc_cron_free(d->schedules[i].spec);
    }
    free(d->schedules);
    for (size_t i = 0; i < d->n_hooks; i++) {
        free(d->hooks[i].name);
        free(d->hooks[i].workflow);
        free(d->hooks[i].secret);
        for (size_t k = 0; k < d->hooks[i].n_events; k++)
            free(d->hooks[i].events[k]);
        free(d->hooks[i].events);
    }
    free(d->hooks);
    for (size_t i = 0; i < d->n_notifications; i++) {
        free(d->notifications[i].url);
        free(d->notifications[i].secret);
    }
    free(d->notifications);
    free(d);
}

static const char *const od_keys[] = {"server",   "worker",        "control", "schedules",
                                      "webhooks", "notifications", NULL};
static const struct oc_config_sections od_sections = {od_keys, od_read, od_free};

void orchd_cfg_register(void)
{
    oc_config_sections_set(&od_sections);
}

const struct orchd_cfg *orchd_cfg_of(const struct oc_config *cfg)
{
    if (cfg && cfg->sections_ops == &od_sections && cfg->sections)
        return cfg->sections;
    return &od_default;
}
