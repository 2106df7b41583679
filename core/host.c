#define _GNU_SOURCE
#include "host.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "host_owners.h"
#include "host_text.h"
#include "proc_env.h"
#include "util.h"

#include "errors.h"

static atomic_llong oc_live_allocs;
static atomic_llong oc_fail_countdown;
static uint32_t oc_log_level = ORCH_LOG_INFO;
static pthread_mutex_t oc_log_lock = PTHREAD_MUTEX_INITIALIZER;

void oc_ctx_init(struct orch_ctx *ctx, const char *prefix)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->prefix = prefix;
    ctx->cancel_fd = -1;
}

int64_t oc_host_live_allocs(void)
{
    return atomic_load(&oc_live_allocs);
}

void oc_host_fail_alloc_after(int64_t n)
{
    atomic_store(&oc_fail_countdown, n);
}

int64_t oc_host_fail_alloc_remaining(void)
{
    return atomic_load(&oc_fail_countdown);
}

static int oc_alloc_should_fail(void)
{
    long long c = atomic_load(&oc_fail_countdown);
    while (c > 0) {
        if (atomic_compare_exchange_weak(&oc_fail_countdown, &c, c - 1))
            return c == 1;
    }
    return 0;
}

static void *oc_h_alloc(uint64_t size)
{
    if (oc_alloc_should_fail())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p) {
        atomic_fetch_add(&oc_live_allocs, 1);
        oc_host_owners_add(p);
    }
    return p;
}

static void *oc_h_calloc(uint64_t n, uint64_t size)
{
    if (oc_alloc_should_fail())
        return NULL;
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (p) {
        atomic_fetch_add(&oc_live_allocs, 1);
        oc_host_owners_add(p);
    }
    return p;
}

static void *oc_h_realloc(void *p, uint64_t size)
{
    if (oc_alloc_should_fail())
        return NULL;
    /* Forgotten before realloc: once it returns, another thread may be
     * handed the old address. The block keeps the slot that made it. */
    struct oc_owner_kept kept;
    oc_host_owners_take(p, &kept);
    void *q = realloc(p, size ? size : 1);
    if (q && !p)
        atomic_fetch_add(&oc_live_allocs, 1);
    oc_host_owners_put(q ? q : p, &kept);
    return q;
}

static void oc_h_free(void *p)
{
    if (!p)
        return;
    atomic_fetch_sub(&oc_live_allocs, 1);
    oc_host_owners_remove(p);
    free(p);
}

static char *oc_h_strdup(const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s) + 1;
    char *p = oc_h_alloc(n);
    if (p)
        memcpy(p, s, n);
    return p;
}

static orch_status oc_h_verror_set(struct orch_error *err, orch_status code,
                                   const char *fmt, va_list ap)
{
    if (!err)
        return code;
    char *msg = NULL;
    if (fmt && vasprintf(&msg, fmt, ap) < 0)
        msg = NULL;
    oc_h_free(err->message);
    err->message = msg ? oc_h_strdup(msg) : NULL;
    free(msg);
    err->code = code;
    return code;
}

static orch_status oc_h_error_set(struct orch_error *err, orch_status code,
                                  const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orch_status rc = oc_h_verror_set(err, code, fmt, ap);
    va_end(ap);
    return rc;
}

void oc_error_init(struct orch_error *err)
{
    memset(err, 0, sizeof *err);
    err->struct_size = sizeof *err;
}

void oc_error_clear(struct orch_error *err)
{
    oc_h_free(err->message);
    err->message = NULL;
    err->code = ORCH_OK;
    err->retry_after_ms = 0;
}

orch_status oc_error_set(struct orch_error *err, orch_status code,
                         const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    orch_status rc = oc_h_verror_set(err, code, fmt, ap);
    va_end(ap);
    return rc;
}

void oc_error_wrap(struct orch_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *pre = oc_xvasprintf(fmt, ap);
    va_end(ap);
    char *msg = oc_xasprintf("%s: %s", pre, oc_error_text(err));
    free(pre);
    oc_h_free(err->message);
    err->message = oc_h_strdup(msg);
    free(msg);
}

const char *oc_error_text(const struct orch_error *err)
{
    if (err->message && *err->message)
        return err->message;
    return orch_strerror(err->code);
}

static const char *oc_level_name(uint32_t level)
{
    switch (level) {
    case ORCH_LOG_ERROR: return "error";
    case ORCH_LOG_WARN: return "warn";
    case ORCH_LOG_INFO: return "info";
    default: return "debug";
    }
}

static oc_log_sink_fn oc_log_sink;

void oc_log_set_sink(oc_log_sink_fn fn)
{
    oc_log_sink = fn;
}

static int oc_log_enabled(uint32_t level)
{
    static int env_read;
    if (!env_read) {
        const char *e = oc_env_get("ORCH_LOG_LEVEL");
        if (e) {
            if (!strcmp(e, "debug")) oc_log_level = ORCH_LOG_DEBUG;
            else if (!strcmp(e, "warn")) oc_log_level = ORCH_LOG_WARN;
            else if (!strcmp(e, "error")) oc_log_level = ORCH_LOG_ERROR;
        }
        env_read = 1;
    }
    return level <= oc_log_level;
}

