/* The exporter's settings from one source: the config file's
 * telemetry.traces when it has one, else the OTEL_* variables. Never a mix:
 * a header holding a collector's token goes only to the endpoint written
 * beside it (docs/design.md, "Observability"). OTEL_SDK_DISABLED=true
 * turns either off, so that an operator can stop the export without
 * editing the file. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../config.h"
#include "../host.h"
#include "../plugin_with.h"
#include "../util.h"
#include "internal.h"

#define OC_SAMPLER_DEFAULT "parentbased_always_on" /* the OpenTelemetry SDK's default */

/* Values are wiped before they are freed: a header's may be a token. It
 * is only the copies orch frees: the exporter's curl list keeps the
 * header for the life of the exporter. */
void oc_trace_kvs_free(struct oc_trace_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        if (kv[i].value)
            explicit_bzero(kv[i].value, strlen(kv[i].value));
        free(kv[i].value);
    }
    free(kv);
}

void oc_trace_settings_free(struct oc_trace_settings *s)
{
    free(s->url);
    oc_trace_kvs_free(s->headers, s->n_headers);
    oc_trace_kvs_free(s->res, s->n_res);
    free(s->service_name);
    memset(s, 0, sizeof *s);
}

static void oc_kv_add(struct oc_trace_kv **kv, size_t *n, const char *key, const char *value)
{
    *kv = oc_xrealloc(*kv, (*n + 1) * sizeof **kv);
    (*kv)[(*n)++] = (struct oc_trace_kv){oc_xstrdup(key), oc_xstrdup(value)};
}

/* ---- the variables ---- */

static const char *oc_env(const char *a, const char *b)
{
    const char *v = getenv(a);
    if (v && *v)
        return v;
    v = b ? getenv(b) : NULL;
    return v && *v ? v : NULL;
}

/* "k=v,k2=v2" with %-escapes in values (the OTel spec's format for
 * OTEL_EXPORTER_OTLP_HEADERS and OTEL_RESOURCE_ATTRIBUTES, named by what).
 * A value that decodes to a line break is dropped, and said (its key, never
 * the value): it would end the header line. */
static size_t oc_parse_pairs(const char *text, const char *what, struct oc_trace_kv **out)
{
    size_t n = 0;
    *out = NULL;
    char *copy = oc_xstrdup(text ? text : ""), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq || eq == tok)
            continue;
        *eq = 0;
        char *k = tok, *v = eq + 1;
        while (*k == ' ')
            k++;
        char *dec = oc_xcalloc(strlen(v) + 1, 1), *d = dec;
        for (const char *p = v; *p; p++) {
            unsigned hx;
            if (*p == '%' && sscanf(p + 1, "%2x", &hx) == 1 && p[1] && p[2]) {
                *d++ = (char)hx;
                p += 2;
            } else {
                *d++ = *p;
            }
        }
        if (!strpbrk(dec, "\r\n"))
            oc_kv_add(out, &n, k, dec);
        else {
            char *key = oc_escape_bytes(k, strlen(k), 64);
            oc_log(ORCH_LOG_WARN, "trace", "%s: the value of '%s' holds a line break: "
                   "dropped", what, key);
            free(key);
        }
        explicit_bzero(dec, strlen(dec));
        free(dec);
    }
    free(copy);
    return n;
}

/* OTEL_TRACES_SAMPLER(_ARG): a value not understood is warned about and
 * the default taken, as the SDKs do. */
static struct oc_sampler oc_env_sampler(void)
{
    struct oc_sampler s;
    const char *name = oc_env("OTEL_TRACES_SAMPLER", NULL);
    char *why = oc_sampler_parse(name ? name : OC_SAMPLER_DEFAULT,
                                 oc_env("OTEL_TRACES_SAMPLER_ARG", NULL), &s);
    if (why) {
        oc_log(ORCH_LOG_WARN, "trace", "OTEL_TRACES_SAMPLER: %s: sampling as "
               OC_SAMPLER_DEFAULT, why);
        free(why);
        oc_sampler_parse(OC_SAMPLER_DEFAULT, NULL, &s);
    }
    return s;
}

