/* Secret redaction: every registered value, and the forms it takes when a
 * user encodes it by accident (base64, URL escaping, JSON escaping, each
 * line of a multi-line value), is replaced by "***" in whatever orch
 * prints or stores.
 *
 * Output arrives in chunks cut anywhere, so a stream keeps back the few
 * bytes at its end that could still be the start of a secret (never more
 * than the longest registered form less one byte) and emits them once the
 * next bytes, or the end of the stream, decide.
 *
 * The hot path is the scan of output that contains no secret. Every form
 * is at least 4 bytes, so (as in Wu-Manber's search) when the two bytes
 * at offsets 2 and 3 of a window occur in no form's first four bytes, no
 * form starts at any of the window's first three positions and the scan
 * moves on by three: about one table lookup for every three bytes, however
 * many forms are registered. A bitmap of every form's first two bytes
 * then rejects most of the positions left, and the forms compared at a
 * position are only those whose first four bytes hash to the same bucket
 * (a large multi-line secret registers thousands of lines). */
#include <nettle/base64.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "template.h"
#include "util.h"

#define OC_BUCKETS 1024

struct oc_secret_ent {
    char *s;
    size_t len;
};

struct oc_redactor {
    struct oc_secret_ent *ents; /* longest first */
    size_t n;
    size_t longest;
    unsigned char first[256];   /* some form starts with this byte */
    uint64_t pair[65536 / 64];  /* some form starts with these two bytes */
    uint64_t block[65536 / 64]; /* these two bytes are in some form's first four */
    /* The forms by a hash of their first four bytes: bucket b holds
     * ents[bidx[bstart[b]]] .. ents[bidx[bstart[b + 1] - 1]], longest first. */
    uint32_t bstart[OC_BUCKETS + 1];
    uint32_t *bidx;
};

struct oc_redactor *oc_redactor_new(void)
{
    return oc_xcalloc(1, sizeof(struct oc_redactor));
}

void oc_redactor_free(struct oc_redactor *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n; i++)
        free(r->ents[i].s);
    free(r->ents);
    free(r->bidx);
    free(r);
}

static unsigned oc_pair_key(const char *p)
{
    return (unsigned)(unsigned char)p[0] << 8 | (unsigned char)p[1];
}

static int oc_bit(const uint64_t *set, const char *p)
{
    unsigned k = oc_pair_key(p);
    return (int)(set[k >> 6] >> (k & 63) & 1);
}

/* Every form is at least 4 bytes: bucketed by a hash of the first four. */
static unsigned oc_bucket(const char *p)
{
    uint32_t k = (uint32_t)(unsigned char)p[0] << 24 | (uint32_t)(unsigned char)p[1] << 16 |
                 (uint32_t)(unsigned char)p[2] << 8 | (unsigned char)p[3];
    return (k * 2654435761u) >> 22 & (OC_BUCKETS - 1);
}

/* Counting sort of the forms into their buckets, keeping the order. */
static void oc_redactor_index(struct oc_redactor *r)
{
    memset(r->bstart, 0, sizeof r->bstart);
    for (size_t i = 0; i < r->n; i++)
        r->bstart[oc_bucket(r->ents[i].s) + 1]++;
    for (size_t b = 0; b < OC_BUCKETS; b++)
        r->bstart[b + 1] += r->bstart[b];
    uint32_t fill[OC_BUCKETS];
    memcpy(fill, r->bstart, sizeof fill);
    free(r->bidx);
    r->bidx = oc_xmalloc((r->n + 1) * sizeof *r->bidx);
    for (size_t i = 0; i < r->n; i++)
        r->bidx[fill[oc_bucket(r->ents[i].s)]++] = (uint32_t)i;
}

static void oc_bit_set(uint64_t *set, const char *p)
{
    unsigned k = oc_pair_key(p);
    set[k >> 6] |= (uint64_t)1 << (k & 63);
}

