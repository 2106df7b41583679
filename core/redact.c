/* Secret redaction: every registered value is replaced by "***" in
 * whatever orch prints or stores. Candidates are indexed by first byte so
 * a scan costs one table lookup per byte of input. */
#include <stdlib.h>
#include <string.h>

#include "template.h"
#include "util.h"

struct oc_secret_ent {
    char *s;
    size_t len;
};

struct oc_redactor {
    struct oc_secret_ent *ents; /* longest first */
    size_t n;
    unsigned char first[256];   /* any secret starts with this byte */
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
    free(r);
}

void oc_redactor_add(struct oc_redactor *r, const char *secret)
{
    size_t len = secret ? strlen(secret) : 0;
    if (!r || len < 4)
        return;
    for (size_t i = 0; i < r->n; i++)
        if (r->ents[i].len == len && !memcmp(r->ents[i].s, secret, len))
            return;
    r->ents = oc_xrealloc(r->ents, (r->n + 1) * sizeof *r->ents);
    size_t at = r->n;
    while (at > 0 && r->ents[at - 1].len < len) {
        r->ents[at] = r->ents[at - 1];
        at--;
    }
    r->ents[at] = (struct oc_secret_ent){oc_xstrdup(secret), len};
    r->n++;
    r->first[(unsigned char)secret[0]] = 1;
}

char *oc_redact(const struct oc_redactor *r, const char *in, size_t len,
                size_t *out_len)
{
    struct oc_buf b = {0};
    size_t i = 0, lit = 0;
    while (r && r->n && i < len) {
        size_t hit = 0;
        if (r->first[(unsigned char)in[i]])
            for (size_t k = 0; k < r->n; k++)
                if (r->ents[k].len <= len - i && !memcmp(in + i, r->ents[k].s, r->ents[k].len)) {
                    hit = r->ents[k].len;
                    break;
                }
        if (!hit) {
            i++;
            continue;
        }
        oc_buf_add(&b, in + lit, i - lit);
        oc_buf_add(&b, "***", 3);
        i += hit;
        lit = i;
    }
    oc_buf_add(&b, in + lit, len - lit);
    *out_len = b.len;
    return oc_buf_steal(&b);
}
