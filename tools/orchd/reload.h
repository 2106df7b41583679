/* Reloading the config without a restart (reload.c): SIGHUP, POST
 * /v1/admin/reload. The file is read again and validated completely on the
 * engine thread; a config with any error is refused whole (each error
 * logged with file:line:col and returned) and the running one kept; a valid
 * one replaces the running config at once (conf.h). What only a restart
 * can change (the store, state_dir, server.listen, worker.id, plugins,
 * defaults.concurrency, env_passthrough) must be unchanged, or the reload
 * is refused saying so. */
#ifndef ORCHD_RELOAD_H
#define ORCHD_RELOAD_H

#include <jansson.h>

struct orchd;

/* The engine thread, between two iterations of its loop: act on a SIGHUP
 * (d->reload_signal) and on requests from the API. */
void orchd_reload_poll(struct orchd *d);

/* An API thread: ask the engine thread for a reload and wait for its
 * answer ({"reloaded": true, "generation", counts...} or {"reloaded":
 * false, "errors": [...]}); NULL when none came in timeout_ms. New ref. */
json_t *orchd_reload_ask(struct orchd *d, const char *by, int64_t timeout_ms);

/* Say, for each workflow of cfg, a backend secret it needs that is not set
 * (at start and after a reload: such a workflow is refused at enqueue
 * until the secret appears). */
struct oc_config;
void orchd_warn_backend_secrets(const struct oc_config *cfg);

#endif
