/* Backends: where commands run. A backend handle is one configured entry of
 * `backends:`; an instance is one machine/container/directory it created
 * or attached to. */
#ifndef ORCH_BACKEND_H
#define ORCH_BACKEND_H

#include "host.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORCH_BACKEND_CAP_EXEC (1ull << 0)
#define ORCH_BACKEND_CAP_EXEC_STREAM (1ull << 1) /* output arrives as produced */
#define ORCH_BACKEND_CAP_PUT_FILE (1ull << 2)
#define ORCH_BACKEND_CAP_GET_FILE (1ull << 3)
#define ORCH_BACKEND_CAP_LIST_DIR (1ull << 4)
#define ORCH_BACKEND_CAP_ATTACH (1ull << 5)
#define ORCH_BACKEND_CAP_LIST_OWNED (1ull << 6)
#define ORCH_BACKEND_CAP_SIGNAL (1ull << 7)  /* timeout/cancel kill the process group */
#define ORCH_BACKEND_CAP_VOLUMES (1ull << 8)
#define ORCH_BACKEND_CAP_STOP (1ull << 9)
#define ORCH_BACKEND_CAP_REAP (1ull << 10) /* ABI 1.1: reap_commands */
#define ORCH_BACKEND_CAPS_ALL ((1ull << 11) - 1)

#define ORCH_INST_UNKNOWN 0u
#define ORCH_INST_CREATING 1u
#define ORCH_INST_RUNNING 2u
#define ORCH_INST_STOPPED 3u
#define ORCH_INST_DESTROYED 4u
#define ORCH_INST_FAILED 5u

struct orch_backend;  /* plugin: one per configured backend */
struct orch_instance; /* plugin: one per created/attached instance */

/* What to create. All borrowed. labels always include orch's own
 * ("orch.instance", "orch.run", "orch.owner"), which list_owned matches on. */
struct orch_instance_spec {
    uint32_t struct_size;
    uint32_t env_count;
    const char *instance_id;     /* orch's id for this instance (a label too) */
    const char *run_id;          /* NULL for instances made outside a run */
    const char *image;           /* NULL = the backend's configured default */
    const char *size;            /* backend-specific size name, NULL = default */
    const char *region;          /* NULL = default */
    const struct orch_kv *env;
    const struct orch_kv *labels;
    uint32_t label_count;
    uint32_t volume_count;
    const char *const *volumes;  /* backend-specific "source:dest[:opts]" */
    int64_t timeout_ms;          /* for create + wait-until-ready; 0 = ctx deadline */
};

/* Filled by create. id and handle are out:host. handle is opaque text the
 * backend needs to attach again from another process.
 * Contract: when create fails, the core frees whatever id and handle hold
 * (host->free) and, when *out was set, calls release on it once; so a
 * backend leaves each NULL or valid, never dangling. id and handle from
 * libc malloc are a bug the conformance suite reports on every create (the
 * host allocator knows its blocks there). */
struct orch_instance_ref {
    uint32_t struct_size;
    char *id;                    /* the backend's id (container id, machine id) */
    char *handle;                /* may be NULL */
};

struct orch_instance_status {
    uint32_t struct_size;
    uint32_t state;              /* ORCH_INST_* */
    char *detail;                /* out:host, may be NULL */
};

/* One owned instance, borrowed for the callback. */
struct orch_owned_instance {
    uint32_t struct_size;
    uint32_t state;
    const char *id;
    const char *handle;
    const struct orch_kv *labels;
    uint32_t label_count;
};
typedef int32_t (*orch_owned_fn)(void *ud, const struct orch_owned_instance *o);

#define ORCH_PROBE_UNDETECTED 0u
#define ORCH_PROBE_UNHEALTHY 1u
#define ORCH_PROBE_HEALTHY 2u

struct orch_probe {
    uint32_t struct_size;
    uint32_t health;             /* ORCH_PROBE_* */
    char *message;               /* out:host */
};

/* Mandatory slots: open, close, create, destroy, release, exec. The rest
 * must be non-NULL exactly when their capability bit is set.
 * `orch-plugin test` names a slot "backend.SLOT" when a case crashes, hangs
 * or leaks in it ("backend.exec crashed (SIGSEGV, signal 11)"; a host block
 * is blamed on the slot that allocated it). */
struct orch_backend_vtable {
    uint32_t struct_size;

    /* cfg: the parsed option struct, owned by the core, valid until close. */
    orch_status (*open)(struct orch_ctx *ctx, const void *cfg,
                        struct orch_backend **out, struct orch_error *err);
    void (*close)(struct orch_backend *be);

