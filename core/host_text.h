/* The host table's text slots (ABI 1.1); see sdk/include/orch/host.h. */
#ifndef OC_HOST_TEXT_H
#define OC_HOST_TEXT_H

#include <stdarg.h>

#include "host.h"

char *oc_h_vstrdup_printf(const char *fmt, va_list ap);
char *oc_h_strdup_printf(const char *fmt, ...) ORCH_PRINTF(1, 2);
char *oc_h_json_quote(const char *s, uint64_t len);
orch_status oc_h_output_set_len(struct orch_ctx *ctx, const char *key, const char *value,
                                uint64_t len);

#endif
