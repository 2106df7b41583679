/* Private to core/trace: a finished span as the exporter queues it. */
#ifndef OC_TRACE_INTERNAL_H
#define OC_TRACE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "trace.h"

struct oc_span_attr {
    char *key;
    char *str;                   /* NULL: an integer attribute */
    int64_t num;
};

struct oc_span_event {
    uint64_t time_ns;
    char *name;
};

struct oc_span {
    uint8_t trace_id[16], span_id[8], parent_id[8];
    int has_parent;
    char *name;
    uint64_t start_ns, end_ns;
    int status;                  /* 0 unset, 1 ok, 2 error (OTLP's codes) */
    char *status_message;
    struct oc_span_attr *attrs;
    size_t n_attrs;
    struct oc_span_event *events;
    size_t n_events;
};

void oc_span_free(struct oc_span *s);
void oc_span_attr_str(struct oc_span *s, const char *key, const char *value);
void oc_span_attr_int(struct oc_span *s, const char *key, int64_t value);
void oc_span_event_add(struct oc_span *s, uint64_t time_ns, const char *name);

/* Deterministic ids (SHA-256 of what names the span). */
void oc_trace_id_of(const char *run_id, uint8_t out[16]);
void oc_span_id_of(const char *kind, const char *run_id, const char *step_id,
                   uint32_t attempt, uint8_t out[8]);

/* What the exporter is told (settings.c): from telemetry.traces or the
 * OTEL_* variables, never a mix of the two. */
struct oc_trace_kv {
    char *key, *value;
};
struct oc_trace_settings {
    char *url;
    int json;
    struct oc_trace_kv *headers;
    size_t n_headers;
    int64_t timeout_ms;
    struct oc_sampler sampler;
    char *service_name;          /* NULL: the process's default */
    struct oc_trace_kv *res;     /* resource attributes as given */
    size_t n_res;
};
/* 1 with *s filled: export; 0: no export (the reason logged when it is a
 * mistake, not a choice). file NULL or unset: the variables. */
int oc_trace_settings_read(const struct oc_telemetry *file, struct oc_trace_settings *s);
void oc_trace_settings_free(struct oc_trace_settings *s);
void oc_trace_kvs_free(struct oc_trace_kv *kv, size_t n);

/* sampler.c: the verdict for a trace (the same in every process); whether
 * the sampler can keep any at all. */
int oc_sampler_keeps(const struct oc_sampler *s, const uint8_t trace_id[16],
                     const struct oc_trace_parent *parent);
int oc_sampler_keeps_any(const struct oc_sampler *s);

/* The exporter (export.c), made from settings it takes over; NULL when its
 * thread cannot start. */
struct oc_exporter;
struct oc_exporter *oc_exporter_new(struct oc_trace_settings *s, const char *service);
/* Takes s over; drops (and counts) it when the queue is full. */
void oc_exporter_add(struct oc_exporter *x, struct oc_span *s);
uint64_t oc_exporter_dropped(const struct oc_exporter *x);
void oc_exporter_free(struct oc_exporter *x);
const struct oc_sampler *oc_exporter_sampler(const struct oc_exporter *x);

/* n bytes as 2n lowercase hex digits and a NUL (context.c, Nettle's base16). */
void oc_trace_hex(const uint8_t *b, size_t n, char *out);

#endif
