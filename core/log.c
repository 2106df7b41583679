/* The core's logger: the level from $ORCH_LOG_LEVEL, the sink a daemon may
 * install (orchd's JSON or text lines), stderr otherwise; and the host's
 * log and log_stream slots, which go to the ctx's handlers when it has them
 * (an executor forwards them over its frame channel). */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "host_slots.h"
#include "proc_env.h"
#include "util.h"

static uint32_t oc_log_level = ORCH_LOG_INFO;
static pthread_mutex_t oc_log_lock = PTHREAD_MUTEX_INITIALIZER;

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

void oc_h_log(struct orch_ctx *ctx, uint32_t level, const char *fmt, ...)
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

void oc_h_log_stream(struct orch_ctx *ctx, uint32_t stream,
                            const char *data, uint64_t len)
{
    if (ctx && ctx->ops && ctx->ops->log_stream) {
        ctx->ops->log_stream(ctx, stream, data, len);
        return;
    }
    FILE *f = stream == ORCH_STREAM_STDERR ? stderr : stdout;
    fwrite(data, 1, len, f);
}
