/* A run's outputs (a workflow's outputs:), read back. The engine writes
 * them once, in the data of the run's run.finished event (core/engine/
 * run_end.c); orchd's run and `orch runs show` read them here. */
#ifndef OC_RUN_OUTPUTS_H
#define OC_RUN_OUTPUTS_H

#include <jansson.h>

#include "store.h"

/* *outputs: the object of the run's last run.finished (a new reference),
 * or NULL while the run has not ended or its workflow declares none. */
orch_status oc_run_outputs_read(struct oc_store *st, const char *run_id, json_t **outputs,
                                struct orch_error *err);

/* *links: {"parent": {"run", "step", "attempt"} or null (the run that
 * called this one), "children": [{"step", "attempt", "workflow", "run"}]
 * (the child runs its call steps made, in order)}, from the run.parent
 * and step.call events (core/engine/call.c). */
orch_status oc_run_links_read(struct oc_store *st, const char *run_id, json_t **links,
                              struct orch_error *err);

/* The folds of one event the two walks above make (ud: a json_t ** for
 * the outputs, the links object from oc_run_links_new), for a walk that
 * reads more at once (run_ledger.c). */
int32_t oc_run_outputs_ev(void *ud, const struct orch_event_rec *e);
json_t *oc_run_links_new(void);
int32_t oc_run_links_ev(void *ud, const struct orch_event_rec *e);

#endif
