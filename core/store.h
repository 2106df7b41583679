/* The configured store, opened in-process (stores are trusted code; steps
 * and backends run in executors). */
#ifndef OC_STORE_H
#define OC_STORE_H

#include <orch/orch.h>

#include "config.h"
#include "ctx.h"
#include "registry.h"

struct oc_store {
    const struct oc_plugin *plugin;
    const struct orch_store_vtable *vt;
    struct orch_store *h;
    void *cfg;
    struct orch_ctx ctx;
    /* How another process opens the same store: {"id", "path", "with"}
     * as JSON text with the defaults filled in (executors use it for the
     * run's artifacts). */
    char *spec_json;
    char *state_dir;             /* absolute; ctx.state_dir points here */
};

/* Open ref (a store: block of a config, or NULL for the default sqlite
 * store in state_dir). Its schema must be current; it is brought up to date
 * when ref's migrate policy says so (the default: only a store with
 * ORCH_STORE_CAP_EMBEDDED), else ORCH_E_CONFIG says to run orch migrate. Secrets in
 * its options are resolved here. */
struct oc_store *oc_store_open(struct oc_registry *reg,
                               const struct oc_plugin_ref *ref,
                               const char *state_dir, struct orch_error *err);
/* The same without looking at the schema: for orch migrate. */
struct oc_store *oc_store_open_unchecked(struct oc_registry *reg,
                                         const struct oc_plugin_ref *ref,
                                         const char *state_dir, struct orch_error *err);
/* An artifacts: store (ref->uses set): one that holds blobs, runs or not;
 * its schema, if any, is not looked at. */
struct oc_store *oc_blob_store_open(struct oc_registry *reg, const struct oc_plugin_ref *ref,
                                    const char *state_dir, struct orch_error *err);
void oc_store_close(struct oc_store *s);

/* The state directory: dir if set, else $ORCH_STATE_DIR, else ./.orch.
 * malloc'd, absolute. */
char *oc_state_dir(const char *dir);

/* A transaction when the store has them, so a decision and the state
 * change it causes land together; end commits on ORCH_OK, else rolls back
 * and returns rc. Without transactions both are no-ops. */
orch_status oc_txn_begin(struct oc_store *st, struct orch_error *err);
orch_status oc_txn_end(struct oc_store *st, orch_status rc, struct orch_error *err);

/* Runs by state and the oldest queued run's age, for metrics and health:
 * one aggregate read through the store's run_stats (ABI 1.1) or, for a
 * store without it, by walking the run list (correct, not cheap). */
orch_status oc_store_run_stats(struct oc_store *st, struct orch_run_stats *out,
                               struct orch_error *err);

/* The tick ledger (ABI 1.2, CAP_TICKS), through the store's tick_* slots;
 * ORCH_E_UNSUPPORTED from a store without one (an ABI 1.1 store). */
int oc_store_has_ticks(const struct oc_store *st);
orch_status oc_store_tick_append(struct oc_store *st, const struct orch_tick_rec *t,
                                 struct orch_error *err);
orch_status oc_store_tick_list(struct oc_store *st, int64_t since_ns, uint32_t limit,
                               orch_tick_fn fn, void *ud, struct orch_error *err);
orch_status oc_store_tick_prune(struct oc_store *st, int64_t before_ns, uint64_t keep,
                                struct orch_error *err);

/* Run retention (ABI 1.3, CAP_RETENTION), through the store's slots;
 * ORCH_E_UNSUPPORTED from a store without it (an ABI 1.2 store: nothing
 * is deleted). reclaim is optional: *bytes 0 and OK from a store without
 * the slot (it gives space back itself). core/retention.c is their user. */
int oc_store_has_retention(const struct oc_store *st);
orch_status oc_store_run_list_ended(struct oc_store *st, uint32_t state, int64_t after_ns,
                                    const char *after_id, int64_t before_ns, uint32_t limit,
                                    orch_run_fn fn, void *ud, struct orch_error *err);
orch_status oc_store_run_delete(struct oc_store *st, const char *id, int64_t before_ns,
                                struct orch_run_purge *out, struct orch_error *err);
orch_status oc_store_reclaim(struct oc_store *st, uint64_t *bytes, struct orch_error *err);

#endif
