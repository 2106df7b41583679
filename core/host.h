/* The host-services table handed to plugins, and the core's use of the
 * same allocator and error helpers. */
#ifndef OC_HOST_H
#define OC_HOST_H

#include <stdarg.h>

#include <orch/orch.h>

#include "ctx.h"

const struct orch_host *oc_host(void);

void oc_error_init(struct orch_error *err);
void oc_error_clear(struct orch_error *err);    /* frees the message, code = OK */
orch_status oc_error_set(struct orch_error *err, orch_status code,
                         const char *fmt, ...) ORCH_PRINTF(3, 4);
/* Prefix the message with context: "ctx: old message". */
void oc_error_wrap(struct orch_error *err, const char *fmt, ...)
    ORCH_PRINTF(2, 3);
/* err->message, or the status text when there is none. */
const char *oc_error_text(const struct orch_error *err);

/* Log through the core's logger (stderr unless redirected), with prefix. */
void oc_log(uint32_t level, const char *prefix, const char *fmt, ...)
    ORCH_PRINTF(3, 4);
/* Resolve a secret by name: $ORCH_SECRET_<NAME>, else the file
 * $ORCH_SECRETS_DIR/<NAME>. malloc'd or NULL. */
char *oc_secret_lookup(const char *name);
/* Secrets shorter than this are refused where they are resolved: the
 * redactor could only mask them by destroying ordinary output. */
#define OC_SECRET_MIN_LEN 4
/* Why secret NAME with value may not be used (malloc'd), or NULL. */
char *oc_secret_refusal(const char *name, const char *value);
/* Why ${{ env.NAME }} may not be read (malloc'd), or NULL: the secret
 * sources are read as secrets.NAME, so they are registered for masking. */
char *oc_env_refusal(const char *name);

/* Structured logging: what a line is about. Any field may be NULL/0. */
struct oc_log_fields {
    const char *run_id, *step_id;
    uint32_t attempt;
    const char *component;       /* plugin, backend or subsystem */
};
void oc_log_at(uint32_t level, const struct oc_log_fields *f, const char *fmt, ...)
    ORCH_PRINTF(3, 4);
/* Send every line (at or above the level) to fn instead of stderr; fn is
 * called from any thread. */
typedef void (*oc_log_sink_fn)(uint32_t level, const struct oc_log_fields *f,
                               const char *msg);
void oc_log_set_sink(oc_log_sink_fn fn);
/* The line as written without a sink ("orch: warn: [step] msg" on stderr),
 * for a sink that only needs to fence it (orch's live status area). */
void oc_log_stderr(uint32_t level, const struct oc_log_fields *f, const char *msg);
/* Log levels: spec is "LEVEL" (the default) and "COMPONENT=LEVEL" items,
 * comma separated ("warn,scheduler=debug"); levels error, warn, info,
 * debug. configure applies spec (NULL: info for all) with $ORCH_LOG_LEVEL
 * (the same form) on top; any thread, at any time (a reload). 0, or -1
 * with *why (malloc'd) and nothing changed. */
int oc_log_configure(const char *spec, char **why);
int oc_log_spec_check(const char *spec, char **why);
/* Whether a line of level about component (NULL: none) is written; for a
 * writer of its own lines, such as orchd's access log. */
int oc_log_wants(uint32_t level, const char *component);

/* Allocation accounting for leak checks and torture tests: the number of
 * live host allocations, and fail the Nth host allocation from now (0 =
 * never). */
int64_t oc_host_live_allocs(void);
void oc_host_fail_alloc_after(int64_t n);
/* > 0 while the planned failure has not happened yet. */
int64_t oc_host_fail_alloc_remaining(void);

#endif
