/* The OTLP/HTTP exporter: a bounded queue of finished spans, a thread that
 * sends them in batches (protobuf through protobuf-c, or JSON through
 * jansson) with libcurl, retrying with back-off on 429, 5xx and connection
 * errors. The engine only ever appends to the queue: a collector that is
 * slow or down costs dropped spans (counted), never a step's time. */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "../host.h"
#include "../libcurl.h"
#include "../util.h"
#include "internal.h"
#include "otlp_trace.pb-c.h"

#define OC_QUEUE_MAX 2048
#define OC_BATCH_MAX 512
#define OC_FLUSH_WAIT_MS 5000

struct oc_exporter {
    char *url;
    int json;
    struct curl_slist *headers;
    int64_t timeout_ms;
    struct oc_sampler sampler;
    struct oc_trace_kv *res;      /* resource attributes, service.name included */
    size_t n_res;
    const struct oc_libcurl *curl;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct oc_span **q;
    size_t n_q;
    int stopping;
    int64_t stop_deadline_ns;     /* monotonic: give up retrying after this */
    _Atomic uint64_t dropped;
};

void oc_span_free(struct oc_span *s)
{
    if (!s)
        return;
    free(s->name);
    free(s->status_message);
    for (size_t i = 0; i < s->n_attrs; i++) {
        free(s->attrs[i].key);
        free(s->attrs[i].str);
    }
    free(s->attrs);
    for (size_t i = 0; i < s->n_events; i++)
        free(s->events[i].name);
    free(s->events);
    free(s);
}

static struct oc_span_attr *oc_attr_new(struct oc_span *s, const char *key)
{
    s->attrs = oc_xrealloc(s->attrs, (s->n_attrs + 1) * sizeof *s->attrs);
    struct oc_span_attr *a = &s->attrs[s->n_attrs++];
    *a = (struct oc_span_attr){oc_xstrdup(key), NULL, 0};
    return a;
}

void oc_span_attr_str(struct oc_span *s, const char *key, const char *value)
{
    oc_attr_new(s, key)->str = oc_xstrdup(value ? value : "");
}

void oc_span_attr_int(struct oc_span *s, const char *key, int64_t value)
{
    oc_attr_new(s, key)->num = value;
}

void oc_span_event_add(struct oc_span *s, uint64_t time_ns, const char *name)
{
    s->events = oc_xrealloc(s->events, (s->n_events + 1) * sizeof *s->events);
    s->events[s->n_events++] = (struct oc_span_event){time_ns, oc_xstrdup(name)};
}

/* ---- configuration (settings.c reads it) ---- */

const struct oc_sampler *oc_exporter_sampler(const struct oc_exporter *x)
{
    return &x->sampler;
}

static void *oc_export_main(void *arg);

/* The content type, then the settings' headers. */
static void oc_exporter_headers(struct oc_exporter *x, const struct oc_trace_settings *s)
{
    x->headers = x->curl->slist_append(NULL, x->json ? "Content-Type: application/json"
                                                     : "Content-Type: application/x-protobuf");
    for (size_t i = 0; i < s->n_headers; i++) {
        char *line = oc_xasprintf("%s: %s", s->headers[i].key, s->headers[i].value);
        x->headers = x->curl->slist_append(x->headers, line);
        memset(line, 0, strlen(line)); /* it may hold a token */
        free(line);
    }
}

/* The resource: the settings' attributes, with service.name from the
 * settings' service name (or service when neither names it),
 * service.version and host.name. */
