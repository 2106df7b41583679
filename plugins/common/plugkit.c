/* See plugkit.h. */
#define _GNU_SOURCE
#include "plugkit.h"

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

void pk_add(struct pk_buf *b, const char *s)
{
    size_t l = s ? strlen(s) : 0;
    if (b->failed || !s) {
        b->failed = 1;
        return;
    }
    if (b->len + l + 1 > b->cap) {
        size_t nc = (b->len + l + 1) * 2;
        char *np = b->h->realloc(b->p, nc);
        if (!np) {
            b->failed = 1;
            return;
        }
        b->p = np;
        b->cap = nc;
    }
    memcpy(b->p + b->len, s, l + 1);
    b->len += l;
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
