/* A run's concurrency group, read back from its ledger (run_concurrency.h). */
#include "run_concurrency.h"

#include <string.h>

#include "api_json.h"

int32_t oc_run_concurrency_ev(void *ud, const struct orch_event_rec *e)
{
    static const char *const states[][2] = {
        {"concurrency.waiting", "waiting"},   {"concurrency.admitted", "admitted"},
        {"concurrency.skipped", "skipped"},   {"concurrency.planned", "planned"}};
    const char *state = NULL;
    for (size_t i = 0; i < sizeof states / sizeof *states && !state; i++)
        if (!strcmp(e->type, states[i][0]))
            state = states[i][1];
    if (!state)
        return 0;
    json_t *d = json_loads(e->data_json ? e->data_json : "{}", 0, NULL);
    if (!json_is_object(d)) {
        json_decref(d);
        return 0;
    }
    json_t **out = ud;
    json_decref(*out);
    /* A resume admits again: the last word is the one that counts. */
    json_object_del(d, "ahead");
    json_object_del(d, "waited_ms");
    json_object_set_new(d, "state", json_string(state));
    json_object_set_new(d, "since", oc_api_time(e->ts_ns));
    *out = d;
    return 0;
}