static void oc_exporter_resource(struct oc_exporter *x, struct oc_trace_settings *s,
                                 const char *service)
{
    x->res = s->res;
    x->n_res = s->n_res;
    s->res = NULL;
    s->n_res = 0;
    const char *svc = s->service_name;
    int have_svc = 0;
    for (size_t i = 0; i < x->n_res; i++)
        if (!strcmp(x->res[i].key, "service.name")) {
            have_svc = 1;
            if (svc) {
                free(x->res[i].value);
                x->res[i].value = oc_xstrdup(svc);
            }
        }
    char host[256] = "";
    gethostname(host, sizeof host - 1);
    struct oc_trace_kv add[] = {{"service.name", (char *)(svc ? svc : service)},
                                {"service.version", ORCH_VERSION},
                                {"host.name", host}};
    for (size_t i = have_svc ? 1 : 0; i < 3; i++) {
        x->res = oc_xrealloc(x->res, (x->n_res + 1) * sizeof *x->res);
        x->res[x->n_res++] =
            (struct oc_trace_kv){oc_xstrdup(add[i].key), oc_xstrdup(add[i].value)};
    }
}

/* The queue, its lock and condition (on the monotonic clock), and the
 * thread that sends; -1 when the thread cannot start (x is freed then). */
static int oc_exporter_start(struct oc_exporter *x)
{
    pthread_mutex_init(&x->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&x->cv, &ca);
    pthread_condattr_destroy(&ca);
    x->q = oc_xcalloc(OC_QUEUE_MAX, sizeof *x->q);
    if (pthread_create(&x->thread, NULL, oc_export_main, x) != 0) {
        oc_log(ORCH_LOG_ERROR, "trace", "cannot start the exporter thread: %s", strerror(errno));
        x->thread = 0;
        oc_exporter_free(x);
        return -1;
    }
    return 0;
}

struct oc_exporter *oc_exporter_new(struct oc_trace_settings *s, const char *service)
{
    const char *why = NULL;
    const struct oc_libcurl *curl = oc_libcurl(&why);
    if (!curl) {
        oc_log(ORCH_LOG_ERROR, "trace", "traces are not exported: %s", why);
        oc_trace_settings_free(s);
        return NULL;
    }
    struct oc_exporter *x = oc_xcalloc(1, sizeof *x);
    x->curl = curl;
    x->sampler = s->sampler;
    x->json = s->json;
    x->url = s->url;
    s->url = NULL;
    x->timeout_ms = s->timeout_ms;
    oc_exporter_headers(x, s);
    oc_exporter_resource(x, s, service);
    oc_trace_settings_free(s);
    return oc_exporter_start(x) == 0 ? x : NULL;
}

void oc_exporter_add(struct oc_exporter *x, struct oc_span *s)
{
    pthread_mutex_lock(&x->mu);
    if (x->n_q == OC_QUEUE_MAX) {
        pthread_mutex_unlock(&x->mu);
        x->dropped++;
        oc_span_free(s);
        return;
    }
    x->q[x->n_q++] = s;
    if (x->n_q >= OC_BATCH_MAX)
        pthread_cond_signal(&x->cv);
    pthread_mutex_unlock(&x->mu);
}

uint64_t oc_exporter_dropped(const struct oc_exporter *x)
{
    return x->dropped;
}

/* ---- encoding ---- */

static json_t *oc_json_kv(const char *key, const char *str, int64_t num)
{
    char n[24];
    snprintf(n, sizeof n, "%lld", (long long)num);
    return json_pack("{s:s,s:{s:s}}", "key", key, "value", str ? "stringValue" : "intValue",
                     str ? str : n);
}

