#include "hook_event.h"

#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "util.h"

static void orchd_event_val(const json_t *v, struct oc_val *out)
{
    if (!v || json_is_null(v)) {
        out->kind = OC_VAL_NULL;
    } else if (json_is_string(v)) {
        out->kind = OC_VAL_STR;
        out->s = oc_xstrdup(json_string_value(v));
    } else if (json_is_boolean(v)) {
        out->kind = OC_VAL_BOOL;
        out->b = json_is_true(v);
    } else if (json_is_number(v)) {
        out->kind = OC_VAL_NUM;
        out->num = json_number_value(v);
    } else {
        out->kind = OC_VAL_STR;
        out->s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    }
}

static int orchd_event_lookup(void *ud, const char *ns, const char *const *parts, size_t n,
                              struct oc_val *out, int *is_secret)
{
    struct orchd_hook_event *ev = ud;
    (void)is_secret;
    memset(out, 0, sizeof *out);
    if (strcmp(ns, "event"))
        return -1; /* validation allows nothing else */
    if (n == 2 && !strcmp(parts[0], "headers")) {
        const char *h = orchd_header(ev->rq, parts[1]);
        out->kind = h ? OC_VAL_STR : OC_VAL_NULL;
        out->s = h ? oc_xstrdup(h) : NULL;
        return 0;
    }
    const json_t *v = ev->payload;
    for (size_t i = 0; i < n && v; i++) {
        if (json_is_object(v)) {
            v = json_object_get(v, parts[i]);
        } else if (json_is_array(v)) {
            char *end;
            unsigned long k = strtoul(parts[i], &end, 10);
            v = *parts[i] && !*end ? json_array_get(v, k) : NULL;
        } else {
            v = NULL;
        }
    }
    orchd_event_val(v, out);
    return 0;
}

void orchd_hook_scope(struct oc_scope *sc, struct orchd_hook_event *ev)
{
    *sc = (struct oc_scope){.ud = ev, .lookup = orchd_event_lookup};
}
