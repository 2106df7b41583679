/* What a route handler uses to read its request and write its answer:
 * the JSON answer and the error shape ({"error": {code, message}}, the
 * status from an orch_status), the body as a checked JSON object and its
 * fields, query parameters and headers (from libmicrohttpd, or from the
 * request's own lists when it was built without a connection). It calls
 * no handler and knows no route. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "http.h"
#include "json_limit.h"
#include "util.h"

void orchd_reply(struct orchd_req *rq, unsigned status, json_t *j)
{
    json_decref(rq->json);
    rq->status = status;
    rq->json = j;
}

void orchd_fail(struct orchd_req *rq, unsigned status, const char *code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = oc_xvasprintf(fmt, ap);
    va_end(ap);
    orchd_reply(rq, status, json_pack("{s:{s:s,s:s}}", "error", "code", code, "message", msg));
    free(msg);
}

void orchd_fail_err(struct orchd_req *rq, const struct orch_error *err)
{
    switch (err->code) {
    case ORCH_E_NOT_FOUND:
        orchd_fail(rq, 404, "not_found", "%s", oc_error_text(err));
        break;
    case ORCH_E_CONFLICT:
    case ORCH_E_EXISTS:
        orchd_fail(rq, 409, "conflict", "%s", oc_error_text(err));
        break;
    case ORCH_E_INVALID_ARG:
    case ORCH_E_CONFIG:
        orchd_fail(rq, 400, "invalid", "%s", oc_error_text(err));
        break;
    default:
        orchd_fail(rq, 500, "internal", "%s", oc_error_text(err));
        break;
    }
}

json_t *orchd_body_object(struct orchd_req *rq)
{
    if (!rq->body_len)
        return json_object();
    json_error_t je;
    /* Before jansson, whose parser recurses once per level. */
    if (oc_json_nesting_check(rq->body, rq->body_len, OC_MAX_NESTING, &je) != 0) {
        orchd_fail(rq, 400, "too_deep", "the body is %s: line %d column %d", je.text, je.line,
                   je.column);
        return NULL;
    }
    json_t *j = json_loadb(rq->body, rq->body_len, 0, &je);
    if (!j) {
        orchd_fail(rq, 400, "bad_json", "the body is not JSON: %s at line %d column %d",
                   je.text, je.line, je.column);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        orchd_fail(rq, 400, "bad_json", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

int orchd_body_fields(struct orchd_req *rq, json_t *b, const char *const *allowed)
{
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v) {
        size_t i = 0;
        while (allowed[i] && strcmp(allowed[i], k))
            i++;
        if (allowed[i])
            continue;
        struct oc_buf names = {0};
        for (i = 0; allowed[i]; i++)
            oc_buf_addf(&names, "%s%s", i ? ", " : "", allowed[i]);
        orchd_fail(rq, 400, "invalid", "unknown field '%s' (%s)", k, names.data);
        oc_buf_free(&names);
        return -1;
    }
    return 0;
}

int orchd_body_strings(struct orchd_req *rq, json_t *b, const char *field)
{
    json_t *m = json_object_get(b, field);
    const char *k;
    json_t *v;
    if (m && !json_is_object(m)) {
        orchd_fail(rq, 400, "invalid", "%s must be an object of NAME: \"text\"", field);
        return -1;
    }
    json_object_foreach(m, k, v) {
        if (!json_is_string(v)) {
            orchd_fail(rq, 400, "invalid", "%s.%s must be a string", field, k);
            return -1;
        }
    }
    return 0;
}

int orchd_body_duration(struct orchd_req *rq, json_t *b, const char *field, int64_t *ms)
{
    json_t *v = json_object_get(b, field);
    if (!v)
        return 0;
    if (json_is_number(v) && json_number_value(v) > 0) {
        *ms = (int64_t)(json_number_value(v) * 1000);
        return 0;
    }
    if (json_is_string(v) && oc_parse_duration_ms(json_string_value(v), ms) == 0 && *ms > 0)
        return 0;
    orchd_fail(rq, 400, "invalid", "%s must be a positive duration (\"30s\", \"5m\") or a "
               "number of seconds", field);
    return -1;
}

/* A value of a request built without a connection: exact names for query
 * arguments, any case for headers, as libmicrohttpd looks them up. */
static const char *orchd_kv_lookup(const char *const *kv, const char *key, int any_case)
{
    for (size_t i = 0; kv && kv[i] && kv[i + 1]; i += 2)
        if (any_case ? !strcasecmp(kv[i], key) : !strcmp(kv[i], key))
            return kv[i + 1];
    return NULL;
}

const char *orchd_query(struct orchd_req *rq, const char *key)
{
    if (!rq->conn)
        return orchd_kv_lookup(rq->query_kv, key, 0);
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

int orchd_query_bool(struct orchd_req *rq, const char *key, int dflt, int *out)
{
    const char *v = orchd_query(rq, key);
    if (!v)
        *out = dflt;
    else if (!strcmp(v, "true") || !strcmp(v, "1"))
        *out = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0"))
        *out = 0;
    else {
        orchd_fail(rq, 400, "invalid", "query parameter %s must be true or false, not '%.64s'", key, v);
        return -1;
    }
    return 0;
}

const char *orchd_header(struct orchd_req *rq, const char *key)
{
    if (!rq->conn)
        return orchd_kv_lookup(rq->header_kv, key, 1);
    return MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, key);
}

char *orchd_answer_text(struct orchd_req *rq, const char **ctype)
{
    if (rq->text) {
        char *text = rq->text;
        rq->text = NULL;
        *ctype = rq->content_type ? rq->content_type : "text/plain; charset=utf-8";
        return text;
    }
    *ctype = "application/json";
    char *j = rq->json ? json_dumps(rq->json, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    char *text = oc_xasprintf("%s\n", j ? j : "{}");
    free(j);
    return text;
}
