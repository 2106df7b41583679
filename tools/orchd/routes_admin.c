/* POST /v1/admin/reload: the API's way to what SIGHUP does (reload.h),
 * answered with the outcome: 200 with the new generation and counts, 422
 * with every error (the running config kept), 503 when the engine thread
 * did not take it in time (it reloads between two iterations of its loop,
 * and one can be long). */
#include <stdlib.h>

#include "http.h"
#include "orchd.h"
#include "reload.h"
#include "util.h"

void orchd_admin_reload(struct orchd_req *rq)
{
    char *by = oc_xasprintf("API, token %s", rq->token ? rq->token->name : "(none)");
    json_t *out = orchd_reload_ask(rq->d, by, 60000);
    free(by);
    if (!out) {
        orchd_fail(rq, 503, "unavailable", "the engine did not take the reload within 60 s; "
                   "it will when its current work allows: ask again, or send SIGHUP");
        return;
    }
    orchd_reply(rq, json_is_true(json_object_get(out, "reloaded")) ? 200 : 422, out);
}
