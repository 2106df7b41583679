/* One status space for every call across the ABI. 0 is success. Codes are
 * append-only: never renumbered, retired ones stay reserved (docs/errors.md
 * has one entry per code; tests/abi checks the three agree). */
#ifndef ORCH_STATUS_H
#define ORCH_STATUS_H

#include "abi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef int32_t orch_status;

/* An enum only to name the constants and let the core's switch be checked
 * with -Wswitch-enum; values cross the ABI as orch_status (int32_t). */
enum orch_status_code {
    ORCH_OK = 0,
    ORCH_E_INVALID_ARG = 1,    /* bad argument to an API call */
    ORCH_E_CONFIG = 2,         /* configuration rejected */
    ORCH_E_UNSUPPORTED = 3,    /* capability absent */
    ORCH_E_NOT_FOUND = 4,      /* object does not exist */
    ORCH_E_EXISTS = 5,         /* object already exists */
    ORCH_E_TIMEOUT = 6,        /* deadline passed */
    ORCH_E_CANCELLED = 7,      /* cancel flag observed */
    ORCH_E_TRANSIENT = 8,      /* retry may succeed */
    ORCH_E_RATE_LIMITED = 9,   /* remote said slow down (HTTP 429) */
    ORCH_E_AUTH = 10,          /* credentials refused */
    ORCH_E_CONFLICT = 11,      /* lease lost or compare-and-set failed */
    ORCH_E_IO = 12,            /* local I/O failure */
    ORCH_E_NOMEM = 13,         /* allocation failed */
    ORCH_E_PROTOCOL = 14,      /* remote API violated its contract */
    ORCH_E_ABI = 15,           /* load-time incompatibility */
    ORCH_E_PLUGIN_CRASHED = 16,/* executor process died */
    ORCH_E_INTERNAL = 17,      /* bug in orch */
    ORCH_E_FAILED = 18,        /* the step's own work failed (non-zero exit) */
    ORCH_STATUS_COUNT_ = 19    /* not a code: one past the last */
};

/* Filled by the plugin through host->error_set; initialised and freed by
 * the core. message is out:host (lowercase, no trailing newline, names the
 * object). retry_after_ms: 0 = no advice. */
struct orch_error {
    uint32_t struct_size;
    orch_status code;
    char *message;
    int64_t retry_after_ms;
};

#ifdef __cplusplus
}
#endif
#endif
