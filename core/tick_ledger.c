/* The tick ledger read as JSON (tick_ledger.h). */
#include "tick_ledger.h"

#include "api_json.h"
#include "host.h"
#include "util.h"

int oc_tick_since_parse(const char *since, int64_t now_ns, int64_t *out_ns)
{
    int64_t t, ms;
    if (!since || !*since)
        return -1;
    if (oc_parse_utc_time(since, &t) == 0) {
        if (t > now_ns)
            return -1;
        *out_ns = t;
        return 0;
    }
    if (oc_parse_duration_ms(since, &ms) != 0 || ms > now_ns / 1000000)
        return -1;
    *out_ns = now_ns - ms * 1000000;
    return 0;
}

static json_t *oc_tick_json(const struct orch_tick_rec *t)
{
    return json_pack("{s:I,s:s,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "seq", (json_int_t)t->seq,
                     "owner", t->owner ? t->owner : "", "started", oc_api_time(t->started_ns),
                     "duration_ns", (json_int_t)t->duration_ns, "claimed",
                     (json_int_t)t->claimed, "dispatched", (json_int_t)t->dispatched, "fired",
                     (json_int_t)t->fired, "requeued", (json_int_t)t->requeued, "reaped",
                     (json_int_t)t->reaped, "errors", (json_int_t)t->errors);
}

struct oc_tick_walk {
    json_t *ticks;
    uint32_t limit;
    int more;
};

static int32_t oc_tick_collect(void *ud, const struct orch_tick_rec *t)
{
    struct oc_tick_walk *w = ud;
    if (json_array_size(w->ticks) == w->limit) {
        w->more = 1; /* the one read beyond the limit */
        return 1;
    }
    json_array_append_new(w->ticks, oc_tick_json(t));
    return 0;
}

orch_status oc_tick_list_json(struct oc_store *st, int64_t since_ns, uint32_t limit,
                              json_t **out, struct orch_error *err)
{
    *out = NULL;
    if (limit < 1 || limit > OC_TICKS_MAX)
        return oc_error_set(err, ORCH_E_INVALID_ARG, "limit must be 1..%d, not %u",
                            OC_TICKS_MAX, limit);
    struct oc_tick_walk w = {.ticks = json_array(), .limit = limit};
    orch_status rc = oc_store_tick_list(st, since_ns, limit + 1, oc_tick_collect, &w, err);
    if (rc != ORCH_OK) {
        json_decref(w.ticks);
        return rc;
    }
    *out = json_pack("{s:o,s:b}", "ticks", w.ticks, "more", w.more);
    return ORCH_OK;
}
