/* See reload.h. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "host.h"
#include "http.h"
#include "metrics.h"
#include "node.h"
#include "orchd.h"
#include "reload.h"
#include "runctl.h"
#include "util.h"

void orchd_warn_backend_secrets(const struct oc_config *cfg)
{
    /* A backend secret that is missing now is said, but does not stop the
     * daemon: a file under $ORCH_SECRETS_DIR may appear while it runs, and
     * the other workflows are fine. Each enqueue of a workflow that needs
     * it is refused until then (core/runctl.c), naming the same
     * file:line:col. */
    struct oc_log_fields f = {.component = "orchd"};
    for (size_t i = 0; i < cfg->n_workflows; i++) {
        struct orch_error err;
        oc_error_init(&err);
        if (oc_backends_resolvable(cfg, cfg->workflows[i].name, &err) != ORCH_OK)
            oc_log_at(ORCH_LOG_WARN, &f, "workflow %s cannot start until this is set: %s",
                      cfg->workflows[i].name, oc_error_text(&err));
        oc_error_clear(&err);
    }
}

static int orchd_node_equal(const struct oc_node *a, const struct oc_node *b)
{
    if (!a || !b)
        return a == b;
    if (a->kind != b->kind || a->len != b->len)
        return 0;
    if (a->kind == OC_NODE_SCALAR)
        return !strcmp(a->str ? a->str : "", b->str ? b->str : "") && a->quoted == b->quoted;
    for (size_t i = 0; i < a->len; i++)
        if ((a->keys && !orchd_node_equal(a->keys[i], b->keys[i])) ||
            !orchd_node_equal(a->items[i], b->items[i]))
            return 0;
    return 1;
}

static int orchd_str_equal(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static int orchd_strs_equal(char *const *a, size_t na, char *const *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return 0;
    return 1;
}

/* What a reload cannot change, each difference one error at the new
 * file's place for it. */
static void orchd_restart_only(struct orchd *d, const struct oc_config *now,
                               const struct oc_config *next, json_t *errors)
{
    const struct orchd_cfg *a = orchd_cfg_of(now), *b = orchd_cfg_of(next);
    /* The exporter is made once, with the engine (its thread, its queue
     * and the spans of runs in flight). */
    const struct oc_node *tel = oc_node_get(next->root, "telemetry");
    struct {
        int same;
        const struct oc_pos *pos;
        const char *what;
    } checks[] = {
        {orchd_str_equal(now->store.uses, next->store.uses) &&
             orchd_node_equal(now->store.with, next->store.with) &&
             now->store.migrate == next->store.migrate,
         &next->store.pos, "store"},
        {orchd_str_equal(now->state_dir, next->state_dir), &next->root->pos,
         "defaults.state_dir"},
        {now->concurrency == next->concurrency, &next->root->pos, "defaults.concurrency"},
        {orchd_strs_equal(now->env_passthrough, now->n_env_passthrough, next->env_passthrough,
                          next->n_env_passthrough),
         &next->root->pos, "env_passthrough"},
        {orchd_str_equal(a->listen, b->listen), &next->root->pos, "server.listen"},
        {orchd_str_equal(a->worker_id, b->worker_id), &next->root->pos, "worker.id"},
        {a->singleton == b->singleton, &next->root->pos, "worker.mode"},
        {orchd_node_equal(oc_node_get(now->root, "telemetry"), tel),
         tel ? &tel->pos : &next->root->pos, "telemetry"},
    };
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (!checks[i].same)
            json_array_append_new(errors, json_sprintf("%s:%u:%u: %s changed: a reload cannot "
                                                       "change it; restart orchd",
                                                       checks[i].pos->file ? checks[i].pos->file
                                                                           : d->config_path,
                                                       checks[i].pos->line, checks[i].pos->col,
                                                       checks[i].what));
    /* Dropping every token would open the API on the address it serves. */
    if (!b->n_tokens && a->n_tokens && d->listen && !orchd_listen_is_loopback(d->listen))
        json_array_append_new(errors, json_sprintf("%s: server.tokens: a reload cannot remove "
                                                   "every token while orchd serves %s",
                                                   d->config_path, d->listen));
}

/* The engine thread: one reload, its answer (new ref). */
static json_t *orchd_reload(struct orchd *d, const char *by)
{
    struct oc_log_fields f = {.component = "reload"};
    struct oc_diag diag = {0};
    json_t *errors = json_array();
    /* Parsed, then validated against the running registry: oc_config_load
     * would add the file's plugin paths to it first, and a reload must not
     * change what a refused file asked for. */
    /* Kept with shape errors and validated anyway: every error in one
     * answer, as orch validate gives them. */
    struct oc_config *next = oc_config_parse_file_partial(d->config_path, &diag);
    if (next && !orchd_strs_equal(d->cfg->plugin_paths, d->cfg->n_plugin_paths,
                                  next->plugin_paths, next->n_plugin_paths)) {
        json_array_append_new(errors, json_sprintf("%s: plugins changed: a reload cannot "
                                                   "change it; restart orchd", d->config_path));
        oc_config_free(next);
        next = NULL;
    } else if (next && (oc_config_validate(next, d->reg, &diag) != 0 || diag.n)) {
        oc_config_free(next);
        next = NULL;
    }
    for (size_t i = 0; i < diag.n; i++)
        json_array_append_new(errors, json_string(diag.msgs[i]));
    oc_diag_free(&diag);
    if (!next && !json_array_size(errors))
        json_array_append_new(errors, json_sprintf("%s: cannot load the config",
                                                   d->config_path));
    if (next) {
        struct oc_diag sdiag = {0};
        orchd_cfg_check_secrets(orchd_cfg_of(next), &sdiag);
        for (size_t i = 0; i < sdiag.n; i++)
            json_array_append_new(errors, json_string(sdiag.msgs[i]));
        oc_diag_free(&sdiag);
        orchd_restart_only(d, d->cfg, next, errors);
    }
    if (json_array_size(errors)) {
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e)
            oc_log_at(ORCH_LOG_ERROR, &f, "reload refused (%s): %s", by, json_string_value(e));
        oc_log_at(ORCH_LOG_ERROR, &f, "the running config (generation %llu) is kept",
                  (unsigned long long)d->conf->generation);
        oc_config_free(next);
        return json_pack("{s:b,s:o,s:I}", "reloaded", 0, "errors", errors, "generation",
                         (json_int_t)d->conf->generation);
    }
    json_decref(errors);
    orchd_warn_backend_secrets(next);
    orchd_metrics_config(d, next);
    const struct orchd_cfg *dc = orchd_cfg_of(next);
    json_t *out = json_pack("{s:b,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "reloaded", 1, "generation",
                            (json_int_t)(d->conf->generation + 1), "workflows",
                            (json_int_t)next->n_workflows, "workflow_files",
                            (json_int_t)next->n_files, "schedules",
                            (json_int_t)dc->n_schedules, "webhooks", (json_int_t)dc->n_hooks,
                            "notifications", (json_int_t)dc->n_notifications, "tokens",
                            (json_int_t)dc->n_tokens);
    orchd_conf_swap(d, orchd_conf_new(next, d->conf->generation + 1));
    char *why = NULL;
    oc_log_configure(dc->log_level, &why); /* checked when read */
    free(why);
    if (!d->notifier)
        d->notifier = orchd_notifier_start(d);
    char *files = next->workflows_dir ? oc_xasprintf(", %zu files of workflows_dir %s",
                                                     next->n_files, next->workflows_dir)
                                      : oc_xstrdup("");
    oc_log_at(ORCH_LOG_INFO, &f, "config reloaded (%s): generation %llu, %zu workflows, %zu "
              "schedules, %zu webhooks, %zu notifications, %zu tokens%s", by,
              (unsigned long long)d->conf->generation, next->n_workflows, dc->n_schedules,
              dc->n_hooks, dc->n_notifications, dc->n_tokens, files);
    free(files);
    json_t *ev = json_deep_copy(out);
    json_object_del(ev, "reloaded");
    json_object_set_new(ev, "by", json_string(by));
    json_object_set_new(ev, "owner", json_string(d->owner));
    oc_run_event(d->store, NULL, "config.reloaded", ev, 0, NULL);
    return out;
}

