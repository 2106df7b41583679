/* The core's logger: the levels (a default and per component, from the
 * config and $ORCH_LOG_LEVEL), the sink a daemon may
 * install (orchd's JSON or text lines), stderr otherwise; and the host's
 * log and log_stream slots, which go to the ctx's handlers when it has them
 * (an executor forwards them over its frame channel). */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "host_slots.h"
#include "proc_env.h"
#include "util.h"

/* The levels: a default and per component ("scheduler", "access", a
 * plugin's id...), from the config (oc_log_configure) with $ORCH_LOG_LEVEL
 * on top. Read by every thread that logs, replaced by a reload. */
#define OC_LOG_COMPONENTS 32
struct oc_log_levels {
    uint32_t dflt;
    size_t n;
    struct {
        char name[48];
        uint32_t level;
    } c[OC_LOG_COMPONENTS];
};
static struct oc_log_levels oc_levels = {.dflt = ORCH_LOG_INFO};
static pthread_rwlock_t oc_levels_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_once_t oc_levels_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t oc_log_lock = PTHREAD_MUTEX_INITIALIZER;

static int oc_level_of(const char *s, size_t n, uint32_t *out)
{
    static const struct { const char *name; uint32_t level; } names[] = {
        {"error", ORCH_LOG_ERROR}, {"warn", ORCH_LOG_WARN}, {"info", ORCH_LOG_INFO},
        {"debug", ORCH_LOG_DEBUG}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strlen(names[i].name) == n && !strncmp(s, names[i].name, n)) {
            *out = names[i].level;
            return 0;
        }
    return -1;
}

/* The span s..s+*n without the blanks around it ("warn, access=info" is
 * what people write). */
static const char *oc_unblank(const char *s, size_t *n)
{
    while (*n && (*s == ' ' || *s == '\t')) {
        s++;
        (*n)--;
    }
    while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t'))
        (*n)--;
    return s;
}

/* A component is named as the code names it (scheduler, access, a
 * plugin's id): a name with other characters could never match a line, so
 * it is refused rather than kept and silently ignored. */
static int oc_component_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
              (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_' || s[i] == '.'))
            return 0;
    return n > 0;
}

/* "LEVEL" sets the default, "COMPONENT=LEVEL" one component; comma
 * separated, applied in order onto *l. 0, or -1 with *why (malloc'd). */
static int oc_levels_parse(const char *spec, struct oc_log_levels *l, char **why)
{
    for (const char *p = spec; *p;) {
        size_t len = strcspn(p, ",");
        const char *eq = memchr(p, '=', len);
        size_t name_len = eq ? (size_t)(eq - p) : 0;
        const char *name = oc_unblank(p, &name_len);
        size_t lv_len = eq ? len - (size_t)(eq - p) - 1 : len;
        const char *lv = oc_unblank(eq ? eq + 1 : p, &lv_len);
        uint32_t level;
        if (oc_level_of(lv, lv_len, &level) != 0) {
            *why = oc_xasprintf("'%.*s' is not a log level (error, warn, info, debug)",
                                (int)lv_len, lv);
            return -1;
        }
        if (!eq) {
            l->dflt = level;
        } else {
            if (!oc_component_ok(name, name_len) || name_len >= sizeof l->c[0].name) {
                *why = oc_xasprintf("'%.*s' is not a component name (1 to %zu of a-z, A-Z, "
                                    "0-9, '-', '_', '.')",
                                    (int)name_len, name, sizeof l->c[0].name - 1);
                return -1;
            }
            size_t i = 0;
            while (i < l->n && (strlen(l->c[i].name) != name_len ||
                                strncmp(l->c[i].name, name, name_len)))
                i++;
            if (i == OC_LOG_COMPONENTS) {
                *why = oc_xasprintf("more than %d components have a level of their own",
                                    OC_LOG_COMPONENTS);
                return -1;
            }
            if (i == l->n) {
                memcpy(l->c[i].name, name, name_len);
                l->c[i].name[name_len] = 0;
                l->n++;
            }
            l->c[i].level = level;
        }
        p += len;
        if (*p == ',' && !*++p) {
            *why = oc_xstrdup("a trailing ','");
            return -1;
        }
    }
    return 0;
}