/* Register one literal form (no derived forms). */
static void oc_redactor_add_form(struct oc_redactor *r, const char *s, size_t len)
{
    if (len < OC_REDACT_MIN)
        return;
    for (size_t i = 0; i < r->n; i++)
        if (r->ents[i].len == len && !memcmp(r->ents[i].s, s, len))
            return;
    r->ents = oc_xrealloc(r->ents, (r->n + 1) * sizeof *r->ents);
    size_t at = r->n;
    while (at > 0 && r->ents[at - 1].len < len) {
        r->ents[at] = r->ents[at - 1];
        at--;
    }
    r->ents[at] = (struct oc_secret_ent){oc_xstrndup(s, len), len};
    r->n++;
    if (len > r->longest)
        r->longest = len;
    r->first[(unsigned char)s[0]] = 1;
    oc_bit_set(r->pair, s);
    for (size_t k = 0; k < 3; k++)
        oc_bit_set(r->block, s + k);
}

/* A base64 form and its base64url twin (JWTs, URLs). */
static void oc_add_b64(struct oc_redactor *r, char *s, size_t len)
{
    oc_redactor_add_form(r, s, len);
    int changed = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '+' || s[i] == '/') {
            s[i] = s[i] == '+' ? '-' : '_';
            changed = 1;
        }
    }
    if (changed)
        oc_redactor_add_form(r, s, len);
}

/* base64 of the secret alone (with padding), and the characters that stay
 * the same whatever surrounds it when it sits at byte offset 0, 1 or 2 of
 * a longer base64-encoded text: a character is stable when its 6 bits all
 * come from the secret. */
static void oc_add_base64_forms(struct oc_redactor *r, const char *s, size_t n)
{
    size_t cap = BASE64_ENCODE_RAW_LENGTH(n + 2);
    char *enc = oc_xmalloc(cap + 1);
    base64_encode_raw(enc, n, (const uint8_t *)s);
    oc_add_b64(r, enc, BASE64_ENCODE_RAW_LENGTH(n));
    uint8_t *shifted = oc_xmalloc(n + 2);
    for (size_t off = 0; off < 3; off++) {
        memset(shifted, 0, off);
        memcpy(shifted + off, s, n);
        base64_encode_raw(enc, n + off, shifted);
        size_t from = (8 * off + 5) / 6, to = 8 * (off + n) / 6;
        if (to > from)
            oc_add_b64(r, enc + from, to - from);
    }
    free(shifted);
    free(enc);
}

/* Percent-encoding of every byte outside RFC 3986's unreserved set, which
 * is what curl_easy_escape produces (the unit test checks it against
 * libcurl); also with lower-case hex digits and with '+' for a space (HTML
 * forms). The core does not load libcurl for this: see docs/design.md. */
static void oc_add_url_forms(struct oc_redactor *r, const char *s, size_t n)
{
    static const char upper[] = "0123456789ABCDEF", lower[] = "0123456789abcdef";
    char *enc = oc_xmalloc(3 * n + 1);
    for (int variant = 0; variant < 3; variant++) {
        const char *hex = variant == 1 ? lower : upper;
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            unsigned char c = (unsigned char)s[i];
            if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '.' || c == '_' || c == '~') {
                enc[k++] = (char)c;
            } else if (variant == 2 && c == ' ') {
                enc[k++] = '+';
            } else {
                enc[k++] = '%';
                enc[k++] = hex[c >> 4];
                enc[k++] = hex[c & 15];
            }
        }
        oc_redactor_add_form(r, enc, k);
    }
    free(enc);
}

/* How the value reads inside a JSON string (event data, outputs): a quote,
 * a backslash or a control character is escaped there. */
static void oc_add_json_form(struct oc_redactor *r, const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    char *d = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
    if (d && strlen(d) >= 2)
        oc_redactor_add_form(r, d + 1, strlen(d) - 2);
    free(d);
    json_decref(j);
}

