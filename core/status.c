#include <stdio.h>

#include "errors.h"

#pragma GCC diagnostic error "-Wswitch-enum"



/* Static text per code; the switch is checked with -Wswitch-enum so a new
 * code cannot be added without its text (curl lib/strerror.c). */
const char *orch_strerror(orch_status code)
{
    switch ((enum orch_status_code)code) {
    case ORCH_OK: return "ok";
    case ORCH_E_INVALID_ARG: return "invalid argument";
    case ORCH_E_CONFIG: return "configuration rejected";
    case ORCH_E_UNSUPPORTED: return "operation not supported";
    case ORCH_E_NOT_FOUND: return "not found";
    case ORCH_E_EXISTS: return "already exists";
    case ORCH_E_TIMEOUT: return "timed out";
    case ORCH_E_CANCELLED: return "cancelled";
    case ORCH_E_TRANSIENT: return "transient failure";
    case ORCH_E_RATE_LIMITED: return "rate limited";
    case ORCH_E_AUTH: return "authentication failed";
    case ORCH_E_CONFLICT: return "conflict";
    case ORCH_E_IO: return "i/o error";
    case ORCH_E_NOMEM: return "out of memory";
    case ORCH_E_PROTOCOL: return "protocol error";
    case ORCH_E_ABI: return "incompatible plugin abi";
    case ORCH_E_PLUGIN_CRASHED: return "plugin crashed";
    case ORCH_E_INTERNAL: return "internal error";
    case ORCH_E_FAILED: return "failed";
    case ORCH_STATUS_COUNT_: break;
    }
    return "unknown error";
}

/* Whether a retry may succeed; the same rule for every plugin. */

int orch_status_is_retryable(orch_status code)
{
    return code == ORCH_E_TRANSIENT || code == ORCH_E_RATE_LIMITED ||
           code == ORCH_E_TIMEOUT || code == ORCH_E_PLUGIN_CRASHED ||
           code == ORCH_E_FAILED || code == ORCH_E_IO;
}
