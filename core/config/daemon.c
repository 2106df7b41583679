/* orchd's sections of the workflow file: server, worker, control,
 * schedules, webhooks, notifications. Only orchd acts on them; `orch
 * validate` checks them like the rest. */
#define _GNU_SOURCE
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../cron.h"
#include "../host.h"
#include "internal.h"
#include "plugin_with.h"

/* "${{ secrets.NAME }}" -> NAME; anything else is refused so that no
 * secret is ever written into the file itself. */
static char *oc_secret_ref(struct oc_mb *b, const struct oc_node *map, const char *key,
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

static int oc_hex32(const char *s, unsigned char out[32])
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

static void oc_server_tokens(struct oc_mb *b, struct oc_daemon_cfg *d,
                             const struct oc_node *tk);

static void oc_server_read(struct oc_mb *b, struct oc_daemon_cfg *d, const struct oc_node *n)
{
    static const char *const keys[] = {"listen", "max_body", "log_format", "tokens", NULL};
    oc_cfg_check_keys(n, keys, "server", b->diag);
    d->listen = oc_dup_scalar(b, n, "listen", "server.listen");
    const struct oc_node *mb = oc_node_get(n, "max_body");
    const char *mbs = oc_scalar(b, mb, "server.max_body");
    if (mbs && (oc_parse_size(mbs, &d->max_body) != 0 || d->max_body < 1024))
        oc_diag_add(b->diag, &mb->pos, "server.max_body: '%s' is not a size of at least 1K",
                    mbs);
    const struct oc_node *lf = oc_node_get(n, "log_format");
    const char *lfs = oc_scalar(b, lf, "server.log_format");
    if (lfs && strcmp(lfs, "json") && strcmp(lfs, "text"))
        oc_diag_add(b->diag, &lf->pos, "server.log_format must be json or text, not '%s'", lfs);
    d->log_json = !lfs || !strcmp(lfs, "json");
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
    oc_server_tokens(b, d, resolved);
    oc_node_free(resolved);
}

static void oc_server_tokens(struct oc_mb *b, struct oc_daemon_cfg *d, const struct oc_node *tk)
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
        struct oc_token *o = &d->tokens[d->n_tokens++];
        o->pos = t->pos;
        o->name = oc_dup_scalar(b, t, "name", "server.tokens.name");
        if (!o->name)
            oc_diag_add(b->diag, &t->pos, "server.tokens[%zu]: 'name' is required", i);
        const struct oc_node *h = oc_node_get(t, "sha256");
        if (oc_hex32(oc_scalar(b, h, "server.tokens.sha256"), o->sha256) != 0)
            oc_diag_add(b->diag, h ? &h->pos : &t->pos,
                        "server.tokens[%zu]: 'sha256' must be the 64 hex digits of the "
                        "token's SHA-256 (orchd --hash-token prints it; a ${{ env.X }} "
                        "there must be set to them)", i);
        const struct oc_node *r = oc_node_get(t, "role");
        const char *rs = oc_scalar(b, r, "server.tokens.role");
        o->role = !rs || !strcmp(rs, "write") ? OC_ROLE_WRITE
                  : !strcmp(rs, "read")       ? OC_ROLE_READ
                  : !strcmp(rs, "admin")      ? OC_ROLE_ADMIN
                                              : 0;
        if (!o->role)
            oc_diag_add(b->diag, &r->pos, "server.tokens[%zu]: role must be read, write or "
                        "admin, not '%s'", i, rs);
    }
}

static void oc_worker_read(struct oc_mb *b, struct oc_daemon_cfg *d, const struct oc_node *n)
{
    static const char *const keys[] = {"id", "lease_ttl", "tick", "max_runs", "stop_grace",
                                       "reconcile_every", "idle_instance_ttl", "max_engine_crashes",
                                       NULL};
    oc_cfg_check_keys(n, keys, "worker", b->diag);
    d->worker_id = oc_dup_scalar(b, n, "id", "worker.id");
    d->lease_ttl_ms = oc_get_duration(b, n, "lease_ttl", 30000, "worker");
    d->tick_ms = oc_get_duration(b, n, "tick", 1000, "worker");
    d->max_runs = (uint32_t)oc_get_uint(b, n, "max_runs", 64, 1, 100000, "worker.max_runs");
    d->stop_grace_ms = oc_get_duration(b, n, "stop_grace", 30000, "worker");
    d->reconcile_ms = oc_get_duration(b, n, "reconcile_every", 60000, "worker");
    d->idle_instance_ms = oc_get_duration(b, n, "idle_instance_ttl", 1800000, "worker");
    d->max_engine_crashes = (uint32_t)oc_get_uint(b, n, "max_engine_crashes", 3, 1, 1000,
                                                  "worker.max_engine_crashes");
    const struct oc_node *lt = oc_node_get(n, "lease_ttl");
    if (d->lease_ttl_ms < 1000 || d->tick_ms * 2 > d->lease_ttl_ms)
        oc_diag_add(b->diag, lt ? &lt->pos : &n->pos,
                    "worker.lease_ttl must be at least 1s and twice the tick");
}