/* msg is already formatted; the level was checked. */
static void oc_log_emit(uint32_t level, const struct oc_log_fields *f, const char *msg)
{
    if (oc_log_sink) {
        oc_log_sink(level, f, msg);
        return;
    }
    const char *prefix = f->step_id ? f->step_id : f->run_id ? f->run_id : f->component;
    pthread_mutex_lock(&oc_log_lock);
    if (prefix && *prefix)
        fprintf(stderr, "orch: %s: [%s] %s\n", oc_level_name(level), prefix, msg);
    else
        fprintf(stderr, "orch: %s: %s\n", oc_level_name(level), msg);
    pthread_mutex_unlock(&oc_log_lock);
}

static void oc_log_va(uint32_t level, const struct oc_log_fields *f, const char *fmt,
                      va_list ap)
{
    if (!oc_log_enabled(level))
        return; /* a filtered line costs no formatting */
    char *msg = oc_xvasprintf(fmt, ap);
    oc_log_emit(level, f, msg);
    free(msg);
}

static void oc_log_write(uint32_t level, const char *prefix, const char *msg)
{
    struct oc_log_fields f = {.component = prefix};
    if (oc_log_enabled(level))
        oc_log_emit(level, &f, msg);
}

void oc_log_at(uint32_t level, const struct oc_log_fields *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    oc_log_va(level, f, fmt, ap);
    va_end(ap);
}

void oc_log(uint32_t level, const char *prefix, const char *fmt, ...)
{
    struct oc_log_fields f = {.component = prefix};
    va_list ap;
    va_start(ap, fmt);
    oc_log_va(level, &f, fmt, ap);
    va_end(ap);
}

static void oc_h_log(struct orch_ctx *ctx, uint32_t level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = oc_xvasprintf(fmt, ap);
    va_end(ap);
    if (ctx && ctx->ops && ctx->ops->log)
        ctx->ops->log(ctx, level, msg);
    else
        oc_log_write(level, ctx ? ctx->prefix : NULL, msg);
    free(msg);
}

static void oc_h_log_stream(struct orch_ctx *ctx, uint32_t stream,
                            const char *data, uint64_t len)
{
    if (ctx && ctx->ops && ctx->ops->log_stream) {
        ctx->ops->log_stream(ctx, stream, data, len);
        return;
    }
    FILE *f = stream == ORCH_STREAM_STDERR ? stderr : stdout;
    fwrite(data, 1, len, f);
}

static orch_status oc_h_secret_get(struct orch_ctx *ctx, const char *name,
                                   char **buf, uint64_t *len,
                                   struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->secret_get)
        return ctx->ops->secret_get(ctx, name, buf, len, err);
    return oc_h_error_set(err, ORCH_E_NOT_FOUND,
                          "secret %s is not available here", name);
}

static void oc_h_secret_release(char *buf, uint64_t len)
{
    if (!buf)
        return;
    explicit_bzero(buf, len);
    oc_h_free(buf);
}

static int32_t oc_h_is_cancelled(struct orch_ctx *ctx)
{
    return ctx && ctx->cancelled && *ctx->cancelled ? 1 : 0;
}

static int32_t oc_h_cancel_fd(struct orch_ctx *ctx)
{
    return ctx ? ctx->cancel_fd : -1;
}

static int64_t oc_h_deadline_ns(struct orch_ctx *ctx)
{
    return ctx ? ctx->deadline_ns : 0;
}

static orch_status oc_h_output_set(struct orch_ctx *ctx, const char *key,
                                   const char *value)
{
    if (ctx && ctx->ops && ctx->ops->output_set)
        return ctx->ops->output_set(ctx, key, value);
    return ORCH_E_UNSUPPORTED;
}

/* An event type is a name ([a-z][a-z0-9_.]*, at most 64 bytes): it becomes
 * "plugin.TYPE" in the ledger, which readers filter on. */
static int oc_event_type_ok(const char *t)
{
    if (!t || !(*t >= 'a' && *t <= 'z'))
        return 0;
    size_t n = 0;
    for (; t[n]; n++)
        if (!((t[n] >= 'a' && t[n] <= 'z') || (t[n] >= '0' && t[n] <= '9') || t[n] == '_' ||
              t[n] == '.') || n >= 64)
            return 0;
    return 1;
}

static orch_status oc_h_emit(struct orch_ctx *ctx, const char *type,
                             const char *json)
{
    /* Refused, not dropped or rewritten: a plugin that emits a bad event
     * learns it from the status (it was OK while the event vanished). */
    if (!oc_event_type_ok(type))
        return ORCH_E_INVALID_ARG;
    if (json) {
        json_t *j = json_loads(json, 0, NULL);
        int ok = json_is_object(j);
        json_decref(j);
        if (!ok)
            return ORCH_E_INVALID_ARG;
    }
    if (ctx && ctx->ops && ctx->ops->emit)
        return ctx->ops->emit(ctx, type, json);
    return ORCH_E_UNSUPPORTED;
}

