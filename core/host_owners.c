/* Which blocks the host allocator handed out, when asked to know: the
 * conformance suite turns this on so that an id or handle a backend made
 * with libc malloc (which the core would hand to host->free) is reported
 * by name instead of corrupting a heap later, and so that a leak names the
 * plugin slot that made the block. Off, it costs one atomic load per
 * allocation. An open-addressing set of blocks under a lock. */
#include "host_owners.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

struct oc_owner {
    uintptr_t p;                 /* 0 = empty, 1 = deleted, else a block */
    const char *tag;
    uint64_t seq;
};

static atomic_int oc_owners_on;
static _Atomic(const char *) oc_owners_cur_tag;
static pthread_mutex_t oc_owners_lock = PTHREAD_MUTEX_INITIALIZER;
static struct oc_owner *oc_owners;
static size_t oc_owners_cap, oc_owners_used;
static uint64_t oc_owners_next_seq; /* under the lock */

#define OC_OWNER_DELETED ((uintptr_t)1)

static size_t oc_owner_slot(uintptr_t p, size_t cap)
{
    return (size_t)((p >> 4) * 0x9E3779B97F4A7C15ull) & (cap - 1);
}

/* Called with the lock held; on allocation failure tracking just stops
 * being complete, which only weakens the check. */
static void oc_owners_grow(void)
{
    size_t cap = oc_owners_cap ? oc_owners_cap * 2 : 1024;
    struct oc_owner *t = calloc(cap, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; i < oc_owners_cap; i++) {
        if (oc_owners[i].p > OC_OWNER_DELETED) {
            size_t k = oc_owner_slot(oc_owners[i].p, cap);
            while (t[k].p)
                k = (k + 1) & (cap - 1);
            t[k] = oc_owners[i];
        }
    }
    free(oc_owners);
    oc_owners = t;
    oc_owners_cap = cap;
}

void oc_host_owners_track(int on)
{
    atomic_store(&oc_owners_on, on ? 1 : 0);
}

const char *oc_host_owners_tag(const char *tag)
{
    return atomic_exchange(&oc_owners_cur_tag, tag);
}

uint64_t oc_host_owners_seq(void)
{
    pthread_mutex_lock(&oc_owners_lock);
    uint64_t s = oc_owners_next_seq;
    pthread_mutex_unlock(&oc_owners_lock);
    return s;
}

/* With the lock held. */
static void oc_owners_insert(uintptr_t p, const char *tag, uint64_t seq)
{
    if ((oc_owners_used + 1) * 2 > oc_owners_cap)
        oc_owners_grow();
    if (!oc_owners_cap || (oc_owners_used + 1) * 2 > oc_owners_cap)
        return;
    size_t k = oc_owner_slot(p, oc_owners_cap);
    while (oc_owners[k].p > OC_OWNER_DELETED)
        k = (k + 1) & (oc_owners_cap - 1);
    if (!oc_owners[k].p)
        oc_owners_used++;
    oc_owners[k] = (struct oc_owner){p, tag, seq};
}

void oc_host_owners_add(const void *p)
{
    if (!p || !atomic_load(&oc_owners_on))
        return;
    const char *tag = atomic_load(&oc_owners_cur_tag);
    pthread_mutex_lock(&oc_owners_lock);
    oc_owners_insert((uintptr_t)p, tag, ++oc_owners_next_seq);
    pthread_mutex_unlock(&oc_owners_lock);
}

static size_t oc_owner_find(uintptr_t p)
{
    if (!oc_owners_cap)
        return SIZE_MAX;
    for (size_t k = oc_owner_slot(p, oc_owners_cap), n = 0; n < oc_owners_cap;
         k = (k + 1) & (oc_owners_cap - 1), n++) {
        if (oc_owners[k].p == p)
            return k;
        if (!oc_owners[k].p)
            return SIZE_MAX;
    }
    return SIZE_MAX;
}

void oc_host_owners_take(const void *p, struct oc_owner_kept *kept)
{
    kept->had = 0;
    if (!p || !atomic_load(&oc_owners_on))
        return;
    pthread_mutex_lock(&oc_owners_lock);
    size_t k = oc_owner_find((uintptr_t)p);
    if (k != SIZE_MAX) {
        *kept = (struct oc_owner_kept){oc_owners[k].tag, oc_owners[k].seq, 1};
        oc_owners[k].p = OC_OWNER_DELETED;
    }
    pthread_mutex_unlock(&oc_owners_lock);
}

void oc_host_owners_put(const void *p, const struct oc_owner_kept *kept)
{
    if (!kept->had) {
        oc_host_owners_add(p);
        return;
    }
    if (!p || !atomic_load(&oc_owners_on))
        return;
    pthread_mutex_lock(&oc_owners_lock);
    oc_owners_insert((uintptr_t)p, kept->tag, kept->seq);
    pthread_mutex_unlock(&oc_owners_lock);
}

void oc_host_owners_remove(const void *p)
{
    struct oc_owner_kept k;
    oc_host_owners_take(p, &k);
}

int oc_host_owns(const void *p)
{
    if (!atomic_load(&oc_owners_on))
        return -1;
    pthread_mutex_lock(&oc_owners_lock);
    int found = p && oc_owner_find((uintptr_t)p) != SIZE_MAX;
    pthread_mutex_unlock(&oc_owners_lock);
    return found;
}

void oc_host_owners_census(uint64_t after, void (*fn)(void *ud, const char *tag), void *ud)
{
    if (!atomic_load(&oc_owners_on))
        return;
    pthread_mutex_lock(&oc_owners_lock);
    for (size_t i = 0; i < oc_owners_cap; i++)
        if (oc_owners[i].p > OC_OWNER_DELETED && oc_owners[i].seq > after)
            fn(ud, oc_owners[i].tag);
    pthread_mutex_unlock(&oc_owners_lock);
}
