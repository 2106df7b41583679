/* A run's artifacts, read back after it ran: the list from its
 * artifact.stored events (which only the executor writes: a plugin's emit
 * lands as plugin.*), and the bytes from the store that holds them, which
 * the run's own config snapshot names. The blob key rule lives here. */
#ifndef OC_RUN_ARTIFACTS_H
#define OC_RUN_ARTIFACTS_H

#include <jansson.h>
#include <nettle/sha2.h>

#include "registry.h"
#include "store.h"

/* An artifact's sha256 as it is recorded: 64 lowercase hex digits and a
 * NUL in hex, from the hash of its bytes (c is spent). */
void oc_artifact_sha256_hex(struct sha256_ctx *c, char hex[2 * SHA256_DIGEST_SIZE + 1]);

/* A name a step may give: relative, at most 512 bytes, no control
 * characters, no empty, "." or ".." part. */
int oc_artifact_name_ok(const char *name);

/* What a step's artifact name refers to: NAME is the run's own;
 * runs/RUN/NAME is run RUN's artifact NAME, which a later run may read but
 * never write (so no run can store a name under runs/); ns/NS/NAME[@V] is
 * NAME in the shared namespace NS (core/artifact_ns.h parses *rest), so no
 * run can store a name of its own under ns/ either. */
enum oc_artifact_ref { OC_ART_OWN, OC_ART_OTHER_RUN, OC_ART_NAMESPACE, OC_ART_BAD };
/* *rest: the name within its run (points into name), or for
 * OC_ART_NAMESPACE what follows "ns/"; *run_id: malloc'd for
 * OC_ART_OTHER_RUN, else NULL. */
enum oc_artifact_ref oc_artifact_ref_parse(const char *name, char **run_id, const char **rest);

/* A writer that counts and hashes the bytes on their way to wr: what an
 * artifact read is checked (or recorded) with. */
struct oc_artifact_tee {
    orch_write_fn wr;
    void *ud;
    uint64_t n;
    struct sha256_ctx sha;
};
void oc_artifact_tee_init(struct oc_artifact_tee *t, orch_write_fn wr, void *ud);
int32_t oc_artifact_tee_write(void *ud, const void *buf, uint64_t len); /* ud: the tee */

/* The key of artifact name of run run_id in its store. malloc'd. */
char *oc_artifact_key(const char *run_id, const char *name);

/* The event retention writes when it removed the blobs of a run's
 * artifacts (data: {names, bytes, by}); every artifact stored before it
 * is then listed with "expired" (its time) and reads as NOT_FOUND saying
 * it expired. Only the core writes it: a plugin's emit lands as plugin.*. */
#define OC_ARTIFACT_EXPIRED "artifact.expired"

/* *list: [{name, step, size, sha256, stored[, expired]}] by name, the last
 * store of a name winning (a re-run writes it again). ORCH_E_NOT_FOUND for
 * no run. */
orch_status oc_run_artifacts_list(struct oc_store *st, const char *run_id, json_t **list,
                                  struct orch_error *err);
/* The entry of list named name, or NULL (borrowed). */
json_t *oc_run_artifact_entry(const json_t *list, const char *name);

/* One artifact found for reading: its ledger entry and the store that
 * holds its bytes. Open and stream are apart so a server can let go of a
 * shared store connection while the bytes come from another store. */
struct oc_run_artifact;
/* ORCH_E_NOT_FOUND for no run or a name the ledger does not hold (a name is
 * never made into a key otherwise). */
orch_status oc_run_artifact_open(struct oc_registry *reg, struct oc_store *st,
                                 const char *run_id, const char *name,
                                 struct oc_run_artifact **out, struct orch_error *err);
/* {name, step, size, sha256, stored}, borrowed. */
const json_t *oc_run_artifact_info(const struct oc_run_artifact *a);
/* 1 when the bytes come from the st given to open (its connection is used
 * by stream), 0 when from a store opened for this read. */
int oc_run_artifact_shares_store(const struct oc_run_artifact *a);
/* The bytes to wr, checked as oc_run_artifact_read says. Once only. */
orch_status oc_run_artifact_stream(struct oc_run_artifact *a, orch_write_fn wr, void *ud,
                                   struct orch_error *err);
void oc_run_artifact_close(struct oc_run_artifact *a); /* NULL is fine */

/* A reader of bytes the caller located (core/artifact_ns.c): entry
 * {name, size, sha256, ...}, key and what ("artifact 'x' of run R", for
 * messages) taken; st closed by close when owned. */
struct oc_run_artifact *oc_artifact_reader(json_t *entry, struct oc_store *st, int owned,
                                           char *key, char *what);
/* The one checked read: blob key of (vt, h) to wr, counted and hashed on
 * the way; ORCH_E_IO after the last byte when size or sha256 differ from
 * entry's, ORCH_E_NOT_FOUND when the blob is gone, each naming what. */
orch_status oc_artifact_blob_checked(const struct orch_store_vtable *vt, struct orch_store *h,
                                     const char *key, const json_t *entry, const char *what,
                                     orch_write_fn wr, void *ud, struct orch_error *err);
/* The store artifacts of cfg go to: its artifacts: (opened, *owned), else
 * st when it holds blobs; NULL with ORCH_E_UNSUPPORTED otherwise. */
struct oc_store *oc_artifacts_store(struct oc_registry *reg, struct oc_store *st,
                                    const struct oc_config *cfg, int *owned,
                                    struct orch_error *err);

/* Streams artifact name of run_id to wr: only a name the list holds (a
 * name is never made into a key otherwise), from the store the run's
 * snapshot names (its artifacts:, else st when st holds blobs); the bytes
 * are checked against the recorded size and sha256 as they pass, and a
 * mismatch is ORCH_E_IO after the last byte (the writer has them: a
 * caller that must not keep bad bytes writes to a temporary first). */
orch_status oc_run_artifact_read(struct oc_registry *reg, struct oc_store *st,
                                 const char *run_id, const char *name, orch_write_fn wr,
                                 void *ud, struct orch_error *err);

/* Retention's use of the key rule (core/retention.c): every blob under
 * run_id's artifact prefix in the store its snapshot names, counted (*n,
 * *bytes) and deleted unless dry_run. A run that recorded no artifact and
 * whose snapshot no longer opens a store has none: OK, 0. */
orch_status oc_run_artifacts_remove(struct oc_registry *reg, struct oc_store *st,
                                    const char *run_id, int dry_run, uint64_t *n,
                                    uint64_t *bytes, struct orch_error *err);
/* The same for a run that stays: only when the ledger lists an artifact
 * not yet expired; then (unless dry_run) an artifact.expired event at
 * now_ns. *n: the artifacts that expired (0: nothing to do). */
orch_status oc_run_artifacts_expire(struct oc_registry *reg, struct oc_store *st,
                                    const char *run_id, int dry_run, int64_t now_ns,
                                    uint64_t *n, uint64_t *bytes, struct orch_error *err);

#endif
