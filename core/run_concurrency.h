/* A run's concurrency group as its ledger tells it (the concurrency.*
 * events core/engine/cgroup_run.c writes): why a run waits, read back by
 * orchd's run (GET /v1/runs/{id}) and `orch runs show`. */
#ifndef OC_RUN_CONCURRENCY_H
#define OC_RUN_CONCURRENCY_H

#include <jansson.h>

#include "store.h"

/* The fold of one event of a walk of the run's ledger (run_ledger.c):
 * *(json_t **)ud becomes {"key", "key_sha256", "limit", "on_conflict",
 * "state" (waiting, admitted, skipped, planned), "since" (RFC 3339),
 * "holders" (while it waits, or skipped: the run ids that held the
 * slots)} at each concurrency event, so the walk ends with the last; it
 * stays NULL when the run is in no group. */
int32_t oc_run_concurrency_ev(void *ud, const struct orch_event_rec *e);

#endif
