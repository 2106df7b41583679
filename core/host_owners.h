/* Ownership tracking of host allocations (for the conformance suite). */
#ifndef OC_HOST_OWNERS_H
#define OC_HOST_OWNERS_H

#include <stdint.h>

/* Start (1) or stop (0) recording blocks. Turn it on before the plugin
 * under test allocates: blocks from before are unknown. */
void oc_host_owners_track(int on);
void oc_host_owners_add(const void *p);
void oc_host_owners_remove(const void *p);
/* 1 when p is a live host block, 0 when not, -1 when tracking is off. */
int oc_host_owns(const void *p);

/* Each recorded block also carries the tag that was current when it was
 * made (the plugin slot the suite is inside, a static string) and a
 * sequence number, so a leak can be blamed on the slot that made it.
 * Returns the previous tag. Process-wide, not per thread: a plugin's own
 * threads allocate on behalf of the slot that started them. */
const char *oc_host_owners_tag(const char *tag);
/* The sequence number of the newest block so far (0 = none). */
uint64_t oc_host_owners_seq(void);
/* fn(ud, tag) for every live block made after sequence number `after`
 * (tag NULL: made while no tag was set). Nothing when tracking is off.
 * fn runs under the table's lock: it must not use the host allocator. */
void oc_host_owners_census(uint64_t after, void (*fn)(void *ud, const char *tag), void *ud);

/* realloc keeps a block's tag and number: take before, put after. */
struct oc_owner_kept {
    const char *tag;
    uint64_t seq;
    int had;
};
void oc_host_owners_take(const void *p, struct oc_owner_kept *k);
void oc_host_owners_put(const void *p, const struct oc_owner_kept *k);

#endif
