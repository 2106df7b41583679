/* Private to core/host*.c and core/log.c: the functions behind the slots of
 * the orch_host table (host.c), one group per file. Their contracts are the
 * slots' own, in sdk/include/orch/host.h. Not a public header: the core and
 * tools reach these through oc_host() or host.h. */
#ifndef OC_HOST_SLOTS_H
#define OC_HOST_SLOTS_H

#include <orch/orch.h>

/* host_alloc.c */
void *oc_h_alloc(uint64_t size);
void *oc_h_calloc(uint64_t n, uint64_t size);
void *oc_h_realloc(void *p, uint64_t size);
void oc_h_free(void *p);
char *oc_h_strdup(const char *s);

/* host_error.c */
orch_status oc_h_error_set(struct orch_error *err, orch_status code,
                           const char *fmt, ...) ORCH_PRINTF(3, 4);

/* log.c */
void oc_h_log(struct orch_ctx *ctx, uint32_t level, const char *fmt, ...)
    ORCH_PRINTF(3, 4);
void oc_h_log_stream(struct orch_ctx *ctx, uint32_t stream, const char *data,
                     uint64_t len);

/* host_ctx.c */
orch_status oc_h_secret_get(struct orch_ctx *ctx, const char *name, char **buf,
                            uint64_t *len, struct orch_error *err);
void oc_h_secret_release(char *buf, uint64_t len);
int32_t oc_h_is_cancelled(struct orch_ctx *ctx);
int32_t oc_h_cancel_fd(struct orch_ctx *ctx);
int64_t oc_h_deadline_ns(struct orch_ctx *ctx);
orch_status oc_h_output_set(struct orch_ctx *ctx, const char *key, const char *value);
orch_status oc_h_emit(struct orch_ctx *ctx, const char *type, const char *json);
orch_status oc_h_artifact_put(struct orch_ctx *ctx, const char *name, orch_read_fn rd,
                              void *ud, struct orch_error *err);
orch_status oc_h_artifact_get(struct orch_ctx *ctx, const char *name, orch_write_fn wr,
                              void *ud, struct orch_error *err);
const char *oc_h_tmpdir(struct orch_ctx *ctx);
const char *oc_h_ctx_get(struct orch_ctx *ctx, const char *key);
int32_t oc_h_is_dry_run(struct orch_ctx *ctx);
orch_status oc_h_inst_exec(struct orch_ctx *ctx, const struct orch_exec_req *req,
                           struct orch_exec_res *res, struct orch_error *err);
orch_status oc_h_inst_put_file(struct orch_ctx *ctx, const char *path, uint32_t mode,
                               orch_read_fn rd, void *ud, struct orch_error *err);
orch_status oc_h_inst_get_file(struct orch_ctx *ctx, const char *path, orch_write_fn wr,
                               void *ud, struct orch_error *err);
orch_status oc_h_inst_list_dir(struct orch_ctx *ctx, const char *path, orch_dirent_fn fn,
                               void *ud, struct orch_error *err);
const char *oc_h_inst_workdir(struct orch_ctx *ctx);

#endif
