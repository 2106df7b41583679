/* Run retention: the one rule of what is old enough to go and what goes
 * with it, applied by `orch gc` and by orchd's sweep alike.
 *
 * A run is judged by how it ended (succeeded, failed, cancelled; a dead
 * letter or a discarded run is failed) and by its updated_ns, the time of
 * its last state change, which for an ended run is its end. A queued,
 * running or waiting run is never touched. Deleting a run takes its
 * attempts, events, logs, the ledger rows of its destroyed instances, its
 * per-run control flags and its artifacts' blobs in the store its own
 * config snapshot names; `artifacts:` takes only the blobs of an ended run
 * that stays, and records artifact.expired in its ledger. */
#ifndef OC_RETENTION_H
#define OC_RETENTION_H

#include <jansson.h>

#include "config.h"
#include "registry.h"
#include "store.h"

/* The limit for runs that ended in state, in ms: 0 = kept forever (also
 * for a state that has not ended). */
int64_t oc_retention_limit_ms(const struct oc_retention *r, uint32_t state);
/* Runs in state updated before the cutoff (ns) go; 0 = none does. */
int64_t oc_retention_cutoff_ns(const struct oc_retention *r, uint32_t state, int64_t now_ns);
/* Ended runs updated before it lose their artifacts' blobs; 0 = none. */
int64_t oc_retention_artifacts_cutoff_ns(const struct oc_retention *r, int64_t now_ns);

enum oc_retention_verdict { OC_RET_KEEP, OC_RET_DELETE, OC_RET_EXPIRE_ARTIFACTS };
/* What the rule says of one run now. */
enum oc_retention_verdict oc_retention_judge(const struct oc_retention *r, uint32_t state,
                                             int64_t updated_ns, int64_t now_ns);
const char *oc_retention_verdict_name(enum oc_retention_verdict v);

/* One run the sweep acted on (or, dry, would have). */
struct oc_retention_item {
    const char *run_id, *workflow;
    uint32_t state;
    int64_t ended_ns;
    enum oc_retention_verdict verdict;
    uint64_t blobs, blob_bytes;       /* artifacts: the artifacts expired */
    const struct orch_run_purge *purge; /* what went with a deleted run; NULL if dry */
    const char *error;                /* NULL: done; else why it was kept */
};
typedef void (*oc_retention_fn)(void *ud, const struct oc_retention_item *it);

struct oc_retention_report {
    uint64_t runs;                    /* deleted (or that would be) */
    uint64_t attempts, events, log_chunks, log_bytes, instances;
    uint64_t blobs, blob_bytes;       /* of deleted runs and expired artifacts */
    uint64_t artifact_runs;           /* runs that kept their rows, lost their blobs */
    uint64_t artifacts;               /* artifacts expired */
    uint64_t reclaimed_bytes;         /* the store's file shrank by (SQLite) */
    uint64_t errors;                  /* runs kept because a step failed */
    int more;                         /* stopped by max_runs or the deadline */
};

struct oc_retention_opts {
    int64_t now_ns;                   /* wall clock: orchd's --now applies */
    int dry_run;                      /* list, remove nothing */
    uint32_t max_runs;                /* runs acted on in one sweep; 0 = all */
    int64_t deadline_mono_ns;         /* stop after it (monotonic); 0 = none */
    oc_retention_fn fn;               /* each run; may be NULL */
    void *ud;
};

/* One sweep of r over st (reg opens the artifacts stores runs' snapshots
 * name). Nothing to do for a file without retention:. A run that cannot
 * be removed now (its blobs' store unreachable) is kept, counted in
 * errors and reported through fn: the next sweep tries it again. Fails
 * (ORCH_E_UNSUPPORTED) on a store without ABI 1.3's retention, and on a
 * store error listing runs. */
orch_status oc_retention_sweep(struct oc_registry *reg, struct oc_store *st,
                               const struct oc_retention *r, const struct oc_retention_opts *o,
                               struct oc_retention_report *rep, struct orch_error *err);
/* rep as the JSON orch gc --json and orchd's log print. */
json_t *oc_retention_report_json(const struct oc_retention_report *rep);

#endif
