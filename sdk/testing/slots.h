/* Which plugin slot a case is inside, so that a crash, a hang or a leak
 * names it ("backend.exec crashed (SIGSEGV)", "store.run_cas hung (> 30 s)",
 * "backend.create leaked 3 host allocations"). The suites call the plugin
 * through a traced copy of its vtable: each slot marks its entry and exit
 * in memory shared with the runner (a crashed or killed case process can
 * no longer say where it was) and tags the host allocations it makes. */
#ifndef CF_SLOTS_H
#define CF_SLOTS_H

#include <stdint.h>

/* The vtable to call instead of vt (kind ORCH_KIND_*): same struct_size,
 * same NULL slots, same data fields; each set slot a wrapper of the
 * plugin's. One plugin vtable per kind is traced; another one of that
 * kind is returned as it is. */
const void *cf_traced_vtable(uint32_t kind, const void *vt);

/* Runner side: the shared record is made once; reset before each case. */
void cf_slots_reset(void);
/* Case side, first thing in the case's process: slots entered from here
 * on (in this process, not in processes it forks) are recorded. */
void cf_slots_child(void);

/* Where the case was, read by the runner once its process is gone. */
struct cf_slot_where {
    const char *slot;           /* innermost slot running, NULL = none */
    const char *outer;          /* the slot that called it (through the host), or NULL */
    const char *last;           /* the last slot that returned, NULL = none yet */
    int64_t running_ms;         /* how long `slot` had been running */
};
void cf_slots_where(struct cf_slot_where *w);

#endif