static char *oc_encode_json(struct oc_exporter *x, struct oc_span **spans, size_t n, size_t *len)
{
    json_t *res = json_array(), *arr = json_array();
    for (size_t i = 0; i < x->n_res; i++)
        json_array_append_new(res, oc_json_kv(x->res[i].key, x->res[i].value, 0));
    for (size_t i = 0; i < n; i++) {
        struct oc_span *s = spans[i];
        char tid[33], sid[17], pid[17] = "", st[24], en[24];
        oc_trace_hex(s->trace_id, 16, tid);
        oc_trace_hex(s->span_id, 8, sid);
        if (s->has_parent)
            oc_trace_hex(s->parent_id, 8, pid);
        snprintf(st, sizeof st, "%llu", (unsigned long long)s->start_ns);
        snprintf(en, sizeof en, "%llu", (unsigned long long)s->end_ns);
        json_t *attrs = json_array(), *evs = json_array();
        for (size_t k = 0; k < s->n_attrs; k++)
            json_array_append_new(attrs, oc_json_kv(s->attrs[k].key, s->attrs[k].str,
                                                    s->attrs[k].num));
        for (size_t k = 0; k < s->n_events; k++) {
            char t[24];
            snprintf(t, sizeof t, "%llu", (unsigned long long)s->events[k].time_ns);
            json_array_append_new(evs, json_pack("{s:s,s:s}", "timeUnixNano", t, "name",
                                                 s->events[k].name));
        }
        json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s,s:o,s:o,s:{s:i,s:s}}", "traceId", tid,
                              "spanId", sid, "name", s->name, "kind", 1, "startTimeUnixNano", st,
                              "endTimeUnixNano", en, "attributes", attrs, "events", evs, "status",
                              "code", s->status, "message",
                              s->status_message ? s->status_message : "");
        if (s->has_parent)
            json_object_set_new(j, "parentSpanId", json_string(pid));
        json_array_append_new(arr, j);
    }
    json_t *doc = json_pack("{s:[{s:{s:o},s:[{s:{s:s,s:s},s:o}]}]}", "resourceSpans", "resource",
                            "attributes", res, "scopeSpans", "scope", "name", "orch", "version",
                            ORCH_VERSION, "spans", arr);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    *len = text ? strlen(text) : 0;
    return text;
}

/* protobuf-c messages pointing into the spans; freed with oc_pb_free. */
static OrchOtlp__KeyValue *oc_pb_kv(const char *key, const char *str, int64_t num)
{
    OrchOtlp__KeyValue *kv = oc_xcalloc(1, sizeof *kv);
    OrchOtlp__AnyValue *v = oc_xcalloc(1, sizeof *v);
    orch_otlp__key_value__init(kv);
    orch_otlp__any_value__init(v);
    kv->key = (char *)key;
    if (str) {
        v->value_case = ORCH_OTLP__ANY_VALUE__VALUE_STRING_VALUE;
        v->string_value = (char *)str;
    } else {
        v->value_case = ORCH_OTLP__ANY_VALUE__VALUE_INT_VALUE;
        v->int_value = num;
    }
    kv->value = v;
    return kv;
}

static void oc_pb_kvs_free(OrchOtlp__KeyValue **kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i]->value);
        free(kv[i]);
    }
    free(kv);
}

