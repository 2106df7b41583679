/* Child processes that someone in this process waits for by pid (the
 * executor pools, the plugin scan), so that a reaper of orphans (orchd as
 * PID 1 or child subreaper) never takes their exit status from them. */
#ifndef OC_EXEC_CHILDREN_H
#define OC_EXEC_CHILDREN_H

#include <sys/types.h>

/* Hold the lock across the spawn and oc_children_add, so the reaper cannot
 * see the new child before it is known. */
void oc_children_lock(void);
void oc_children_unlock(void);
void oc_children_add(pid_t pid);    /* lock held */
void oc_children_del(pid_t pid);    /* after its waitpid; takes the lock */

/* Reap every exited child of this process that nobody waits for (orphans
 * re-parented to us). Returns how many. Safe from any thread. */
int oc_children_reap_orphans(void);

#endif
