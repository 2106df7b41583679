/* The daemon's config, as one snapshot a reload swaps whole.
 *
 * Threads: the engine thread owns d->conf and is the only one to swap it
 * (orchd_reload, between two iterations of its loop); it reads d->cfg
 * (== d->conf->cfg) without a reference. Every other thread (an API
 * request, the notifier) takes a reference for as long as it uses the
 * snapshot (orchd_conf_get / orchd_conf_put): a reload never frees a
 * config a request is still reading, and a request sees one config from
 * its start to its end. Runs do not use it at all: each run is driven from
 * the config text stored with it when it was queued, so a reload leaves the
 * runs in flight on the snapshot they started with. */
#ifndef ORCHD_CONF_H
#define ORCHD_CONF_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct orchd;

struct orchd_conf {
    struct oc_config *cfg;
    atomic_int refs;
    uint64_t generation;              /* 1 at start, +1 each applied reload */
    char **secret_names;              /* referenced by the config, for health */
    size_t n_secret_names;
    char **env_names;
    size_t n_env_names;
};

/* A snapshot of cfg (taken), with its references collected; one
 * reference, the caller's. */
struct orchd_conf *orchd_conf_new(struct oc_config *cfg, uint64_t generation);
/* Any thread: a reference on the current snapshot. */
struct orchd_conf *orchd_conf_get(struct orchd *d);
void orchd_conf_put(struct orchd_conf *c);
/* The engine thread: next (its reference handed over) becomes current;
 * the previous one is released. */
void orchd_conf_swap(struct orchd *d, struct orchd_conf *next);

/* refs.c: fill c's secret and env names from its config's templates. */
void orchd_collect_refs(struct orchd_conf *c);

#endif