static orch_status oc_h_unsupported(struct orch_error *err, const char *what)
{
    return oc_h_error_set(err, ORCH_E_UNSUPPORTED, "%s is not available here",
                          what);
}

static orch_status oc_h_artifact_put(struct orch_ctx *ctx, const char *name,
                                     orch_read_fn rd, void *ud,
                                     struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->artifact_put)
        return ctx->ops->artifact_put(ctx, name, rd, ud, err);
    return oc_h_unsupported(err, "artifact storage");
}

static orch_status oc_h_artifact_get(struct orch_ctx *ctx, const char *name,
                                     orch_write_fn wr, void *ud,
                                     struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->artifact_get)
        return ctx->ops->artifact_get(ctx, name, wr, ud, err);
    return oc_h_unsupported(err, "artifact storage");
}

static const char *oc_h_tmpdir(struct orch_ctx *ctx)
{
    if (ctx && ctx->tmpdir)
        return ctx->tmpdir;
    const char *t = getenv("TMPDIR");
    return t && *t ? t : "/tmp";
}

static const char *oc_h_ctx_get(struct orch_ctx *ctx, const char *key)
{
    if (!ctx || !key)
        return NULL;
    if (!strcmp(key, "run_id")) return ctx->run_id;
    if (!strcmp(key, "step_id")) return ctx->step_id;
    if (!strcmp(key, "attempt")) return ctx->attempt[0] ? ctx->attempt : NULL;
    if (!strcmp(key, "workflow")) return ctx->workflow;
    if (!strcmp(key, "instance_id")) return ctx->instance_id;
    if (!strcmp(key, "plugin")) return ctx->plugin;
    if (!strcmp(key, "host_paths")) return ctx->host_paths;
    if (!strcmp(key, "state_dir")) return ctx->state_dir;
    return NULL;
}

static int32_t oc_h_is_dry_run(struct orch_ctx *ctx)
{
    return ctx ? ctx->dry_run : 0;
}

static orch_status oc_h_inst_exec(struct orch_ctx *ctx,
                                  const struct orch_exec_req *req,
                                  struct orch_exec_res *res,
                                  struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->inst_exec)
        return ctx->ops->inst_exec(ctx, req, res, err);
    return oc_h_unsupported(err, "a backend instance");
}

static orch_status oc_h_inst_put_file(struct orch_ctx *ctx, const char *path,
                                      uint32_t mode, orch_read_fn rd, void *ud,
                                      struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->inst_put_file)
        return ctx->ops->inst_put_file(ctx, path, mode, rd, ud, err);
    return oc_h_unsupported(err, "a backend instance");
}

static orch_status oc_h_inst_get_file(struct orch_ctx *ctx, const char *path,
                                      orch_write_fn wr, void *ud,
                                      struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->inst_get_file)
        return ctx->ops->inst_get_file(ctx, path, wr, ud, err);
    return oc_h_unsupported(err, "a backend instance");
}

static orch_status oc_h_inst_list_dir(struct orch_ctx *ctx, const char *path,
                                      orch_dirent_fn fn, void *ud,
                                      struct orch_error *err)
{
    if (ctx && ctx->ops && ctx->ops->inst_list_dir)
        return ctx->ops->inst_list_dir(ctx, path, fn, ud, err);
    return oc_h_unsupported(err, "a backend instance");
}

static const char *oc_h_inst_workdir(struct orch_ctx *ctx)
{
    return ctx ? ctx->workdir : NULL;
}

static const struct orch_host oc_host_table = {
    .struct_size = sizeof(struct orch_host),
    .abi_major = ORCH_ABI_MAJOR,
    .abi_minor = ORCH_ABI_MINOR,
    .log = oc_h_log,
    .log_stream = oc_h_log_stream,
    .alloc = oc_h_alloc,
    .calloc = oc_h_calloc,
    .realloc = oc_h_realloc,
    .free = oc_h_free,
    .strdup = oc_h_strdup,
    .error_set = oc_h_error_set,
    .strerror = orch_strerror,
    .secret_get = oc_h_secret_get,
    .secret_release = oc_h_secret_release,
    .is_cancelled = oc_h_is_cancelled,
    .cancel_fd = oc_h_cancel_fd,
    .deadline_ns = oc_h_deadline_ns,
    .now_mono_ns = oc_now_mono_ns,
    .now_real_ns = oc_now_real_ns,
    .output_set = oc_h_output_set,
    .emit = oc_h_emit,
    .artifact_put = oc_h_artifact_put,
    .artifact_get = oc_h_artifact_get,
    .tmpdir = oc_h_tmpdir,
    .ctx_get = oc_h_ctx_get,
    .is_dry_run = oc_h_is_dry_run,
    .inst_exec = oc_h_inst_exec,
    .inst_put_file = oc_h_inst_put_file,
    .inst_get_file = oc_h_inst_get_file,
    .inst_list_dir = oc_h_inst_list_dir,
    .inst_workdir = oc_h_inst_workdir,
    .strdup_printf = oc_h_strdup_printf,
    .json_quote = oc_h_json_quote,
    .output_set_len = oc_h_output_set_len,
};

const struct orch_host *oc_host(void)
{
    return &oc_host_table;
}
