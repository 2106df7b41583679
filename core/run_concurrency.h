/* A run's concurrency group as its ledger tells it (the concurrency.*
 * events core/engine/cgroup_run.c writes): why a run waits, read back by
 * orchd's run (GET /v1/runs/{id}) and `orch runs show`. */
#ifndef OC_RUN_CONCURRENCY_H
#define OC_RUN_CONCURRENCY_H

#include <jansson.h>

#include "store.h"

/* *out: {"key", "key_sha256", "limit", "on_conflict", "state" (waiting,
 * admitted, skipped, planned), "since" (RFC 3339), "holders" (while it
 * waits, or skipped: the run ids that held the slots)} from the run's last
 * concurrency event, a new reference; NULL when the run is in no group. */
orch_status oc_run_concurrency_read(struct oc_store *st, const char *run_id, json_t **out,
                                    struct orch_error *err);

#endif
