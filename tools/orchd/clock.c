/* The daemon's clock and its wake-up: apart from main.c so that every
 * other source builds into the fuzz harness (tests/fuzz) as it is, and
 * apart from sched.c so that the routes and ledgers that wake the
 * scheduler do not call into it (no call cycle through sched.c). */
#include <stdatomic.h>
#include <unistd.h>

#include "orchd.h"
#include "util.h"

int64_t orchd_now(const struct orchd *d)
{
    return oc_now_real_ns() + d->now_offset_ns;
}

void orchd_wake(struct orchd *d)
{
    char c = 1;
    atomic_store(&d->woken, 1);
    if (write(d->wake[1], &c, 1) < 0) {
        /* full pipe: a wake-up is already pending */
    }
}