int oc_log_spec_check(const char *spec, char **why)
{
    struct oc_log_levels l = {.dflt = ORCH_LOG_INFO};
    *why = NULL;
    return oc_levels_parse(spec, &l, why);
}

/* The config's spec (NULL: info for all), then the environment's, which
 * wins for what it names: it is how a debugging session asks for more. */
static int oc_levels_build(const char *spec, struct oc_log_levels *l, char **why)
{
    *l = (struct oc_log_levels){.dflt = ORCH_LOG_INFO};
    if (spec && oc_levels_parse(spec, l, why) != 0)
        return -1;
    const char *e = oc_env_get("ORCH_LOG_LEVEL");
    char *ignored = NULL;
    struct oc_log_levels with_env = *l;
    /* A bad variable is not the config's fault: it is ignored whole, as
     * it always was. */
    if (e && oc_levels_parse(e, &with_env, &ignored) == 0)
        *l = with_env;
    free(ignored);
    return 0;
}

static void oc_levels_from_env(void)
{
    char *why = NULL;
    struct oc_log_levels l;
    oc_levels_build(NULL, &l, &why);
    free(why);
    pthread_rwlock_wrlock(&oc_levels_lock);
    oc_levels = l;
    pthread_rwlock_unlock(&oc_levels_lock);
}

int oc_log_configure(const char *spec, char **why)
{
    struct oc_log_levels l;
    *why = NULL;
    pthread_once(&oc_levels_once, oc_levels_from_env);
    if (oc_levels_build(spec, &l, why) != 0)
        return -1;
    pthread_rwlock_wrlock(&oc_levels_lock);
    oc_levels = l;
    pthread_rwlock_unlock(&oc_levels_lock);
    return 0;
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

int oc_log_wants(uint32_t level, const char *component)
{
    pthread_once(&oc_levels_once, oc_levels_from_env);
    pthread_rwlock_rdlock(&oc_levels_lock);
    uint32_t max = oc_levels.dflt;
    for (size_t i = 0; component && i < oc_levels.n; i++)
        if (!strcmp(oc_levels.c[i].name, component)) {
            max = oc_levels.c[i].level;
            break;
        }
    pthread_rwlock_unlock(&oc_levels_lock);
    return level <= max;
}

void oc_log_stderr(uint32_t level, const struct oc_log_fields *f, const char *msg)
{
    const char *prefix = f->step_id ? f->step_id : f->run_id ? f->run_id : f->component;
    pthread_mutex_lock(&oc_log_lock);
    if (prefix && *prefix)
        fprintf(stderr, "orch: %s: [%s] %s\n", oc_level_name(level), prefix, msg);
    else
        fprintf(stderr, "orch: %s: %s\n", oc_level_name(level), msg);
    pthread_mutex_unlock(&oc_log_lock);
}

/* msg is already formatted; the level was checked. */
static void oc_log_emit(uint32_t level, const struct oc_log_fields *f, const char *msg)
{
    oc_log_sink_fn sink = oc_log_sink; /* read once: set before threads log */
    if (sink)
        sink(level, f, msg);
    else
        oc_log_stderr(level, f, msg);
}

static void oc_log_va(uint32_t level, const struct oc_log_fields *f, const char *fmt,
                      va_list ap)
{
    if (!oc_log_wants(level, f->component))
        return; /* a filtered line costs no formatting */
    char *msg = oc_xvasprintf(fmt, ap);
    oc_log_emit(level, f, msg);
    free(msg);
}

static void oc_log_write(uint32_t level, const char *prefix, const char *msg)
{
    struct oc_log_fields f = {.component = prefix};
    if (oc_log_wants(level, prefix))
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