static int oc_settings_env(struct oc_trace_settings *s)
{
    const char *traces = oc_env("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", NULL);
    const char *base = oc_env("OTEL_EXPORTER_OTLP_ENDPOINT", NULL);
    if (!traces && !base)
        return 0;
    s->sampler = oc_env_sampler();
    if (!oc_sampler_keeps_any(&s->sampler))
        return 0;
    const char *proto = oc_env("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL");
    if (proto && oc_otlp_protocol(proto) < 0) {
        oc_log(ORCH_LOG_ERROR, "trace", "OTLP protocol '%s' is not supported (http/protobuf, "
               "http/json): traces are not exported", proto);
        return 0;
    }
    s->json = proto && oc_otlp_protocol(proto) == 1;
    /* The traces endpoint as given, else the base one + /v1/traces. */
    if (traces) {
        s->url = oc_xstrdup(traces);
    } else {
        size_t n = strlen(base);
        s->url = oc_xasprintf("%.*s/v1/traces", (int)(n && base[n - 1] == '/' ? n - 1 : n),
                              base);
    }
    const char *t = oc_env("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT");
    s->timeout_ms = t ? strtoll(t, NULL, 10) : OC_TRACE_TIMEOUT_DEFAULT_MS;
    if (s->timeout_ms <= 0)
        s->timeout_ms = OC_TRACE_TIMEOUT_DEFAULT_MS;
    s->n_headers = oc_parse_pairs(oc_env("OTEL_EXPORTER_OTLP_TRACES_HEADERS",
                                         "OTEL_EXPORTER_OTLP_HEADERS"),
                                  "OTEL_EXPORTER_OTLP_(TRACES_)HEADERS", &s->headers);
    const char *svc = oc_env("OTEL_SERVICE_NAME", NULL);
    s->service_name = svc ? oc_xstrdup(svc) : NULL;
    s->n_res = oc_parse_pairs(oc_env("OTEL_RESOURCE_ATTRIBUTES", NULL),
                              "OTEL_RESOURCE_ATTRIBUTES", &s->res);
    return 1;
}

/* ---- the file ---- */

/* The variables the file's section makes orch not read, said once, so
 * that one set for the steps (env_passthrough) or left over explains
 * itself. */
static void oc_env_unread(const struct oc_telemetry *t)
{
    static const char *const names[] = {
        "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_HEADERS", "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
        "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_TIMEOUT", "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
        "OTEL_SERVICE_NAME", "OTEL_RESOURCE_ATTRIBUTES", "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG", NULL};
    struct oc_buf set = {0};
    for (size_t i = 0; names[i]; i++)
        if (oc_env(names[i], NULL))
            oc_buf_addf(&set, "%s%s", set.len ? ", " : "", names[i]);
    if (set.len)
        oc_log(ORCH_LOG_INFO, "trace", "telemetry.traces (%s:%u:%u) configures the traces: "
               "%s not read", t->pos.file ? t->pos.file : "config", t->pos.line, t->pos.col,
               set.data);
    oc_buf_free(&set);
}

/* The headers with their secrets resolved: -1 (logged, naming the
 * header's file:line:col and the secret, never a value) when one cannot
 * be, as a collector that wants a token would refuse every batch. */
static int oc_file_headers(const struct oc_telemetry *t, struct oc_trace_settings *s)
{
    if (!t->headers)
        return 0;
    char *why = NULL;
    struct oc_node *h = oc_refs_resolve(t->headers, "telemetry.traces.headers", &why);
    int rc = h ? 0 : -1;
    for (size_t i = 0; h && i < h->len && rc == 0; i++) {
        const struct oc_node *v = h->items[i];
        if (v->str && strpbrk(v->str, "\r\n")) {
            const struct oc_pos *at = &t->headers->items[i]->pos;
            why = oc_xasprintf("%s:%u:%u: header %s: its value holds a line break",
                               at->file ? at->file : "config", at->line, at->col,
                               h->keys[i]->str);
            rc = -1;
        } else {
            oc_kv_add(&s->headers, &s->n_headers, h->keys[i]->str, v->str ? v->str : "");
        }
    }
    if (rc != 0)
        oc_log(ORCH_LOG_ERROR, "trace", "telemetry.traces.headers: %s: traces are not exported",
               why ? why : "cannot resolve");
    free(why);
    /* The copy held the resolved secrets: cleared before it is freed. */
    for (size_t i = 0; h && i < h->len; i++)
        if (h->items[i]->str)
            memset(h->items[i]->str, 0, strlen(h->items[i]->str));
    oc_node_free(h);
    return rc;
}

static int oc_settings_file(const struct oc_telemetry *t, struct oc_trace_settings *s)
{
    oc_env_unread(t);
    /* Both were checked where the file was read. */
    oc_sampler_parse(t->sampler ? t->sampler : OC_SAMPLER_DEFAULT, t->sampler_arg, &s->sampler);
    if (!oc_sampler_keeps_any(&s->sampler))
        return 0;
    s->url = oc_xstrdup(t->endpoint); /* required where the file was read */
    s->json = t->json;
    s->timeout_ms = t->timeout_ms; /* defaulted there too */
    s->service_name = t->service_name ? oc_xstrdup(t->service_name) : NULL;
    for (size_t i = 0; t->resource_attributes && i < t->resource_attributes->len; i++) {
        const struct oc_node *v = t->resource_attributes->items[i];
        oc_kv_add(&s->res, &s->n_res, t->resource_attributes->keys[i]->str,
                  v->str ? v->str : "");
    }
    return oc_file_headers(t, s) == 0;
}

int oc_trace_settings_read(const struct oc_telemetry *file, struct oc_trace_settings *s)
{
    memset(s, 0, sizeof *s);
    const char *off = oc_env("OTEL_SDK_DISABLED", NULL);
    int rc = off && !strcasecmp(off, "true") ? 0
             : file && file->set              ? oc_settings_file(file, s)
                                              : oc_settings_env(s);
    if (!rc)
        oc_trace_settings_free(s);
    return rc;
}
