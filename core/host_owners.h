/* Ownership tracking of host allocations (for the conformance suite). */
#ifndef OC_HOST_OWNERS_H
#define OC_HOST_OWNERS_H

/* Start (1) or stop (0) recording blocks. Turn it on before the plugin
 * under test allocates: blocks from before are unknown. */
void oc_host_owners_track(int on);
void oc_host_owners_add(const void *p);
void oc_host_owners_remove(const void *p);
/* 1 when p is a live host block, 0 when not, -1 when tracking is off. */
int oc_host_owns(const void *p);

#endif
