/* Shared artifact namespaces: artifact:ns/NS/NAME[@VERSION], written by
 * many runs. Each write of a name is a new immutable version (1, 2, 3...)
 * whose number is allocated through the state store under a named lease
 * (never by listing blobs), so two runs writing at once get two versions
 * and neither write is lost. The record of every version lives in the
 * state store's ledger, in a stream of its own per namespace (run id
 * "ns/NS", which no run id can be); the bytes in the artifacts store under
 * the key rule below. Both the executor (writes, reads in a step) and the
 * CLI and orchd (listing, download) come through this file; its names
 * and key rules are core/artifact_names.c's, pure. */
#ifndef OC_ARTIFACT_NS_H
#define OC_ARTIFACT_NS_H

#include <jansson.h>
#include <stdint.h>

#include "registry.h"
#include "store.h"

#define OC_ARTNS_NS_MAX 64           /* a namespace name's bytes at most */
/* 2^53: a version stays exact as a JSON number everywhere. */
#define OC_ARTNS_VERSION_MAX 9007199254740992ull
#define OC_ARTNS_LEASE_TTL_MS 30000  /* a version allocation's lease */
#define OC_ARTNS_LEASE_WAIT_MS 120000 /* how long a writer waits for it */

/* Ledger event types in a namespace's stream (the core writes them: a
 * plugin's emit lands as plugin.*). */
#define OC_ARTNS_EV_ALLOCATED "artifact.ns.allocated"
#define OC_ARTNS_EV_STORED "artifact.ns.stored"
#define OC_ARTNS_EV_FAILED "artifact.ns.failed"
#define OC_ARTNS_EV_PRUNED "artifact.ns.pruned"
/* In the writing run's own ledger: a write made after another run wrote a
 * version newer than the one this run read (the rule: docs/config.md). */
#define OC_ARTNS_EV_CONFLICT "artifact.conflict"

/* A namespace name: 1-64 of [a-z0-9_-], starting with a letter or digit
 * (never a path, never "." or ".."). */
int oc_artns_ns_ok(const char *ns);
/* A name within a namespace: an artifact name (oc_artifact_name_ok)
 * without '@', which only ever separates the version. */
int oc_artns_name_ok(const char *name);

/* ns/NS/NAME[@VERSION], parsed from what follows "ns/". */
struct oc_artns_ref {
    char *ns, *name;             /* malloc'd */
    uint64_t version;            /* 0: the latest stored */
};
/* 0, or -1 with *why (malloc'd) saying what is wrong. VERSION is 1 to
 * 2^53 in decimal without a leading zero. */
int oc_artns_ref_parse(const char *rest, struct oc_artns_ref *out, char **why);
void oc_artns_ref_free(struct oc_artns_ref *r);
/* A version in decimal: 1 to 2^53, no sign, no leading zero; 0 when not. */
uint64_t oc_artns_version_parse(const char *s);

/* The key of version of name in namespace ns in the artifacts store:
 * "ns/NS/NAME@VERSION" (no run's key starts with "ns/", and a name has no
 * '@', so a key is never another name's prefix). malloc'd. */
char *oc_artns_key(const char *ns, const char *name, uint64_t version);
/* The namespace's stream in the state store's ledger: "ns/NS". */
char *oc_artns_stream(const char *ns);

/* The state store as the executor, the CLI and orchd hold it. */
struct oc_artns_state {
    const struct orch_store_vtable *vt;
    struct orch_store *h;
};

/* *list: every version of ns ([{name, version, state, run, step,
 * allocated[, stored, size, sha256][, error][, pruned]}], by name then
 * version; state "writing", "stored", "failed" or "pruned"); name NULL:
 * every name. An empty list for a namespace never written. */
orch_status oc_artns_list(const struct oc_artns_state *s, const char *ns, const char *name,
                          json_t **list, struct orch_error *err);
/* The version to read from list: version (0: the latest stored). Borrowed;
 * NULL with ORCH_E_NOT_FOUND saying why (none, still writing, pruned). */
json_t *oc_artns_pick(const json_t *list, const char *ns, const char *name,
                      uint64_t version, struct orch_error *err);

/* One write about to happen. */
struct oc_artns_write {
    const char *ns, *name, *run_id, *step_id;
    uint64_t read_version;       /* the last version this run read; 0: none */
    int fail_on_conflict;        /* on_conflict: fail */
};
struct oc_artns_alloc {
    uint64_t version;            /* allocated (0 when refused) */
    json_t *conflict;            /* NULL, or the artifact.conflict event's data */
};
/* A new version for w, allocated under the lease "artifact-ns/NS/NAME"
 * and recorded (artifact.ns.allocated) before the lease goes. A conflict
 * (w->read_version set, and a version above it, and above this run's own
 * last, allocated by another run) fills out->conflict; with
 * fail_on_conflict nothing is allocated and ORCH_E_CONFLICT names the
 * other writer. ORCH_E_TIMEOUT when the lease stays held past
 * OC_ARTNS_LEASE_WAIT_MS. */
orch_status oc_artns_allocate(const struct oc_artns_state *s, const struct oc_artns_write *w,
                              struct oc_artns_alloc *out, struct orch_error *err);
/* The version's bytes are in: artifact.ns.stored with their size and
 * sha256 (hex). */
orch_status oc_artns_stored(const struct oc_artns_state *s, const char *ns, const char *name,
                            uint64_t version, uint64_t size, const char *sha256,
                            struct orch_error *err);
/* The version's write failed: artifact.ns.failed (never read). */
orch_status oc_artns_failed(const struct oc_artns_state *s, const char *ns, const char *name,
                            uint64_t version, const char *why, struct orch_error *err);
/* keep > 0: the stored versions of name beyond the newest keep, oldest
 * first, deleted from the blob store (bvt, bh) and recorded as pruned,
 * under the name's lease. *n: how many went. */
orch_status oc_artns_prune(const struct oc_artns_state *s, const struct orch_store_vtable *bvt,
                           struct orch_store *bh, const char *ns, const char *name,
                           uint64_t keep, const char *owner, uint64_t *n,
                           struct orch_error *err);

/* For the CLI and orchd: version (0: latest) of ns/name, opened for a
 * checked read (core/run_artifacts.h's reader) from the blob store cfg
 * names (its artifacts:, else st when it holds blobs). */
struct oc_run_artifact;
orch_status oc_artns_open(struct oc_registry *reg, struct oc_store *st,
                          const struct oc_config *cfg, const char *ns, const char *name,
                          uint64_t version, struct oc_run_artifact **out,
                          struct orch_error *err);

#endif
