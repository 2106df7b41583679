/* Concurrency groups across runs (docs/config.md, "Concurrency groups"):
 * the runs whose workflows render the same concurrency_group key share
 * `limit` slots, whichever process drives them (CLIs and daemons on one
 * store). The one owner of the rule and of the group's records:
 *
 * - A run in a group has a control flag OC_FLAG_CGROUP "<K>/<run id>",
 *   K the sha256 of the key in hex (so any key, `/`, `..`, control
 *   characters or 10 KB of it, names one flag of fixed shape), value
 *   "held" (it has a slot) or "wait" (it waits, and its place in line is
 *   its run's creation time).
 * - Admission is serialized per group by the named lease "cgroup/<K>":
 *   under it the flags are read, each member's run judged (a member whose
 *   run is terminal, missing, or running with nobody's lease on it is
 *   stale and its flag is cleared), and the rule decides.
 * - The slot goes when the run's terminal state is written, or when the
 *   next admission finds it stale: a crash never holds a group for ever.
 *
 * concurrency_key.c renders and names the key (pure; runctl.c checks it
 * before a run is stored); concurrency.c admits and releases, writing
 * through core/runctl.c. The engine's side is core/engine/cgroup_run.c. */
#ifndef OC_CONCURRENCY_H
#define OC_CONCURRENCY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "store.h"

#define OC_CGROUP_ID_LEN 64 /* sha256 in hex */

/* The key of wf's group for these inputs (checked, defaults filled):
 * *key malloc'd. ORCH_E_INVALID_ARG when it renders empty, naming the
 * workflow and the template. wf without a group: ORCH_OK, *key NULL. */
orch_status oc_cgroup_key(const struct oc_workflow *wf, json_t *inputs, char **key,
                          struct orch_error *err);
/* The key's name in the store: sha256 in hex, NUL-terminated. */
void oc_cgroup_key_id(const char *key, char id[OC_CGROUP_ID_LEN + 1]);
/* The key as people see it (messages, events, the CLI): control
 * characters and backslashes escaped, at most 120 bytes of it and then
 * "... (N bytes)". malloc'd. */
char *oc_cgroup_key_shown(const char *key);

/* One member of a group, as an admission sees it. */
struct oc_cg_member {
    const char *run_id;
    int64_t created_ns;
    int held;                /* its flag says "held" */
    int cancel_asked;        /* a cancel request is pending for it */
};

/* Whether a member's run still counts: found, not ended, and if running,
 * someone's lease on it unexpired (the daemon's on the row when owned,
 * else the CLI's named lease "run/<id>", lease_expires_ns 0 = none). */
int oc_cgroup_member_live(int found, uint32_t state, int owned, int64_t lease_expires_ns,
                          int64_t now_ns);

struct oc_cg_verdict {
    int admit;               /* take (or keep) a slot now */
    size_t held;             /* live holders other than the run */
    size_t ahead;            /* live waiters before the run in line */
    /* cancel_running: the members (indexes into the array given) to ask
     * to cancel: every waiter ahead, then the oldest holders, as many as
     * leave room for the run; those already asked are not listed. */
    size_t *victims;
    size_t n_victims;
};
/* The rule, over the live members other than the run itself: a run that
 * holds a slot keeps it; else it is admitted when the holders and the
 * waiters ahead of it (older by creation, then by id) leave room under
 * limit. victims is malloc'd (free it). */
void oc_cgroup_decide(const struct oc_cg_member *m, size_t n, int self_held,
                      int64_t self_created_ns, const char *self_id, uint32_t limit,
                      enum oc_cg_conflict on_conflict, struct oc_cg_verdict *v);

/* What one admission found and did. */
enum oc_cg_outcome {
    OC_CG_ADMITTED,          /* the run holds a slot */
    OC_CG_WAITING,           /* queued (or cancelling holders): try again later */
    OC_CG_BUSY,              /* another admission of the group is under way: soon */
    OC_CG_REFUSED,           /* skip: the group is full, the run must end */
};
struct oc_cg_result {
    enum oc_cg_outcome outcome;
    size_t held, ahead;
    json_t *holders;         /* run ids of the live holders, oldest first */
    json_t *cancelled;       /* run ids asked to cancel by this admission */
    int cancel_asked_self;   /* a cancel request is pending for the run */
};
void oc_cg_result_free(struct oc_cg_result *r);

/* One admission of run_id (key, limit, on_conflict its workflow's) under
 * the group's lease. A store without named leases: ORCH_E_UNSUPPORTED. */
orch_status oc_cgroup_admit(struct oc_store *st, const char *key, uint32_t limit,
                            enum oc_cg_conflict on_conflict, const char *run_id,
                            int64_t now_ns, struct oc_cg_result *res, struct orch_error *err);
/* The run's slot or place in line goes (its terminal state is written). */
orch_status oc_cgroup_release(struct oc_store *st, const char *key, const char *run_id,
                              struct orch_error *err);

#endif