    /* Create and wait until the instance can run commands. */
    orch_status (*create)(struct orch_backend *be, struct orch_ctx *ctx,
                          const struct orch_instance_spec *spec,
                          struct orch_instance **out,
                          struct orch_instance_ref *ref,
                          struct orch_error *err);
    /* Reconnect by id/handle (after a restart or from another process).
     * NOT_FOUND when it no longer exists, and for an id it never made
     * (conformance backend/attach/fresh-process). CAP_ATTACH. */
    orch_status (*attach)(struct orch_backend *be, struct orch_ctx *ctx,
                          const char *id, const char *handle,
                          struct orch_instance **out, struct orch_error *err);

    /* Run a command. A non-zero exit is ORCH_OK with res->exit_code set;
     * a timeout is ORCH_E_TIMEOUT and a cancel ORCH_E_CANCELLED, both after
     * the whole process group (or its equivalent) is gone.
     * Contracts (each a conformance case, backend/...):
     *   exec/not-found     an argv[0] not found in PATH is ORCH_OK with exit
     *                      code 127 and stderr naming it (as sh does), or
     *                      ORCH_E_NOT_FOUND with a message naming it;
     *   exec/shell         with ORCH_EXEC_SHELL, argv[0] is a script for
     *                      `/bin/sh -c` (quotes, $vars, &&, ||, pipes) and
     *                      the other argv entries are ignored;
     *   exec/streams-live  with CAP_EXEC_STREAM, output reaches on_output
     *                      while the command runs, not when it ends;
     *   stop/exec-after    exec on a stopped instance (CAP_STOP) returns a
     *                      failure (status or non-zero exit), never hangs;
     *   exec/env-and-cwd   a relative cwd is relative to the work dir. */
    orch_status (*exec)(struct orch_instance *inst, struct orch_ctx *ctx,
                        const struct orch_exec_req *req,
                        struct orch_exec_res *res, struct orch_error *err);

    orch_status (*put_file)(struct orch_instance *inst, struct orch_ctx *ctx,
                            const char *path, uint32_t mode, orch_read_fn rd,
                            void *ud, struct orch_error *err);
    orch_status (*get_file)(struct orch_instance *inst, struct orch_ctx *ctx,
                            const char *path, orch_write_fn wr, void *ud,
                            struct orch_error *err);
    orch_status (*list_dir)(struct orch_instance *inst, struct orch_ctx *ctx,
                            const char *path, orch_dirent_fn fn, void *ud,
                            struct orch_error *err);

    /* The state of a destroyed instance (through a handle that outlived
     * destroy) is ORCH_INST_DESTROYED, or NOT_FOUND: never RUNNING
     * (conformance backend/lifecycle). */
    orch_status (*status)(struct orch_instance *inst, struct orch_ctx *ctx,
                          struct orch_instance_status *out,
                          struct orch_error *err);
    /* Graceful stop: signal, wait grace_ms, then kill. CAP_STOP. */
    orch_status (*stop)(struct orch_instance *inst, struct orch_ctx *ctx,
                        int64_t grace_ms, struct orch_error *err);
    /* Remove the remote resource. Destroying a gone instance is ORCH_OK.
     * Does not free the handle: release does. */
    orch_status (*destroy)(struct orch_instance *inst, struct orch_ctx *ctx,
                           struct orch_error *err);
    /* Free the handle (plugin memory) without touching the resource. */
    void (*release)(struct orch_instance *inst);

    /* Every instance this backend created that carries all the `match`
     * labels. CAP_LIST_OWNED. */
    orch_status (*list_owned)(struct orch_backend *be, struct orch_ctx *ctx,
                              const struct orch_kv *match, uint32_t match_count,
                              orch_owned_fn fn, void *ud,
                              struct orch_error *err);
    /* Optional health check for `orch doctor` and orchd start-up. */
    orch_status (*probe)(struct orch_backend *be, struct orch_ctx *ctx,
                         struct orch_probe *out, struct orch_error *err);

    /* ---- ABI 1.1 ---- */

    /* Kill every command an earlier exec started in this instance whose
     * exec call did not return (its executor, orch or orchd was killed),
     * and return only once each is confirmed gone. What identifies such a
     * command is recorded by exec before the command starts (docs/
     * executor.md, per backend). ORCH_OK when there was none. The engine
     * calls it before re-running an interrupted attempt on the instance,
     * after an executor died in exec, and before destroy. CAP_REAP. */
    orch_status (*reap_commands)(struct orch_instance *inst, struct orch_ctx *ctx,
                                 struct orch_error *err);

    /* The directory a command runs in when exec's cwd is NULL, as an
     * absolute path inside the instance: what host->inst_workdir gives the
     * step. borrowed: valid until release. NULL (or a NULL slot, as in a 1.0
     * backend) when the instance has no fixed one. Optional, no capability
     * bit (conformance backend/workdir: exec of `pwd` prints it). */
    const char *(*workdir)(struct orch_instance *inst);
};

#ifdef __cplusplus
}
#endif
#endif