void orchd_reload_poll(struct orchd *d)
{
    /* Every iteration of the engine loop: nothing but two loads when no
     * reload is asked for. */
    int signalled = d->reload_signal;
    if (!signalled && atomic_load(&d->reload.asked) == d->reload.done)
        return;
    pthread_mutex_lock(&d->reload.lock);
    uint64_t asked = atomic_load(&d->reload.asked);
    char *by = d->reload.by ? oc_xstrdup(d->reload.by) : NULL;
    pthread_mutex_unlock(&d->reload.lock);
    d->reload_signal = 0;
    json_t *result = orchd_reload(d, asked != d->reload.done && by ? by : "SIGHUP");
    free(by);
    pthread_mutex_lock(&d->reload.lock);
    json_decref(d->reload.result);
    d->reload.result = result;
    d->reload.done = asked;
    pthread_cond_broadcast(&d->reload.cv);
    pthread_mutex_unlock(&d->reload.lock);
}

json_t *orchd_reload_ask(struct orchd *d, const char *by, int64_t timeout_ms)
{
    pthread_mutex_lock(&d->reload.lock);
    uint64_t mine = atomic_fetch_add(&d->reload.asked, 1) + 1;
    free(d->reload.by);
    d->reload.by = oc_xstrdup(by);
    pthread_mutex_unlock(&d->reload.lock);
    orchd_wake(d);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    json_t *out = NULL;
    pthread_mutex_lock(&d->reload.lock);
    while (d->reload.done < mine &&
           pthread_cond_timedwait(&d->reload.cv, &d->reload.lock, &until) == 0)
        ;
    if (d->reload.done >= mine)
        out = json_deep_copy(d->reload.result);
    pthread_mutex_unlock(&d->reload.lock);
    return out;
}
