/* The host allocator behind the alloc, calloc, realloc, free and strdup
 * slots: libc underneath, plus what the leak checks and torture tests need
 * (a count of live blocks, a planned failure of the Nth allocation, the
 * ownership record of host_owners.c). The core's own orch_error messages
 * use it too, so a plugin can free what the core set. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "host_owners.h"
#include "host_slots.h"

static atomic_llong oc_live_allocs;
static atomic_llong oc_fail_countdown;

int64_t oc_host_live_allocs(void)
{
    return atomic_load(&oc_live_allocs);
}

void oc_host_fail_alloc_after(int64_t n)
{
    atomic_store(&oc_fail_countdown, n);
}

int64_t oc_host_fail_alloc_remaining(void)
{
    return atomic_load(&oc_fail_countdown);
}

static int oc_alloc_should_fail(void)
{
    long long c = atomic_load(&oc_fail_countdown);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&oc_fail_countdown, &c, c - 1))
            return c == 1;
    }
    return 0;
}

void *oc_h_alloc(uint64_t size)
{
    if (oc_alloc_should_fail())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p) {
        atomic_fetch_add(&oc_live_allocs, 1);
        oc_host_owners_add(p);
    }
    return p;
}

void *oc_h_calloc(uint64_t n, uint64_t size)
{
    if (oc_alloc_should_fail())
        return NULL;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p) {
        atomic_fetch_add(&oc_live_allocs, 1);
        oc_host_owners_add(p);
    }
    return p;
}

void *oc_h_realloc(void *p, uint64_t size)
{
    if (oc_alloc_should_fail())
        return NULL;
    /* Forgotten before realloc: once it returns, another thread may be
     * handed the old address. The block keeps the slot that made it. */
    struct oc_owner_kept kept;
    oc_host_owners_take(p, &kept);
    void *q = realloc(p, size ? size : 1);
    if (q && !p)
        atomic_fetch_add(&oc_live_allocs, 1);
    oc_host_owners_put(q ? q : p, &kept);
    return q;
}

void oc_h_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&oc_live_allocs, 1);
    oc_host_owners_remove(p);
    free(p);
}

char *oc_h_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = oc_h_alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}