static char *oc_encode_pb(struct oc_exporter *x, struct oc_span **spans, size_t n, size_t *len)
{
    OrchOtlp__Resource res = ORCH_OTLP__RESOURCE__INIT;
    res.n_attributes = x->n_res;
    res.attributes = oc_xcalloc(x->n_res + 1, sizeof *res.attributes);
    for (size_t i = 0; i < x->n_res; i++)
        res.attributes[i] = oc_pb_kv(x->res[i].key, x->res[i].value, 0);
    OrchOtlp__Span *ps = oc_xcalloc(n + 1, sizeof *ps);
    OrchOtlp__Span **pp = oc_xcalloc(n + 1, sizeof *pp);
    OrchOtlp__Status *pst = oc_xcalloc(n + 1, sizeof *pst);
    for (size_t i = 0; i < n; i++) {
        struct oc_span *s = spans[i];
        OrchOtlp__Span *p = &ps[i];
        orch_otlp__span__init(p);
        orch_otlp__status__init(&pst[i]);
        p->trace_id = (ProtobufCBinaryData){16, s->trace_id};
        p->span_id = (ProtobufCBinaryData){8, s->span_id};
        if (s->has_parent)
            p->parent_span_id = (ProtobufCBinaryData){8, s->parent_id};
        p->name = s->name;
        p->kind = 1;
        p->start_time_unix_nano = s->start_ns;
        p->end_time_unix_nano = s->end_ns;
        p->n_attributes = s->n_attrs;
        p->attributes = oc_xcalloc(s->n_attrs + 1, sizeof *p->attributes);
        for (size_t k = 0; k < s->n_attrs; k++)
            p->attributes[k] = oc_pb_kv(s->attrs[k].key, s->attrs[k].str, s->attrs[k].num);
        p->n_events = s->n_events;
        p->events = oc_xcalloc(s->n_events + 1, sizeof *p->events);
        for (size_t k = 0; k < s->n_events; k++) {
            OrchOtlp__SpanEvent *e = oc_xcalloc(1, sizeof *e);
            orch_otlp__span_event__init(e);
            e->time_unix_nano = s->events[k].time_ns;
            e->name = s->events[k].name;
            p->events[k] = e;
        }
        pst[i].code = s->status;
        pst[i].message = s->status_message ? s->status_message : "";
        p->status = &pst[i];
        pp[i] = p;
    }
    OrchOtlp__InstrumentationScope scope = ORCH_OTLP__INSTRUMENTATION_SCOPE__INIT;
    scope.name = "orch";
    scope.version = ORCH_VERSION;
    OrchOtlp__ScopeSpans ss = ORCH_OTLP__SCOPE_SPANS__INIT;
    ss.scope = &scope;
    ss.n_spans = n;
    ss.spans = pp;
    OrchOtlp__ScopeSpans *ssp = &ss;
    OrchOtlp__ResourceSpans rs = ORCH_OTLP__RESOURCE_SPANS__INIT;
    rs.resource = &res;
    rs.n_scope_spans = 1;
    rs.scope_spans = &ssp;
    OrchOtlp__ResourceSpans *rsp = &rs;
    OrchOtlp__ExportTraceServiceRequest req = ORCH_OTLP__EXPORT_TRACE_SERVICE_REQUEST__INIT;
    req.n_resource_spans = 1;
    req.resource_spans = &rsp;
    *len = orch_otlp__export_trace_service_request__get_packed_size(&req);
    char *buf = oc_xcalloc(*len + 1, 1);
    orch_otlp__export_trace_service_request__pack(&req, (uint8_t *)buf);
    for (size_t i = 0; i < n; i++) {
        oc_pb_kvs_free(ps[i].attributes, ps[i].n_attributes);
        for (size_t k = 0; k < ps[i].n_events; k++)
            free(ps[i].events[k]);
        free(ps[i].events);
    }
    oc_pb_kvs_free(res.attributes, res.n_attributes);
    free(ps);
    free(pp);
    free(pst);
    return buf;
}

/* ---- sending ---- */

static size_t oc_discard(char *p, size_t s, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return s * n;
}

/* 0 sent (or refused for good: a 4xx other than 429 will not get better),
 * 1 worth retrying. */
static int oc_post(struct oc_exporter *x, const char *body, size_t len, int64_t timeout_ms,
                   long *code)
{
    const struct oc_libcurl *c = x->curl;
    CURL *h = c->easy_init();
    if (!h)
        return 1;
    c->easy_setopt(h, CURLOPT_URL, x->url);
    c->easy_setopt(h, CURLOPT_POST, 1L);
    c->easy_setopt(h, CURLOPT_POSTFIELDS, body);
    c->easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    c->easy_setopt(h, CURLOPT_HTTPHEADER, x->headers);
    c->easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    c->easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    c->easy_setopt(h, CURLOPT_WRITEFUNCTION, oc_discard);
    CURLcode rc = c->easy_perform(h);
    *code = 0;
    if (rc == CURLE_OK)
        c->easy_getinfo(h, CURLINFO_RESPONSE_CODE, code);
    c->easy_cleanup(h);
    if (rc != CURLE_OK)
        return 1;
    if (*code >= 200 && *code < 300)
        return 0;
    return *code == 429 || *code == 502 || *code == 503 || *code == 504;
}

