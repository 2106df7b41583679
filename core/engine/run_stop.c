/* Stopping a run (cancel, or its workflow's timeout): its jobs are
 * cancelled, its waiting steps end, a call step's child run stops too. */
#include <stdlib.h>

#include "internal.h"
#include "../runctl.h"

void oc_run_stop(struct oc_run *r)
{
    if (r->done || r->cancelled)
        return;
    r->cancelled = 1;
    r->dirty = 1;
    if (!r->timed_out)
        oc_ledger_event(r, "run.cancelling", NULL);
    for (size_t j = 0; j < r->n_steps; j++) {
        if (oc_step_in_flight(&r->steps[j])) {
            oc_pool_cancel(r->e->pool, r->steps[j].job_id, 5000);
        } else if (oc_step_waiting(&r->steps[j]) && r->steps[j].child) {
            /* A call step's child run here stops too; the step ends
             * with it (call.c settles it), so the parent's end waits for
             * the child's teardown. */
            oc_run_stop(r->steps[j].child);
        } else if (oc_step_waiting(&r->steps[j])) {
            /* A call step whose child another process drives: asked to
             * cancel, through the store. */
            const char *child = r->steps[j].child_id;
            if (child)
                oc_run_cancel_request(r->e->store, child, NULL);
            char *why = oc_xasprintf("%s while the step waited%s%s", oc_run_stop_why(r),
                                     child ? "; cancel asked of child run " : "",
                                     child ? child : "");
            oc_step_finish(r, j, ORCH_STEP_CANCELLED, ORCH_E_CANCELLED, why);
            free(why);
        }
    }
}

