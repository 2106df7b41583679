/* ABI 1.1 host slots for text in host memory: strdup_printf, json_quote and
 * output_set_len. Kept apart from host.c's table so each stays one concern;
 * everything here allocates through the host allocator (its accounting and
 * torture failures apply). */
#define _GNU_SOURCE
#include "host_text.h"

#include "host_slots.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

char *oc_h_vstrdup_printf(const char *fmt, va_list ap)
{
    if (!fmt)
        return NULL;
    char *tmp = NULL;
    if (vasprintf(&tmp, fmt, ap) < 0)
        return NULL;
    char *out = oc_h_strdup(tmp);
    free(tmp);
    return out;
}

char *oc_h_strdup_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *out = oc_h_vstrdup_printf(fmt, ap);
    va_end(ap);
    return out;
}

char *oc_h_json_quote(const char *s, uint64_t len)
{
    if (!s && len)
        return NULL;
    /* jansson refuses invalid UTF-8 here, which is the contract. */
    json_t *str = json_stringn(s ? s : "", (size_t)len);
    if (!str)
        return NULL;
    char *text = json_dumps(str, JSON_ENCODE_ANY | JSON_COMPACT);
    json_decref(str);
    char *out = text ? oc_h_strdup(text) : NULL;
    free(text);
    return out;
}

orch_status oc_h_output_set_len(struct orch_ctx *ctx, const char *key, const char *value,
                                uint64_t len)
{
    if (!key || (!value && len) || len > SIZE_MAX - 1)
        return ORCH_E_INVALID_ARG;
    if (len && memchr(value, '\0', (size_t)len))
        return ORCH_E_INVALID_ARG;
    json_t *check = json_stringn(value ? value : "", (size_t)len);
    if (!check)
        return ORCH_E_INVALID_ARG;
    json_decref(check);
    char *copy = oc_h_alloc(len + 1);
    if (!copy)
        return ORCH_E_NOMEM;
    if (len)
        memcpy(copy, value, (size_t)len);
    copy[len] = '\0';
    orch_status rc = oc_h_output_set(ctx, key, copy);
    oc_h_free(copy);
    return rc;
}
