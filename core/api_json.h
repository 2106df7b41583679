/* Store records in the JSON form of the API: orchd answers with it and
 * `orch --json` prints it from a local store, so a printer or a script
 * meets one shape whichever it reads (docs/design.md, "Times in the API").
 *
 * A time is an RFC 3339 UTC string with nine digits of fraction
 * (oc_fmt_utc_time), named without a unit: "created", not "created_ns".
 * Integer nanoseconds since the epoch need 61 bits; a JavaScript number
 * (and jq's) holds 53, so they arrived rounded to 256 ns. A time that has
 * not happened yet (0 in the store: an attempt still running) is null.
 * Durations stay numbers with their unit in the name (duration_ms): they
 * fit in a double. What is stored (rows, backups, event data as written)
 * keeps its integers: the form changes only where JSON leaves for a
 * client. */
#ifndef OC_API_JSON_H
#define OC_API_JSON_H

#include <jansson.h>

#include "store.h"

/* ns as the API's time: a string, or null for 0. */
json_t *oc_api_time(int64_t ns);
/* A time of the API read back, exactly: 0 with *ns set (null gives 0), -1
 * for anything else (a number, text that is not such a time). */
int oc_api_time_ns(const json_t *v, int64_t *ns);
/* obj's integer member ns_key (a row kept with integer times) becomes the
 * time key, in place; nothing happens when obj has no ns_key. */
void oc_api_time_rename(json_t *obj, const char *ns_key, const char *key);

/* id, workflow, state, idempotency_key, error, inputs, created, updated,
 * owner. */
json_t *oc_api_run(const struct orch_run_rec *r);
/* attempt, state, outputs, error, instance, started, finished (null while
 * it runs), exit_code (when recorded) and duration_ms (once finished); the
 * caller adds the step where its shape lists attempts flat. */
json_t *oc_api_attempt(const struct orch_attempt_rec *a);
/* seq, type, data, ts. The core's own events that hold a time in their
 * data (approval.waiting, run.waiting: deadline_ns, 0 = none) show it as
 * a time too ("deadline"); other data, a plugin's above all, is shown as
 * written. */
json_t *oc_api_event(const struct orch_event_rec *e);

#endif
