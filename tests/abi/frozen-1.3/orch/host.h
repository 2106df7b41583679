/* The host-services table: everything a plugin needs from orch, passed to
 * the entry function. It has static lifetime, is append-only, and every
 * function in it is thread-safe. A plugin probes slots newer than 1.0 with
 * ORCH_HAS(struct orch_host, host, slot). */
#ifndef ORCH_HOST_H
#define ORCH_HOST_H

#include "abi.h"
#include "status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque, one per call into a plugin (a step attempt, a backend or store
 * operation). Carries the log prefix, cancel flag, deadline, secrets and
 * the step's bound instance. borrowed: valid for the call it is passed to. */
struct orch_ctx;

#define ORCH_LOG_ERROR 1u
#define ORCH_LOG_WARN 2u
#define ORCH_LOG_INFO 3u
#define ORCH_LOG_DEBUG 4u

#define ORCH_STREAM_STDOUT 1u
#define ORCH_STREAM_STDERR 2u

/* Pull data: return bytes written to buf (> 0), 0 at end, < 0 on error. */
typedef int64_t (*orch_read_fn)(void *ud, void *buf, uint64_t len);
/* Push data: return 0 to go on, non-zero to abort the transfer. */
typedef int32_t (*orch_write_fn)(void *ud, const void *buf, uint64_t len);

/* Streamed command output; data is borrowed for the call. */
typedef void (*orch_output_fn)(void *ud, uint32_t stream, const char *data,
                               uint64_t len);

struct orch_kv {
    const char *key;
    const char *value;
};

/* A command to run. All pointers borrowed. */
struct orch_exec_req {
    uint32_t struct_size;
    uint32_t argc;
    const char *const *argv;     /* argv[0] is looked up in PATH */
    const struct orch_kv *env;   /* added to (and overriding) the instance's env */
    uint32_t env_count;
    uint32_t flags;              /* ORCH_EXEC_* */
    const char *cwd;             /* relative to the instance work dir; NULL = it */
    int64_t timeout_ms;          /* 0 = none (the ctx deadline still applies) */
    const void *stdin_data;      /* NULL = empty stdin */
    uint64_t stdin_len;
    orch_output_fn on_output;    /* NULL = output goes to the step log */
    void *ud;
};

#define ORCH_EXEC_SHELL (1u << 0) /* argv[0] is a script for /bin/sh -c */

struct orch_exec_res {
    uint32_t struct_size;
    int32_t exit_code;           /* -1 when killed by a signal */
    int32_t term_signal;         /* 0 unless killed by a signal */
    int64_t duration_ns;
};

#define ORCH_FT_FILE 1u
#define ORCH_FT_DIR 2u
#define ORCH_FT_LINK 3u
#define ORCH_FT_OTHER 4u

struct orch_dirent {
    uint32_t struct_size;
    uint32_t type;               /* ORCH_FT_* */
    const char *name;            /* borrowed */
    uint32_t mode;               /* permission bits */
    uint64_t size;
    int64_t mtime_ns;
};
/* Return 0 to go on, non-zero to stop listing. */
typedef int32_t (*orch_dirent_fn)(void *ud, const struct orch_dirent *e);

struct orch_host {
    uint32_t struct_size;
    uint16_t abi_major, abi_minor;

    /* ---- since 1.0: logging. Lines get a "[kind:name:instance]" prefix and
     * secrets are redacted by the host. ctx may be NULL (plugin-global). */
    void (*log)(struct orch_ctx *ctx, uint32_t level, const char *fmt, ...)
        ORCH_PRINTF(3, 4);
    /* Raw command output for the step log (stdout/stderr kept apart). */
    void (*log_stream)(struct orch_ctx *ctx, uint32_t stream, const char *data,
                       uint64_t len);

    /* ---- since 1.0: memory. Everything crossing plugin -> core uses these. */
    void *(*alloc)(uint64_t size);
    void *(*calloc)(uint64_t n, uint64_t size);
    void *(*realloc)(void *p, uint64_t size);
    void (*free)(void *p);
    char *(*strdup)(const char *s);

    /* ---- since 1.0: errors. Sets code and a host-allocated message; an
     * earlier message in err is freed. Returns code for `return
     * host->error_set(...)`. */
    orch_status (*error_set)(struct orch_error *err, orch_status code,
                             const char *fmt, ...) ORCH_PRINTF(3, 4);
    const char *(*strerror)(orch_status code); /* static */

    /* ---- since 1.0: secrets. *buf is a host buffer, NUL-terminated, that
     * must be handed back to secret_release, which zeroes it. NOT_FOUND when
     * the secret is not available to this ctx. */
    orch_status (*secret_get)(struct orch_ctx *ctx, const char *name,
                              char **buf, uint64_t *len, struct orch_error *err);
    void (*secret_release)(char *buf, uint64_t len);