static void oc_schedules_read(struct oc_mb *b, struct oc_daemon_cfg *d,
                              const struct oc_node *n)
{
    d->schedules = oc_xcalloc(n->len + 1, sizeof *d->schedules);
    for (size_t i = 0; i < n->len; i++) {
        static const char *const keys[] = {"workflow", "cron", "timezone", "overlap",
                                           "inputs", NULL};
        const struct oc_node *s = n->items[i];
        char *what = oc_xasprintf("schedule %s", n->keys[i]->str);
        if (s->kind != OC_NODE_MAP) {
            oc_diag_add(b->diag, &s->pos, "%s must be a mapping (workflow, cron, ...)", what);
            free(what);
            continue;
        }
        oc_cfg_check_keys(s, keys, what, b->diag);
        struct oc_schedule *o = &d->schedules[d->n_schedules++];
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
                        "%s: unknown time zone '%s' (e.g. UTC, Europe/Paris)", what,
                        o->timezone);
        const struct oc_node *ov = oc_node_get(s, "overlap");
        const char *ovs = oc_scalar(b, ov, what);
        o->overlap_allow = ovs && !strcmp(ovs, "allow");
        if (ovs && strcmp(ovs, "allow") && strcmp(ovs, "skip"))
            oc_diag_add(b->diag, &ov->pos, "%s: overlap must be skip or allow", what);
        o->inputs = (struct oc_node *)oc_get_map(b, s, "inputs", what);
        free(what);
    }
}

static void oc_hooks_read(struct oc_mb *b, struct oc_daemon_cfg *d, const struct oc_node *n)
{
    d->hooks = oc_xcalloc(n->len + 1, sizeof *d->hooks);
    for (size_t i = 0; i < n->len; i++) {
        static const char *const keys[] = {"workflow", "secret", NULL};
        const struct oc_node *h = n->items[i];
        char *what = oc_xasprintf("webhook %s", n->keys[i]->str);
        if (h->kind != OC_NODE_MAP) {
            oc_diag_add(b->diag, &h->pos, "%s must be a mapping (workflow, secret)", what);
            free(what);
            continue;
        }
        oc_cfg_check_keys(h, keys, what, b->diag);
        struct oc_hook *o = &d->hooks[d->n_hooks++];
        o->name = oc_xstrdup(n->keys[i]->str);
        o->pos = h->pos;
        o->workflow = oc_dup_scalar(b, h, "workflow", what);
        o->secret = oc_secret_ref(b, h, "secret", what);
        if (oc_node_get(h, "secret"))
            o->secret_pos = oc_node_get(h, "secret")->pos;
        if (!o->workflow || !oc_node_get(h, "secret"))
            oc_diag_add(b->diag, &h->pos, "%s: 'workflow' and 'secret' are required "
                        "(requests are verified by their HMAC-SHA256 signature)", what);
        free(what);
    }
}

static void oc_notifications_read(struct oc_mb *b, struct oc_daemon_cfg *d,
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
        struct oc_notification *o = &d->notifications[d->n_notifications++];
        o->pos = h->pos;
        o->url = oc_dup_scalar(b, h, "url", "notification.url");
        if (!o->url || (strncmp(o->url, "http://", 7) && strncmp(o->url, "https://", 8)))
            oc_diag_add(b->diag, &h->pos, "notifications[%zu]: 'url' must be an http(s) URL",
                        i);
        if (oc_node_get(h, "secret")) {
            o->secret = oc_secret_ref(b, h, "secret", "notification");
            o->secret_pos = oc_node_get(h, "secret")->pos;
        }
        o->attempts = (uint32_t)oc_get_uint(b, h, "attempts", 5, 1, 100,
                                            "notification.attempts");
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
                            "cancelled", i, on[k]);
            free(on[k]);
        }
        free(on);
    }
}

