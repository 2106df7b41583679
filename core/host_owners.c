/* Which blocks the host allocator handed out, when asked to know: the
 * conformance suite turns this on so that an id or handle a backend made
 * with libc malloc (which the core would hand to host->free) is reported
 * by name instead of corrupting a heap later. Off, it costs one atomic
 * load per allocation. An open-addressing set of pointers under a lock. */
#include "host_owners.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

static atomic_int oc_owners_on;
static pthread_mutex_t oc_owners_lock = PTHREAD_MUTEX_INITIALIZER;
static uintptr_t *oc_owners;     /* 0 = empty, 1 = deleted, else a block */
static size_t oc_owners_cap, oc_owners_used;

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
    uintptr_t *t = calloc(cap, sizeof *t);
    if (!t)
        return;
    for (size_t i = 0; i < oc_owners_cap; i++) {
        uintptr_t p = oc_owners[i];
        if (p > OC_OWNER_DELETED) {
            size_t k = oc_owner_slot(p, cap);
            while (t[k])
                k = (k + 1) & (cap - 1);
            t[k] = p;
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

void oc_host_owners_add(const void *p)
{
    if (!p || !atomic_load(&oc_owners_on))
        return;
    pthread_mutex_lock(&oc_owners_lock);
    if ((oc_owners_used + 1) * 2 > oc_owners_cap)
        oc_owners_grow();
    if (oc_owners_cap && (oc_owners_used + 1) * 2 <= oc_owners_cap) {
        size_t k = oc_owner_slot((uintptr_t)p, oc_owners_cap);
        while (oc_owners[k] > OC_OWNER_DELETED)
            k = (k + 1) & (oc_owners_cap - 1);
        if (!oc_owners[k])
            oc_owners_used++;
        oc_owners[k] = (uintptr_t)p;
    }
    pthread_mutex_unlock(&oc_owners_lock);
}

static size_t oc_owner_find(uintptr_t p)
{
    if (!oc_owners_cap)
        return SIZE_MAX;
    for (size_t k = oc_owner_slot(p, oc_owners_cap), n = 0; n < oc_owners_cap;
         k = (k + 1) & (oc_owners_cap - 1), n++) {
        if (oc_owners[k] == p)
            return k;
        if (!oc_owners[k])
            return SIZE_MAX;
    }
    return SIZE_MAX;
}

void oc_host_owners_remove(const void *p)
{
    if (!p || !atomic_load(&oc_owners_on))
        return;
    pthread_mutex_lock(&oc_owners_lock);
    size_t k = oc_owner_find((uintptr_t)p);
    if (k != SIZE_MAX)
        oc_owners[k] = OC_OWNER_DELETED;
    pthread_mutex_unlock(&oc_owners_lock);
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
