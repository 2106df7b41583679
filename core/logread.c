/* Step logs read back a page at a time; the record of cut logs. */
#include "logread.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

struct oc_log_pager {
    orch_log_fn fn;
    void *ud;
    size_t max_bytes, got;
    int64_t last;
    int stopped;
};

static int32_t oc_log_pager_row(void *ud, const struct orch_log_rec *l)
{
    struct oc_log_pager *p = ud;
    p->last = l->seq;
    p->got += (size_t)l->len;
    if (p->fn(p->ud, l) != 0 || p->got >= p->max_bytes) {
        p->stopped = 1;
        return 1;
    }
    return 0;
}

orch_status oc_log_page(struct oc_store *st, const char *run_id, const char *step_id,
                        uint32_t attempt, int64_t *after_seq, size_t max_bytes,
                        orch_log_fn fn, void *ud, int *more, struct orch_error *err)
{
    /* The store stops when a callback returns non-zero (docs/abi.md). */
    struct oc_log_pager p = {fn, ud, max_bytes ? max_bytes : 1, 0, *after_seq, 0};
    orch_status rc = st->vt->log_read(st->h, run_id, step_id, attempt, *after_seq,
                                      oc_log_pager_row, &p, err);
    *after_seq = p.last;
    *more = rc == ORCH_OK && p.stopped;
    return rc;
}

int32_t oc_log_truncation_ev(void *ud, const struct orch_event_rec *e)
{
    if (strcmp(e->type, "step.log_truncated"))
        return 0;
    json_t *d = json_loads(e->data_json, 0, NULL);
    const char *step = json_string_value(json_object_get(d, "step"));
    json_int_t attempt = json_integer_value(json_object_get(d, "attempt"));
    if (step && attempt > 0) {
        char key[512];
        snprintf(key, sizeof key, "%s#%lld", step, (long long)attempt);
        json_object_set(ud, key, d);
    }
    json_decref(d);
    return 0;
}

json_t *oc_log_truncations(struct oc_store *st, const char *run_id, struct orch_error *err)
{
    json_t *t = json_object();
    if (st->vt->event_list(st->h, run_id, 0, 0, oc_log_truncation_ev, t, err) != ORCH_OK) {
        json_decref(t);
        return NULL;
    }
    return t;
}

json_t *oc_log_truncation_of(json_t *truncations, const char *step_id, uint32_t attempt)
{
    char key[512];
    snprintf(key, sizeof key, "%s#%u", step_id, attempt);
    return json_object_get(truncations, key);
}
