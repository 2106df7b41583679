/* backend-docker internals: a client of the Docker Engine API over libcurl
 * (unix socket, or tcp with optional TLS). An instance is one container
 * kept alive by a shell loop; commands run in it through the exec API. */
#ifndef DOCKER_H
#define DOCKER_H

#include <stddef.h>
#include <curl/curl.h>
#include <jansson.h>
#include <orch/kit.h>
#include <orch/kit_http.h>
#include <orch/orch.h>

extern const struct orch_host *dk_host;

/* Oldest engine API this backend speaks: exec WorkingDir arrived in 1.35. */
#define DK_API_MIN_MAJOR 1
#define DK_API_MIN_MINOR 35
/* Newest it asks for; a newer engine is spoken to at this version. */
#define DK_API_MAX "1.43"

struct dk_cfg {
    const char *socket;
    const char *host;
    const char *tls_ca, *tls_cert, *tls_key;
    const char *image;
    const char *pull;
    double cpus;
    int64_t memory;
    struct orch_strmap env;
    struct orch_strlist binds;
    const char *network;
    const char *workdir;
    const char *user;
    struct orch_strmap labels;
    int32_t remove_volumes;
    int64_t stop_grace_ms;
    int64_t kill_grace_ms;
    int64_t api_timeout_ms;
};

struct orch_backend {
    const struct dk_cfg *cfg;
    char *base_url;  /* "http://docker" for the socket, else the host URL */
    char api[16];    /* negotiated, e.g. "1.41" */
};

struct orch_instance {
    struct orch_backend *be;
    char *id;        /* the container id */
    char *name;      /* the container name, for messages */
};

/* ---- http.c: one request to the engine. */

struct dk_req {
    const char *method;
    const char *path;             /* after the version prefix, with the query */
    int unversioned;              /* for /version and /_ping */
    const char *content_type;
    const void *body;             /* a small body, sent as is */
    size_t body_len;
    /* A streamed body (upload_size -1 = chunked). */
    size_t (*read_cb)(char *buf, size_t size, size_t n, void *ud);
    void *read_ud;
    int64_t upload_size;
    /* A streamed response; NULL collects it in dk_resp.body. Returning
     * less than asked aborts the transfer with abort_status. */
    size_t (*write_cb)(char *buf, size_t size, size_t n, void *ud);
    void *write_ud;
    orch_status abort_status;
    /* Non-zero once write_cb stopped the transfer because it had all it
     * wanted: that early end is a success. */
    const int *stopped_early;
    struct orch_ctx *ctx;         /* cancel and deadline; NULL = none */
    int ignore_cancel;            /* clean-up that must run after a cancel */
    int64_t timeout_ms;           /* 0 = the backend's api_timeout */
};

struct dk_resp {
    long code;
    struct pk_http_resp http;     /* the kit's answer: its body (http.body) is
                                   * collected when no write_cb took it */
    char *path_stat;              /* X-Docker-Container-Path-Stat, host mem */
};
void dk_resp_free(struct dk_resp *rs);

/* Transport errors become orch errors here (daemon down, permission on the
 * socket, timeout, cancel). Any HTTP status is ORCH_OK: callers judge it. */
orch_status dk_http(struct orch_backend *be, const struct dk_req *rq, struct dk_resp *rs,
                    struct orch_error *err);
/* A JSON request with a JSON (or empty) answer. *out may be NULL. */
orch_status dk_call(struct orch_backend *be, struct orch_ctx *ctx, const char *method,
                    const char *path, json_t *body, long *code, json_t **out,
                    struct orch_error *err);
/* GET of a path with one engine object name in it (fmt has one %s, the
 * name is URL-escaped), answered with JSON. */
orch_status dk_get_named(struct orch_backend *be, struct orch_ctx *ctx, const char *fmt,
                         const char *name, long *code, json_t **out, struct orch_error *err);
/* The engine's {"message": ...} as an orch error for a non-2xx answer:
 * "<what>: <engine message> (HTTP code)". */
