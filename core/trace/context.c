/* The W3C Trace Context's traceparent (https://www.w3.org/TR/trace-context/):
 * read from a caller (the traceparent header of POST /v1/runs and of a
 * webhook, orch run's TRACEPARENT) and written for a step's command. A
 * malformed one is ignored, as the specification says, never an error: a
 * caller's tracing must not be able to stop its run. */
#include <stdio.h>
#include <string.h>

#include <nettle/base16.h>

#include "../host.h"
#include "internal.h"
#include "trace.h"

void oc_trace_hex(const uint8_t *b, size_t n, char *out)
{
    base16_encode_update(out, n, b);
    out[2 * n] = 0;
}

/* n lowercase hex digits at s into n / 2 bytes: Nettle's decoder also takes
 * upper case and skips spaces, which a traceparent may not hold. */
static int oc_hex_field(const char *s, size_t n, uint8_t *out)
{
    if (strspn(s, "0123456789abcdef") < n)
        return -1;
    struct base16_decode_ctx c;
    size_t len = 0;
    base16_decode_init(&c);
    if (!base16_decode_update(&c, &len, out, n, s) || !base16_decode_final(&c) || len != n / 2)
        return -1;
    return 0;
}

static int oc_all_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

int oc_traceparent_parse(const char *text, struct oc_trace_parent *out)
{
    size_t len = text ? strlen(text) : 0;
    uint8_t version, flags;
    struct oc_trace_parent p;
    if (len < OC_TRACEPARENT_LEN || oc_hex_field(text, 2, &version) != 0 || version == 0xff)
        return -1;
    /* Version 00 is exactly these 55 characters. A later version starts
     * with the same four fields and may go on after a dash: those fields
     * are read and the rest, not ours to know, is dropped. */
    if (version == 0 ? len != OC_TRACEPARENT_LEN : len > OC_TRACEPARENT_LEN && text[55] != '-')
        return -1;
    if (text[2] != '-' || text[35] != '-' || text[52] != '-' ||
        oc_hex_field(text + 3, 32, p.trace_id) != 0 ||
        oc_hex_field(text + 36, 16, p.span_id) != 0 || oc_hex_field(text + 53, 2, &flags) != 0)
        return -1;
    if (oc_all_zero(p.trace_id, sizeof p.trace_id) || oc_all_zero(p.span_id, sizeof p.span_id))
        return -1;
    p.sampled = flags & 1; /* the one flag of version 00; the others are not ours to pass on */
    *out = p;
    return 0;
}

int oc_traceparent_take(const char *text, const char *what, struct oc_trace_parent *out)
{
    if (!text)
        return -1;
    if (oc_traceparent_parse(text, out) == 0)
        return 0;
    /* The caller's text, shortened and printable, so that the line says
     * what was wrong without carrying whatever the header held. */
    char shown[68];
    size_t n = 0;
    for (; text[n] && n < 64; n++)
        shown[n] = text[n] > ' ' && text[n] < 127 ? text[n] : '?';
    snprintf(shown + n, sizeof shown - n, "%s", text[n] ? "..." : "");
    oc_log(ORCH_LOG_WARN, "trace", "%s '%s' is not a W3C traceparent (00-<32 hex>-<16 hex>-"
           "<2 hex>, lower case, ids not all zeros): ignored, the run has a trace of its own",
           what, shown);
    return -1;
}

void oc_traceparent_format(const uint8_t trace_id[16], const uint8_t span_id[8], int sampled,
                           char out[OC_TRACEPARENT_LEN + 1])
{
    char t[33], s[17];
    oc_trace_hex(trace_id, 16, t);
    oc_trace_hex(span_id, 8, s);
    snprintf(out, OC_TRACEPARENT_LEN + 1, "00-%s-%s-%s", t, s, sampled ? "01" : "00");
}
