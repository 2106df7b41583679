/* Reading step logs back in bounded pieces, and what the engine recorded
 * about cutting them (docs/security.md, "Bounded logs"). Whoever serves a
 * log (orchd's routes, the CLI) holds one page at a time, never the log. */
#ifndef OC_LOGREAD_H
#define OC_LOGREAD_H

#include <jansson.h>

#include "store.h"

/* A page: the rows of (run, step, attempt) after *after_seq, in order,
 * passed to fn until at least max_bytes were passed (one row more than
 * max_bytes at most, so a row is never split). *after_seq moves to the last
 * row passed; *more is 1 when the page ended on max_bytes (rows may remain)
 * and 0 when the log had no more rows. fn returning non-zero stops as well
 * (*more 1). */
orch_status oc_log_page(struct oc_store *st, const char *run_id, const char *step_id,
                        uint32_t attempt, int64_t *after_seq, size_t max_bytes,
                        orch_log_fn fn, void *ud, int *more, struct orch_error *err);

/* The run's step.log_truncated events as {"STEP#ATTEMPT": event data}
 * (log_limit, bytes, kept_head, kept_tail, dropped); an empty object when
 * no log was cut, NULL (err set) when the ledger could not be read. */
json_t *oc_log_truncations(struct oc_store *st, const char *run_id, struct orch_error *err);
/* Its fold of one event into that object (ud), for a walk that reads
 * more than the cuts (run_ledger.c). */
int32_t oc_log_truncation_ev(void *ud, const struct orch_event_rec *e);

/* The data of (step, attempt) in what oc_log_truncations returned, or NULL. */
json_t *oc_log_truncation_of(json_t *truncations, const char *step_id, uint32_t attempt);

#endif
