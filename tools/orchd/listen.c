/* Wake-ups from other daemons: with a store that has them (PostgreSQL's
 * LISTEN/NOTIFY), a thread waits on a connection of its own and wakes the
 * engine as soon as a run becomes claimable or a control flag changes
 * anywhere, so daemons need no tight polling; the tick stays as the
 * fallback. */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "host.h"
#include "orchd.h"

struct orchd_listener {
    struct orchd *d;
    struct oc_store *st;
    pthread_t thread;
    atomic_int stop;
};

static void *orchd_listen_main(void *arg)
{
    struct orchd_listener *l = arg;
    struct orch_error err;
    oc_error_init(&err);
    int failing = 0;
    while (!atomic_load(&l->stop)) {
        orch_status rc = l->st->vt->wait(l->st->h, 500, &err);
        if (rc == ORCH_OK) {
            orchd_wake(l->d);
            failing = 0;
        } else if (rc != ORCH_E_TIMEOUT) {
            /* The store reconnects on the next wait; say so once. */
            if (!failing++)
                oc_log(ORCH_LOG_WARN, "listen", "wake-ups: %s (ticks go on)",
                       oc_error_text(&err));
            sleep(1);
        }
        oc_error_clear(&err);
    }
    return NULL;
}

struct orchd_listener *orchd_listener_start(struct orchd *d)
{
    if (!(d->store->plugin->desc->caps & ORCH_STORE_CAP_NOTIFY))
        return NULL;
    struct orch_error err;
    oc_error_init(&err);
    struct orchd_listener *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->d = d;
    l->st = oc_store_open(d->reg, &d->cfg->store, d->cfg->state_dir, &err);
    if (!l->st || pthread_create(&l->thread, NULL, orchd_listen_main, l) != 0) {
        oc_log(ORCH_LOG_WARN, "listen", "no wake-ups from other daemons: %s",
               l->st ? "cannot start a thread" : oc_error_text(&err));
        oc_store_close(l->st);
        oc_error_clear(&err);
        free(l);
        return NULL;
    }
    return l;
}

void orchd_listener_stop(struct orchd_listener *l)
{
    if (!l)
        return;
    atomic_store(&l->stop, 1);
    pthread_join(l->thread, NULL);
    oc_store_close(l->st);
    free(l);
}
