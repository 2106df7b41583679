/* The tick ledger read as JSON: one shape for `GET /v1/ticks` and
 * `orch ticks`, and one reading of their "since". */
#ifndef OC_TICK_LEDGER_H
#define OC_TICK_LEDGER_H

#include <jansson.h>

#include "store.h"

/* The most ticks one read returns (the API's and the CLI's limit). */
#define OC_TICKS_MAX 10000

/* since: an RFC 3339 UTC time ("2026-12-03T14:00:00Z", or a tick's own
 * "started", to the nanosecond) or a duration
 * before now_ns ("90s", "10m", "2h"). 0 on success; -1 (nothing set) for
 * anything else, a time in the future included. */
int oc_tick_since_parse(const char *since, int64_t now_ns, int64_t *out_ns);

/* {"ticks": [...], "more": bool}, each tick with its "started" in RFC 3339
 * (oc_api_time): at most limit (1..OC_TICKS_MAX) ticks
 * that started at or after since_ns, newest first; "more" when older ones
 * in range were left out. */
orch_status oc_tick_list_json(struct oc_store *st, int64_t since_ns, uint32_t limit,
                              json_t **out, struct orch_error *err);

#endif