void oc_daemon_config_read(struct oc_mb *b, const struct oc_node *root)
{
    struct oc_daemon_cfg *d = &b->cfg->daemon;
    d->max_body = 1 << 20;
    d->log_json = 1;
    d->lease_ttl_ms = 30000;
    d->tick_ms = 1000;
    d->max_runs = 64;
    d->stop_grace_ms = 30000;
    d->reconcile_ms = 60000;
    d->idle_instance_ms = 1800000;
    d->max_engine_crashes = 3;
    d->paused = d->proof = -1;
    const struct oc_node *n;
    if ((n = oc_get_map(b, root, "server", "server"))) {
        d->present = 1;
        oc_server_read(b, d, n);
    }
    if ((n = oc_get_map(b, root, "worker", "worker"))) {
        d->present = 1;
        oc_worker_read(b, d, n);
    }
    if ((n = oc_get_map(b, root, "control", "control"))) {
        static const char *const keys[] = {"paused", "proof", NULL};
        oc_cfg_check_keys(n, keys, "control", b->diag);
        if (oc_node_get(n, "paused"))
            d->paused = oc_get_bool(b, n, "paused", 0, "control.paused");
        if (oc_node_get(n, "proof"))
            d->proof = oc_get_bool(b, n, "proof", 0, "control.proof");
    }
    if ((n = oc_get_map(b, root, "schedules", "schedules")))
        oc_schedules_read(b, d, n);
    if ((n = oc_get_map(b, root, "webhooks", "webhooks")))
        oc_hooks_read(b, d, n);
    n = oc_node_get(root, "notifications");
    if (n && n->kind != OC_NODE_NULL)
        oc_notifications_read(b, d, n);
    /* Triggers must name workflows of this file. */
    for (size_t i = 0; i < d->n_schedules; i++)
        if (d->schedules[i].workflow &&
            !oc_config_workflow(b->cfg, d->schedules[i].workflow))
            oc_diag_add(b->diag, &d->schedules[i].pos, "schedule %s: no workflow '%s'",
                        d->schedules[i].name, d->schedules[i].workflow);
    for (size_t i = 0; i < d->n_hooks; i++)
        if (d->hooks[i].workflow && !oc_config_workflow(b->cfg, d->hooks[i].workflow))
            oc_diag_add(b->diag, &d->hooks[i].pos, "webhook %s: no workflow '%s'",
                        d->hooks[i].name, d->hooks[i].workflow);
}

/* What is wrong with the secret NAME's value, or NULL. */
static const char *oc_hmac_secret_problem(const char *name, size_t *len)
{
    char *v = oc_secret_lookup(name);
    *len = v ? strlen(v) : 0;
    free(v);
    if (!v)
        return "is not set";
    if (!*len)
        return "is empty";
    return *len < OC_HMAC_SECRET_MIN ? "is too short" : NULL;
}

static int oc_check_hmac_secret(struct oc_diag *diag, const struct oc_pos *pos,
                                const char *what, const char *name)
{
    size_t len;
    const char *why = oc_hmac_secret_problem(name, &len);
    if (!why)
        return 0;
    const char *dir = getenv("ORCH_SECRETS_DIR");
    char *file = dir && *dir ? oc_xasprintf(" or the file %s/%s", dir, name) : oc_xstrdup("");
    oc_diag_add(diag, pos,
                "%s: its secret ${{ secrets.%s }} (environment variable ORCH_SECRET_%s%s) %s "
                "(%zu bytes): an HMAC key must be at least %d bytes, or anyone could sign "
                "requests; orchd does not start",
                what, name, name, file, why, len, OC_HMAC_SECRET_MIN);
    free(file);
    return 1;
}

size_t oc_daemon_check_secrets(const struct oc_config *cfg, struct oc_diag *diag)
{
    const struct oc_daemon_cfg *d = &cfg->daemon;
    size_t bad = 0;
    for (size_t i = 0; i < d->n_hooks; i++) {
        if (!d->hooks[i].secret)
            continue;
        char *what = oc_xasprintf("webhook %s", d->hooks[i].name);
        bad += (size_t)oc_check_hmac_secret(diag, &d->hooks[i].secret_pos, what,
                                            d->hooks[i].secret);
        free(what);
    }
    for (size_t i = 0; i < d->n_notifications; i++) {
        if (!d->notifications[i].secret)
            continue;
        char *what = oc_xasprintf("notifications[%zu]", i);
        bad += (size_t)oc_check_hmac_secret(diag, &d->notifications[i].secret_pos, what,
                                            d->notifications[i].secret);
        free(what);
    }
    return bad;
}

void oc_daemon_config_free(struct oc_daemon_cfg *d)
{
    free(d->listen);
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
    }
    free(d->hooks);
    for (size_t i = 0; i < d->n_notifications; i++) {
        free(d->notifications[i].url);
        free(d->notifications[i].secret);
    }
    free(d->notifications);
}
