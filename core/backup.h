/* A store's whole content as a stream, and back: orch admin backup and
 * restore.
 *
 * The backup is logical, read through the store's vtable, so one format
 * serves every store: a SQLite store's backup restores into PostgreSQL as
 * well. One JSON object a line:
 *   {"orch_backup": 1, "orch": VERSION, "schema": N, "created_ns": T}
 *   {"run": {...}}        each run, newest first, then for each of them
 *   {"attempt": {...}}    its attempts, and after each attempt
 *   {"log": {...}}        its log chunks in order (data in base64)
 *   {"event": {...}}      the whole ledger in sequence order
 *   {"instance": {...}}   the ownership ledger
 *   {"flag": {...}}       control flags, schedule slots, deadlines
 *   {"blob": {"key", "data"}}  artifacts, in chunks of at most 1 MiB
 *   {"end": {counts}}     so that a cut-off file is refused, not half read
 * Leases are not kept: a restored store has no daemon yet.
 *
 * A store with writers is read while they write: the backup of a live
 * daemon's store is consistent per run once the daemons are paused (orch
 * control pause), which the command says. */
#ifndef OC_BACKUP_H
#define OC_BACKUP_H

#include <stdint.h>
#include <stdio.h>

#include "store.h"

struct oc_backup_counts {
    uint64_t runs, attempts, log_chunks, events, instances, flags, blobs;
};

/* Write st's content to out. */
orch_status oc_backup_write(struct oc_store *st, FILE *out, struct oc_backup_counts *n,
                            struct orch_error *err);

/* Read a backup into st, which must hold no run and no event, in one
 * transaction (a bad or cut-off file leaves st as it was). Runs that were
 * running come back queued, unowned: a daemon adopts them and resumes them
 * as after a crash (their steps in flight end unknown and follow
 * on_unknown). Each error names the line. */
orch_status oc_backup_read(struct oc_store *st, FILE *in, struct oc_backup_counts *n,
                           struct orch_error *err);

#endif
