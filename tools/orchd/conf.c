/* See conf.h. */
#include <stdlib.h>

#include "conf.h"
#include "orchd.h"
#include "util.h"

struct orchd_conf *orchd_conf_new(struct oc_config *cfg, uint64_t generation)
{
    struct orchd_conf *c = oc_xcalloc(1, sizeof *c);
    c->cfg = cfg;
    c->generation = generation;
    atomic_init(&c->refs, 1);
    orchd_collect_refs(c);
    return c;
}

struct orchd_conf *orchd_conf_get(struct orchd *d)
{
    pthread_mutex_lock(&d->conf_lock);
    struct orchd_conf *c = d->conf;
    atomic_fetch_add(&c->refs, 1);
    pthread_mutex_unlock(&d->conf_lock);
    return c;
}

void orchd_conf_put(struct orchd_conf *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->n_secret_names; i++)
        free(c->secret_names[i]);
    free(c->secret_names);
    for (size_t i = 0; i < c->n_env_names; i++)
        free(c->env_names[i]);
    free(c->env_names);
    oc_config_free(c->cfg);
    free(c);
}

void orchd_conf_swap(struct orchd *d, struct orchd_conf *next)
{
    pthread_mutex_lock(&d->conf_lock);
    struct orchd_conf *prev = d->conf;
    d->conf = next;
    d->cfg = next->cfg;
    pthread_mutex_unlock(&d->conf_lock);
    orchd_conf_put(prev);
}
