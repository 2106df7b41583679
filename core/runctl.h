/* Requests on runs from outside the engine that drives them (the CLI, the
 * daemon's API, triggers). Each is a write to the store that whichever
 * engine owns or next claims the run acts on, so they work the same with
 * one process or several sharing a database. */
#ifndef OC_RUNCTL_H
#define OC_RUNCTL_H

#include <jansson.h>

#include "config.h"
#include "store.h"

struct oc_trace_parent; /* core/trace/trace.h */

/* The ledger event that keeps a run's caller's trace context
 * ({"traceparent": "00-..."}), written with the run; resume reads it. */
#define OC_RUN_TRACEPARENT_EVENT "run.traceparent"

/* Queue a run of workflow for any worker. inputs are checked against the
 * workflow. An idempotency key already used returns ORCH_E_EXISTS with
 * *run_id set to the first run (whose trace context stays as it was).
 * traceparent: the caller's W3C header (NULL: none; a malformed one is
 * logged and ignored, as the specification says), stored with the run in
 * one transaction, so that no worker claims the run without it. */
orch_status oc_run_enqueue(struct oc_store *st, const struct oc_config *cfg,
                           const char *workflow, json_t *inputs,
                           const char *idempotency_key, const char *trigger,
                           const char *traceparent, char **run_id, struct orch_error *err);

/* Check the inputs and write a run in `state` (the CLI starts it RUNNING
 * and drives it; daemons queue it), with parent's run.traceparent event
 * when parent is given: call it in a transaction then, so that both land
 * or neither. *wf_out and *inputs_out (a new ref, defaults filled) may be
 * NULL. ORCH_E_EXISTS sets *run_id to the run that holds the idempotency
 * key. */
orch_status oc_run_create(struct oc_store *st, const struct oc_config *cfg,
                          const char *workflow, json_t *inputs,
                          const char *idempotency_key, uint32_t state,
                          const struct oc_trace_parent *parent,
                          const struct oc_workflow **wf_out, json_t **inputs_out,
                          char **run_id, struct orch_error *err);

/* The same, the run leased to owner (a daemon) until lease_expires_ns from
 * its first write: a call step's child run, which the daemon that drives
 * its parent drives, and no other claims meanwhile. */
orch_status oc_run_create_owned(struct oc_store *st, const struct oc_config *cfg,
                                const char *workflow, json_t *inputs,
                                const char *idempotency_key, uint32_t state,
                                const struct oc_trace_parent *parent, const char *owner,
                                int64_t lease_expires_ns, const struct oc_workflow **wf_out,
                                json_t **inputs_out, char **run_id, struct orch_error *err);

/* Child run child_id of parent_id ended in state (ORCH_RUN_*) while no
 * process drove both: a parent parked waiting for it goes back to the
 * queue (call.ended in its ledger), so that whoever takes it reads the
 * child's end. A parent not parked is left alone: its driver watches the
 * child. Best effort (err NULL). */
orch_status oc_run_child_ended(struct oc_store *st, const char *parent_id,
                               const char *child_id, uint32_t state);

/* Decide a waiting approval (or an unknown outcome under on_unknown: ask).
 * input is checked against the step's declared inputs. The run goes back
 * to the queue. */
orch_status oc_run_decide(struct oc_store *st, const char *run_id,
                          const char *step_id, int approve, json_t *input,
                          const char *by, const char *comment,
                          struct orch_error *err);

/* Ask for a run to be cancelled: its owner (or the next worker, for a
 * queued or waiting run) stops its steps and tears its instances down. */
orch_status oc_run_cancel_request(struct oc_store *st, const char *run_id,
                                  struct orch_error *err);

/* Put a failed or cancelled run back in the queue: the steps that did not
 * succeed run again with a fresh retry budget. */
orch_status oc_run_requeue(struct oc_store *st, const char *run_id,
                           const char *by, struct orch_error *err);

/* Take a dead letter (a failed run) out of the dead letters for good: it
 * becomes cancelled, keeps its failure's reason, and its ledger says who
 * discarded it and why (run.discarded). It can still be re-queued. */
orch_status oc_run_discard(struct oc_store *st, const char *run_id, const char *by,
                           const char *reason, struct orch_error *err);

/* The writes of the processes that hand runs out and take them back (the
 * daemon's scheduler and recovery, the engine's resume): with the engine's
 * core/engine/ledger.c, the only code that writes run state, ledger
 * events, leases and control flags. err NULL: best effort, a failure is
 * dropped. */

/* Append to the ledger; run_id NULL = the daemon's own ledger (ticks,
 * schedules, instances). data taken, NULL = {}. at: its time (real
 * clock, ns), 0 = now. */
orch_status oc_run_event(struct oc_store *st, const char *run_id, const char *type,
                         json_t *data, int64_t at, struct orch_error *err);
/* Set a control flag (flags.h); value NULL clears it. */
orch_status oc_flag_write(struct oc_store *st, const char *key, const char *value,
                          struct orch_error *err);
/* Write a row of the ownership ledger (an instance made outside any
 * run: the daemon's instances API). */
orch_status oc_instance_write(struct oc_store *st, const struct orch_instance_rec *rec,
                              struct orch_error *err);
/* Claim the oldest claimable run for owner with a lease of ttl_ms; its id
 * into id (cap bytes). ORCH_E_NOT_FOUND: none. */
orch_status oc_run_claim(struct oc_store *st, const char *owner, int64_t ttl_ms, int64_t now,
                         char *id, size_t cap, struct orch_error *err);
/* Renew owner's lease on a run for ttl_ms; ttl_ms 0 releases it. A store
 * without leases: ORCH_OK, nothing written. */
orch_status oc_run_lease(struct oc_store *st, const char *run_id, const char *owner,
                         int64_t ttl_ms, int64_t now, struct orch_error *err);
/* A running run owner holds goes back to the queue, its lease released:
 * nothing was decided (a load that failed, a daemon that died). */
orch_status oc_run_hand_back(struct oc_store *st, const char *run_id, const char *owner,
                             int64_t now, struct orch_error *err);
/* A running run owner holds fails with why, and its run.finished event
 * ({"state", "error"} and the members of extra, taken, may be NULL) lands
 * in the same transaction; then its lease is released. */
orch_status oc_run_fail_owned(struct oc_store *st, const char *run_id, const char *owner,
                              const char *why, json_t *extra, int64_t now,
                              struct orch_error *err);
/* A named lease of the store (the singleton leader's, "orchd.leader"):
 * taken when free or expired, renewed when owner holds it; CONFLICT when
 * another owner holds it unexpired, its name in *holder (malloc'd) when
 * holder is given. ttl_ms 0 releases it. A store without named leases:
 * ORCH_E_UNSUPPORTED. */
orch_status oc_named_lease(struct oc_store *st, const char *name, const char *owner,
                           int64_t ttl_ms, int64_t now, char **holder, struct orch_error *err);
/* A parked run whose approval deadline passed goes back to the queue
 * (where the timeout policy applies) and its deadline flag is cleared.
 * ORCH_OK when this call re-queued it. */
orch_status oc_run_deadline_passed(struct oc_store *st, const char *run_id, int64_t now,
                                   struct orch_error *err);

/* "no workflow 'x' (did you mean 'y'?)" */
orch_status oc_workflow_missing(const struct oc_config *cfg, const char *name,
                                struct orch_error *err);

#endif