orch_status dk_engine_error(struct orch_error *err, long code, json_t *body,
                            const char *fmt, ...) ORCH_PRINTF(4, 5);
#define dk_printf(...) pk_printf(dk_host, __VA_ARGS__)
char *dk_escape(const char *s); /* URL-escaped, host memory */

/* ---- image.c */
orch_status dk_ensure_image(struct orch_backend *be, struct orch_ctx *ctx, const char *image,
                            struct orch_error *err);

/* ---- container.c */
orch_status dk_create(struct orch_backend *be, struct orch_ctx *ctx,
                      const struct orch_instance_spec *spec, struct orch_instance **out,
                      struct orch_instance_ref *ref, struct orch_error *err);
orch_status dk_attach(struct orch_backend *be, struct orch_ctx *ctx, const char *id,
                      const char *handle, struct orch_instance **out, struct orch_error *err);
orch_status dk_status(struct orch_instance *in, struct orch_ctx *ctx,
                      struct orch_instance_status *out, struct orch_error *err);
orch_status dk_stop(struct orch_instance *in, struct orch_ctx *ctx, int64_t grace_ms,
                    struct orch_error *err);
orch_status dk_destroy(struct orch_instance *in, struct orch_ctx *ctx, struct orch_error *err);
void dk_release(struct orch_instance *in);
/* 1 running, 0 stopped or gone, -1 unknown. */
int dk_running(struct orch_instance *in);
orch_status dk_list_owned(struct orch_backend *be, struct orch_ctx *ctx,
                          const struct orch_kv *match, uint32_t match_count, orch_owned_fn fn,
                          void *ud, struct orch_error *err);

/* ---- exec.c */
orch_status dk_exec(struct orch_instance *in, struct orch_ctx *ctx,
                    const struct orch_exec_req *req, struct orch_exec_res *res,
                    struct orch_error *err);
/* Runs a short shell script in the container, output collected (stdout
 * and stderr together, at most 64 KiB); for the plugin's own chores. */
orch_status dk_sh(struct orch_instance *in, struct orch_ctx *ctx, int ignore_cancel,
                  const char *script, int *exit_code, struct pk_buf *out,
                  struct orch_error *err);

/* The same with its own timeout (a reap's kill outlasts api_timeout). */
orch_status dk_sh_for(struct orch_instance *in, struct orch_ctx *ctx, const char *script,
                      int64_t timeout_ms, int *exit_code, struct pk_buf *out,
                      struct orch_error *err);

/* ---- reap.c: the commands an interrupted exec left (reap_commands). Each
 * command's record is DK_REC_DIR/OWNER.TOKEN (orch/kit_reap.h), outside
 * the work dir so that the command's own clean-up does not remove it. */
#define DK_REC_DIR "/tmp/.orch-exec"
orch_status dk_reap(struct orch_instance *in, struct orch_ctx *ctx, struct orch_error *err);

/* ---- paths.c */
/* path relative to the configured workdir unless absolute; "" when it
 * names a file outside any directory. Host memory. */
char *dk_abs_path(const struct orch_instance *in, const char *path);

/* ---- upload.c */
/* Makes directory dir (and its parents) in the instance. */
typedef orch_status (*dk_mkdir_fn)(struct orch_instance *in, struct orch_ctx *ctx,
                                   const char *dir, struct orch_error *err);
/* put_file's upload: path's parent must exist unless mkdir_p (may be
 * NULL) makes it when the engine says 404. */
orch_status dk_put_path(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        uint32_t mode, orch_read_fn rd, void *ud, dk_mkdir_fn mkdir_p,
                        struct orch_error *err);

/* ---- files.c */
orch_status dk_put_file(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        uint32_t mode, orch_read_fn rd, void *ud, struct orch_error *err);
orch_status dk_get_file(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        orch_write_fn wr, void *ud, struct orch_error *err);
orch_status dk_list_dir(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        orch_dirent_fn fn, void *ud, struct orch_error *err);

#endif
