/* What orchd's GET /v1/runs/{id} and `orch runs show` tell of a run beyond
 * its row and attempts, read in one walk of its ledger: its outputs, its
 * links to the runs it called and the run that called it, its concurrency
 * group, the logs that were cut. Each piece's fold of an event belongs to
 * its own module (run_outputs.c, run_concurrency.c, logread.c); this one
 * only walks once. */
#ifndef OC_RUN_LEDGER_H
#define OC_RUN_LEDGER_H

#include <jansson.h>

#include "store.h"

struct oc_run_ledger {
    json_t *outputs;         /* the workflow's outputs, or NULL (not ended, none declared) */
    json_t *links;           /* {"parent", "children"} (run_outputs.h) */
    json_t *concurrency;     /* its group's last word, or NULL (run_concurrency.h) */
    json_t *cuts;            /* {"STEP#ATTEMPT": step.log_truncated data} (logread.h) */
};

/* *l filled (new references); on an error nothing is kept and err says
 * why. */
orch_status oc_run_ledger_read(struct oc_store *st, const char *run_id,
                               struct oc_run_ledger *l, struct orch_error *err);
void oc_run_ledger_clear(struct oc_run_ledger *l);

#endif