    /* ---- since 1.0: cancellation and time. cancel_fd becomes readable when
     * the call is cancelled (poll it; never read or close it). deadline_ns is
     * on the monotonic clock, 0 = none. The core kills the executor of a
     * plugin that ignores both. */
    int32_t (*is_cancelled)(struct orch_ctx *ctx);
    int32_t (*cancel_fd)(struct orch_ctx *ctx);
    int64_t (*deadline_ns)(struct orch_ctx *ctx);
    int64_t (*now_mono_ns)(void);
    int64_t (*now_real_ns)(void);

    /* ---- since 1.0: step outputs and events. Values are copied. emit:
     * type is a name ([a-z][a-z0-9_.]*, at most 64 bytes), recorded as
     * "plugin.TYPE"; json is NULL or a JSON object. Anything else is
     * INVALID_ARG and nothing is recorded. */
    orch_status (*output_set)(struct orch_ctx *ctx, const char *key,
                              const char *value);
    orch_status (*emit)(struct orch_ctx *ctx, const char *type,
                        const char *json);

    /* ---- since 1.0: the run's artifacts (names are relative, no "..").
     * The core stores them in the configured artifact store. */
    orch_status (*artifact_put)(struct orch_ctx *ctx, const char *name,
                                orch_read_fn rd, void *ud,
                                struct orch_error *err);
    orch_status (*artifact_get)(struct orch_ctx *ctx, const char *name,
                                orch_write_fn wr, void *ud,
                                struct orch_error *err);

    /* ---- since 1.0: context. tmpdir is private to the call and removed
     * after it. ctx_get keys: "run_id", "step_id", "attempt", "workflow",
     * "instance_id", "plugin"; NULL when not applicable. static for the call.
     * Since 1.1, "host_paths": the orch host's directories a step may reach
     * (defaults.host_paths, one absolute path a line; NULL: none may be), and
     * "state_dir": orch's state directory, absolute (defaults.state_dir,
     * $ORCH_STATE_DIR or ./.orch), where a plugin that keeps local state puts
     * it by default (backend-local its work dirs, store-sqlite its database):
     * the core never names a plugin to do this for it. */
    const char *(*tmpdir)(struct orch_ctx *ctx);
    const char *(*ctx_get)(struct orch_ctx *ctx, const char *key);
    int32_t (*is_dry_run)(struct orch_ctx *ctx);

    /* ---- since 1.0: the backend instance bound to a step's ctx. Paths are
     * relative to the instance work dir unless absolute. UNSUPPORTED when the
     * backend lacks the capability or the step has no instance. */
    orch_status (*inst_exec)(struct orch_ctx *ctx,
                             const struct orch_exec_req *req,
                             struct orch_exec_res *res, struct orch_error *err);
    orch_status (*inst_put_file)(struct orch_ctx *ctx, const char *path,
                                 uint32_t mode, orch_read_fn rd, void *ud,
                                 struct orch_error *err);
    orch_status (*inst_get_file)(struct orch_ctx *ctx, const char *path,
                                 orch_write_fn wr, void *ud,
                                 struct orch_error *err);
    orch_status (*inst_list_dir)(struct orch_ctx *ctx, const char *path,
                                 orch_dirent_fn fn, void *ud,
                                 struct orch_error *err);
    /* The bound instance's work directory as its backend reports it (the
     * backend's `workdir` slot, ABI 1.1); relative paths in inst_* and a
     * NULL exec cwd mean this directory. NULL when the step has no instance
     * or the backend does not report one (a 1.0 backend). static for the
     * call. */
    const char *(*inst_workdir)(struct orch_ctx *ctx);

    /* ---- since 1.1: text in host memory (what plugins wrote three times).
     * strdup_printf: printf into a new host string. out:host; NULL when out
     * of memory or the format fails. (Not named asprintf: with clang and
     * _FORTIFY_SOURCE glibc makes asprintf a function-like macro, which
     * would rewrite `host->asprintf(...)`.) */
    char *(*strdup_printf)(const char *fmt, ...) ORCH_PRINTF(1, 2);
    /* The JSON string literal, quotes included, of the len bytes at s (which
     * may hold NUL bytes, written as \u0000). out:host; NULL when s is not
     * valid UTF-8 or out of memory. For emit()'s json and for plugins that
     * write JSON to a remote API without a JSON library. */
    char *(*json_quote)(const char *s, uint64_t len);
    /* output_set for a value that is not NUL-terminated (a buffer read from
     * a command): the len bytes at value are copied. INVALID_ARG when they
     * hold a NUL byte or are not valid UTF-8, and nothing is recorded. */
    orch_status (*output_set_len)(struct orch_ctx *ctx, const char *key,
                                  const char *value, uint64_t len);
};

#ifdef __cplusplus
}
#endif
#endif