void oc_redactor_add(struct oc_redactor *r, const char *secret)
{
    size_t len = secret ? strlen(secret) : 0;
    if (!r || len < OC_REDACT_MIN)
        return;
    oc_redactor_add_form(r, secret, len);
    /* A multi-line value (a PEM key) printed line by line, or with other
     * line ends, is still masked line by line. */
    if (memchr(secret, '\n', len)) {
        for (const char *p = secret; p < secret + len;) {
            const char *e = memchr(p, '\n', (size_t)(secret + len - p));
            size_t l = e ? (size_t)(e - p) : (size_t)(secret + len - p);
            /* Indentation and line ends are not the secret. */
            const char *a = p;
            size_t t = l;
            while (t > 0 && (*a == ' ' || *a == '\t')) {
                a++;
                t--;
            }
            while (t > 0 && (a[t - 1] == '\r' || a[t - 1] == ' ' || a[t - 1] == '\t'))
                t--;
            oc_redactor_add_form(r, a, t);
            p += l + 1;
        }
    }
    oc_add_base64_forms(r, secret, len);
    oc_add_url_forms(r, secret, len);
    oc_add_json_form(r, secret, len);
    oc_redactor_index(r);
}

size_t oc_redactor_longest(const struct oc_redactor *r)
{
    return r ? r->longest : 0;
}

/* Redact in[0..len) into out. With final, everything is decided;
 * without, the scan stops at the first position where the bytes left are
 * the start of a registered form that would need more input to decide,
 * and returns that position (the caller keeps those bytes back). */
static size_t oc_redact_scan(const struct oc_redactor *r, const char *in, size_t len,
                             int final, struct oc_buf *out)
{
    size_t i = 0, lit = 0;
    while (i < len) {
        /* The fast path: skip positions where no form can begin. */
        while (i + 4 <= len) {
            if (!oc_bit(r->block, in + i + 2))
                i += 3;
            else if (!oc_bit(r->pair, in + i))
                i++;
            else
                break;
        }
        if (i + 4 > len) {
            /* The last three positions, where a form can only start. */
            while (i + 1 < len && !oc_bit(r->pair, in + i))
                i++;
            if (i + 1 >= len && (i >= len || !r->first[(unsigned char)in[i]]))
                break;
        }
        size_t hit = 0, left = len - i, from = 0, to = r->n;
        const uint32_t *order = NULL;
        if (left >= 4) {
            unsigned b = oc_bucket(in + i);
            order = r->bidx;
            from = r->bstart[b];
            to = r->bstart[b + 1];
        }
        for (size_t j = from; j < to; j++) {
            const struct oc_secret_ent *e = &r->ents[order ? order[j] : j];
            if (e->len <= left) {
                if (!memcmp(in + i, e->s, e->len)) {
                    hit = e->len;
                    break;
                }
            } else if (!final && !memcmp(in + i, e->s, left)) {
                /* Undecided; a longer form wins over a shorter one that
                 * already matches, as it would in one piece. */
                oc_buf_add(out, in + lit, i - lit);
                return i;
            }
        }
        if (!hit) {
            i++;
            continue;
        }
        oc_buf_add(out, in + lit, i - lit);
        oc_buf_add(out, "***", 3);
        i += hit;
        lit = i;
    }
    oc_buf_add(out, in + lit, len - lit);
    return len;
}

char *oc_redact(const struct oc_redactor *r, const char *in, size_t len,
                size_t *out_len)
{
    struct oc_buf b = {0};
    if (r && r->n)
        oc_redact_scan(r, in, len, 1, &b);
    else
        oc_buf_add(&b, in, len);
    *out_len = b.len;
    return oc_buf_steal(&b);
}

void oc_redact_stream(const struct oc_redactor *r, struct oc_buf *held, const char *in,
                      size_t len, struct oc_buf *out)
{
    if (!r || !r->n) {
        oc_redact_stream_end(r, held, out);
        oc_buf_add(out, in, len);
        return;
    }
    if (!held->len) {
        size_t used = oc_redact_scan(r, in, len, 0, out);
        oc_buf_add(held, in + used, len - used);
        return;
    }
    /* Rare: the last chunk ended with what may be a secret's start. */
    oc_buf_add(held, in, len);
    size_t used = oc_redact_scan(r, held->data, held->len, 0, out);
    memmove(held->data, held->data + used, held->len - used);
    held->len -= used;
    held->data[held->len] = '\0';
}

void oc_redact_stream_end(const struct oc_redactor *r, struct oc_buf *held,
                          struct oc_buf *out)
{
    if (!held->len)
        return;
    if (r && r->n)
        oc_redact_scan(r, held->data, held->len, 1, out);
    else
        oc_buf_add(out, held->data, held->len);
    held->len = 0;
    held->data[0] = '\0';
}
