/* backend-fly-machines internals: Fly Machines through the Machines REST
 * API (libcurl + jansson). An instance is a machine of the configured app;
 * commands go through the exec endpoint, files through exec too. */
#ifndef BACKEND_FLY_MACHINES_H
#define BACKEND_FLY_MACHINES_H

#include <curl/curl.h>
#include <jansson.h>
#include <orch/orch.h>

#include <orch/kit.h>
#include <orch/kit_http.h>

extern const struct orch_host *fl_host;

struct fl_cfg {
    const char *api_url;
    const char *token;
    const char *app;
    int32_t create_app;
    const char *org;
    const char *region;
    const char *image;
    const char *cpu_kind;
    int64_t cpus;
    int64_t memory_mb;
    struct orch_strmap env;
    struct orch_strlist init_cmd;
    const char *restart_policy;
    int32_t auto_destroy;
    const char *volume;
    int64_t volume_size_gb;
    int32_t volume_encrypted;
    const char *volume_path;
    struct orch_strmap metadata;
    int32_t use_leases;
    int64_t lease_ttl_ms;
    const char *workdir;
    int64_t api_timeout_ms;
    int64_t create_timeout_ms;
    int64_t retries;
    int64_t rate_limit_wait_ms;
    int64_t kill_grace_ms;
};

struct orch_backend {
    const struct fl_cfg *cfg;    /* owned by the core until close */
    char *base;                  /* API URL without a trailing slash */
    char *auth;                  /* "Authorization: Bearer ..." */
    int64_t memory_mb;           /* memory_mb, or the preset for cpu_kind and cpus */
    struct pk_http http;         /* one client: connections are reused */
    int64_t deadline_ns;         /* of the request under way (a command's timeout), 0 = none */
};

struct orch_instance {
    struct orch_backend *be;
    char *id;                    /* the machine id */
};

/* One API answer. */
struct fl_resp {
    long status;
    json_t *json;                /* NULL when the body is not JSON */
    char request_id[80];
    long retry_after;            /* seconds, 0 = none given */
};
void fl_resp_free(struct fl_resp *r);

#define FL_IDEMPOTENT 1          /* may be sent again after a 5xx or a reset */

/* A request to PATH (printf-style, after /v1) with body (taken, may be
 * NULL). 429 is waited out (Retry-After, jittered) and sent again for up
 * to rate_limit_wait in all; with FL_IDEMPOTENT, 5xx and connection
 * failures too, with jittered backoff, `retries` times; never past the
 * ctx deadline. ORCH_OK with r->status set whenever an
 * answer came; non-OK when none did (network, cancel). ctx NULL: no
 * cancel or deadline applies (clean-up after a cancel). */
orch_status fl_call(struct orch_backend *be, struct orch_ctx *ctx, const char *method,
                    json_t *body, int flags, const char *nonce, struct fl_resp *r,
                    struct orch_error *err, const char *path_fmt, ...) ORCH_PRINTF(9, 10);
/* The jittered pause before the n-th (from 0) retry a caller makes itself
 * (a check-then-retry); non-zero when cancelled or past the deadline. */
int fl_retry_pause(struct orch_ctx *ctx, int n);
/* The answer as an orch error: HTTP status, Fly's message, the request id. */
orch_status fl_fail(const struct fl_resp *r, const char *what, struct orch_error *err);

/* base64 (standard, padded): host memory, NUL-terminated. */
char *fl_b64(const void *data, size_t len);
/* Decode text (whitespace ignored) into host memory; -1 on bad input
 * (padding in the middle, bits left over). Both through Nettle. */
int fl_unb64(const char *text, char **out, size_t *len);
#define fl_printf(...) pk_printf(fl_host, __VA_ARGS__)
#define fl_quote(s) pk_shquote(fl_host, (s))

/* machine.c */
orch_status fl_create(struct orch_backend *, struct orch_ctx *, const struct orch_instance_spec *,
                      struct orch_instance **, struct orch_instance_ref *, struct orch_error *);
orch_status fl_attach(struct orch_backend *, struct orch_ctx *, const char *, const char *,
                      struct orch_instance **, struct orch_error *);
orch_status fl_destroy(struct orch_instance *, struct orch_ctx *, struct orch_error *);
orch_status fl_status(struct orch_instance *, struct orch_ctx *, struct orch_instance_status *,
                      struct orch_error *);
orch_status fl_stop(struct orch_instance *, struct orch_ctx *, int64_t, struct orch_error *);
orch_status fl_list_owned(struct orch_backend *, struct orch_ctx *, const struct orch_kv *,
                          uint32_t, orch_owned_fn, void *, struct orch_error *);
void fl_release(struct orch_instance *);

/* exec.c: a shell script on the machine to its end; stdout and exit
 * status of the script itself (the plumbing's, not a step's). */
orch_status fl_sh(struct orch_instance *in, struct orch_ctx *ctx, const char *script,
                  int64_t timeout_s, char **out, int *status, struct orch_error *err);
/* The same for a script that may run twice (mkdir -p, reads): a 5xx or a
 * reset is retried, since the first may have run or not. */
orch_status fl_sh_idem(struct orch_instance *in, struct orch_ctx *ctx, const char *script,
                       int64_t timeout_s, char **out, int *status, struct orch_error *err);
orch_status fl_exec(struct orch_instance *, struct orch_ctx *, const struct orch_exec_req *,
                    struct orch_exec_res *, struct orch_error *);
orch_status fl_put_file(struct orch_instance *, struct orch_ctx *, const char *, uint32_t,
                        orch_read_fn, void *, struct orch_error *);
orch_status fl_get_file(struct orch_instance *, struct orch_ctx *, const char *,
                        orch_write_fn, void *, struct orch_error *);
orch_status fl_list_dir(struct orch_instance *, struct orch_ctx *, const char *,
                        orch_dirent_fn, void *, struct orch_error *);

/* Each command's scratch dir on the machine: FL_XDIR_PREFIX OWNER-HEX,
 * OWNER the calling process (orch/kit_reap.h). */
#define FL_XDIR_PREFIX "/tmp/orch-x-"
/* reap.c: reap_commands. */
orch_status fl_reap(struct orch_instance *, struct orch_ctx *, struct orch_error *);

#endif
