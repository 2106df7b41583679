/* struct orch_error for the core and the host's error_set slot: messages
 * live in host memory (host_alloc.c), so whoever receives an error, plugin
 * or core, frees it the same way. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "host.h"
#include "host_slots.h"
#include "util.h"

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

orch_status oc_h_error_set(struct orch_error *err, orch_status code,
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
