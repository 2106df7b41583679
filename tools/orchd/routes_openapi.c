/* GET /v1/openapi.yaml and /v1/openapi.json: the API description orchd was
 * built with (docs/api/openapi.yaml, embedded at build time by
 * cmake/embed.cmake), so a client generator needs nothing but the daemon.
 * The JSON form is converted once, by the config reader's YAML rules. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "http.h"
#include "util.h"

extern const unsigned char orchd_openapi_yaml[];
extern const size_t orchd_openapi_yaml_len;

static pthread_once_t orchd_openapi_once = PTHREAD_ONCE_INIT;
static char *orchd_openapi_json_text;

static void orchd_openapi_convert(void)
{
    struct oc_diag diag = {0};
    json_t *j = oc_yaml_to_json((const char *)orchd_openapi_yaml, orchd_openapi_yaml_len,
                                "openapi.yaml", &diag);
    if (j)
        orchd_openapi_json_text = json_dumps(j, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(j);
    oc_diag_free(&diag);
}

void orchd_openapi_yaml_get(struct orchd_req *rq)
{
    rq->status = 200;
    rq->text = strndup((const char *)orchd_openapi_yaml, orchd_openapi_yaml_len);
    rq->content_type = "application/yaml";
    if (!rq->text)
        orchd_fail(rq, 500, "internal", "out of memory");
}

void orchd_openapi_json_get(struct orchd_req *rq)
{
    pthread_once(&orchd_openapi_once, orchd_openapi_convert);
    if (!orchd_openapi_json_text) { /* the build embeds a document the tests parse */
        orchd_fail(rq, 500, "internal", "the embedded OpenAPI document does not parse");
        return;
    }
    rq->status = 200;
    rq->text = strdup(orchd_openapi_json_text);
    rq->content_type = "application/json";
    if (!rq->text)
        orchd_fail(rq, 500, "internal", "out of memory");
}
