/* The plugin kit (orch/kit.h): linked into each plugin, see there. */
#define _GNU_SOURCE
#include <orch/kit.h>

#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *pk_printf(const struct orch_host *h, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *tmp = NULL;
    int n = vasprintf(&tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return NULL;
    char *out = h->strdup(tmp);
    free(tmp);
    return out;
}

char *pk_shquote(const struct orch_host *h, const char *s)
{
    size_t n = 3;
    for (const char *p = s; *p; p++)
        n += *p == '\'' ? 4 : 1;
    char *out = h->alloc(n), *o = out;
    if (!out)
        return NULL;
    *o++ = '\'';
    for (const char *p = s; *p; p++) {
        if (*p == '\'') {
            memcpy(o, "'\\''", 4);
            o += 4;
        } else {
            *o++ = *p;
        }
    }
    *o++ = '\'';
    *o = 0;
    return out;
}

int pk_add_mem(struct pk_buf *b, const void *p, size_t n)
{
    if (b->failed)
        return -1;
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        char *np = b->h->realloc(b->p, nc);
        if (!np) {
            b->failed = 1;
            return -1;
        }
        b->p = np;
        b->cap = nc;
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = 0;
    return 0;
}

void pk_add(struct pk_buf *b, const char *s)
{
    if (!s) {
        b->failed = 1;
        return;
    }
    pk_add_mem(b, s, strlen(s));
}

void pk_buf_free(struct pk_buf *b)
{
    b->h->free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

int64_t pk_deadline(const struct orch_host *h, struct orch_ctx *ctx, int64_t start_ns,
                    int64_t timeout_ms)
{
    int64_t deadline = timeout_ms > 0 ? start_ns + timeout_ms * 1000000 : 0;
    int64_t ctx_deadline = ctx ? h->deadline_ns(ctx) : 0;
    if (ctx_deadline && (!deadline || ctx_deadline < deadline))
        deadline = ctx_deadline;
    return deadline;
}

void pk_add_word(struct pk_buf *b, const char *s)
{
    char *q = s ? pk_shquote(b->h, s) : NULL;
    pk_add(b, " ");
    pk_add(b, q);
    b->h->free(q);
}

char *pk_buf_take(struct pk_buf *b)
{
    if (b->failed) {
        b->h->free(b->p);
        b->p = NULL;
    }
    char *p = b->p;
    b->p = NULL;
    b->len = b->cap = 0;
    return p;
}

void pk_add_env(struct pk_buf *b, const struct orch_kv *env, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        char *kv = pk_printf(b->h, "%s=%s", env[i].key, env[i].value ? env[i].value : "");
        pk_add_word(b, kv); /* NULL marks the failure */
        b->h->free(kv);
    }
}

char *pk_group_kill(const struct orch_host *h, const char *qpidfile, int64_t grace_ms)
{
    return pk_printf(h,
                     "p=$(cat %s 2>/dev/null); case \"$p\" in ''|*[!0-9]*|0|1) ;; *) kill -TERM "
                     "-$p 2>/dev/null; i=0; while [ $i -lt %lld ] && kill -0 -$p 2>/dev/null; "
                     "do sleep 0.1; i=$((i+1)); done; kill -KILL -$p 2>/dev/null;; esac",
                     qpidfile, (long long)(grace_ms / 100));
}

char *pk_env_exports(const struct orch_host *h, const struct orch_kv *env, uint32_t n)
{
    struct pk_buf b = {.h = h};
    pk_add(&b, "");
    for (uint32_t i = 0; i < n; i++) {
        char *kv = pk_printf(h, "%s=%s", env[i].key, env[i].value ? env[i].value : "");
        pk_add(&b, "export");
        pk_add_word(&b, kv);
        pk_add(&b, "\n");
        if (kv)
            h->free(kv);
    }
    return pk_buf_take(&b);
}

int pk_pause(const struct orch_host *h, struct orch_ctx *ctx, int64_t ms, int64_t deadline_ns)
{
    int64_t end = h->now_mono_ns() + ms * 1000000;
    int fd = ctx ? h->cancel_fd(ctx) : -1;
    for (;;) {
        int64_t now = h->now_mono_ns();
        if (ctx && h->is_cancelled(ctx))
            return 1;
        if (deadline_ns && now > deadline_ns)
            return 1;
        if (now >= end)
            return 0;
        /* Slices of at most 100 ms: the flag is checked even when the host
         * gives no fd. */
        int64_t left = (end - now) / 1000000 + 1;
        if (deadline_ns && (deadline_ns - now) / 1000000 + 1 < left)
            left = (deadline_ns - now) / 1000000 + 1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        poll(&p, fd >= 0 ? 1 : 0, (int)(left < 100 ? left : 100));
    }
}

int pk_blob_key_ok(const char *key)
{
    if (!key || !*key || key[0] == '/')
        return 0;
    for (const char *p = key; *p; p++)
        if (p[0] == '.' && p[1] == '.' && (p == key || p[-1] == '/') &&
            (p[2] == '/' || p[2] == 0))
            return 0;
    return 1;
}