static void oc_send_batch(struct oc_exporter *x, struct oc_span **spans, size_t n)
{
    size_t len = 0;
    char *body = x->json ? oc_encode_json(x, spans, n, &len) : oc_encode_pb(x, spans, n, &len);
    int64_t backoff_ms = 250;
    for (int attempt = 0;; attempt++) {
        long code = 0;
        /* Stopping (the process exits): no post outlives the flush wait. */
        int64_t timeout = x->timeout_ms;
        pthread_mutex_lock(&x->mu);
        if (x->stopping) {
            int64_t left = (x->stop_deadline_ns - oc_now_mono_ns()) / 1000000;
            timeout = left < 100 ? 100 : left < timeout ? left : timeout;
        }
        pthread_mutex_unlock(&x->mu);
        int again = body ? oc_post(x, body, len, timeout, &code) : 0;
        if (!again && (code >= 200 && code < 300))
            break;
        pthread_mutex_lock(&x->mu);
        int stopping = x->stopping;
        int64_t deadline = x->stop_deadline_ns;
        pthread_mutex_unlock(&x->mu);
        int64_t now = oc_now_mono_ns();
        if (!again || attempt >= 6 || (stopping && now + backoff_ms * 1000000 > deadline)) {
            x->dropped += n;
            if (code)
                oc_log(ORCH_LOG_WARN, "trace", "%zu span(s) not exported to %s: HTTP %ld after "
                       "%d attempt(s)", n, x->url, code, attempt + 1);
            else
                oc_log(ORCH_LOG_WARN, "trace", "%zu span(s) not exported to %s: no answer after "
                       "%d attempt(s)", n, x->url, attempt + 1);
            break;
        }
        struct timespec ts = {backoff_ms / 1000, (backoff_ms % 1000) * 1000000};
        nanosleep(&ts, NULL);
        backoff_ms = backoff_ms * 2 > 8000 ? 8000 : backoff_ms * 2;
    }
    free(body);
    for (size_t i = 0; i < n; i++)
        oc_span_free(spans[i]);
}

static void *oc_export_main(void *arg)
{
    struct oc_exporter *x = arg;
    struct oc_span **batch = oc_xcalloc(OC_BATCH_MAX, sizeof *batch);
    pthread_mutex_lock(&x->mu);
    for (;;) {
        if (!x->n_q && x->stopping)
            break;
        if (x->n_q < OC_BATCH_MAX && !x->stopping) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += 1; /* a batch a second at most, sooner when full */
            pthread_cond_timedwait(&x->cv, &x->mu, &ts);
        }
        size_t n = x->n_q < OC_BATCH_MAX ? x->n_q : OC_BATCH_MAX;
        if (!n)
            continue;
        memcpy(batch, x->q, n * sizeof *batch);
        memmove(x->q, x->q + n, (x->n_q - n) * sizeof *x->q);
        x->n_q -= n;
        pthread_mutex_unlock(&x->mu);
        oc_send_batch(x, batch, n);
        pthread_mutex_lock(&x->mu);
    }
    pthread_mutex_unlock(&x->mu);
    free(batch);
    return NULL;
}

void oc_exporter_free(struct oc_exporter *x)
{
    if (!x)
        return;
    if (x->thread) {
        pthread_mutex_lock(&x->mu);
        x->stopping = 1;
        x->stop_deadline_ns = oc_now_mono_ns() + (int64_t)OC_FLUSH_WAIT_MS * 1000000;
        pthread_cond_signal(&x->cv);
        pthread_mutex_unlock(&x->mu);
        pthread_join(x->thread, NULL);
    }
    for (size_t i = 0; i < x->n_q; i++)
        oc_span_free(x->q[i]);
    free(x->q);
    if (x->headers)
        x->curl->slist_free_all(x->headers);
    oc_trace_kvs_free(x->res, x->n_res);
    free(x->url);
    pthread_mutex_destroy(&x->mu);
    pthread_cond_destroy(&x->cv);
    free(x);
}
