/* Blobs as S3 objects under PREFIX/: a put streams from the reader in
 * parts (one PUT below the multipart threshold; a multipart upload above
 * it, aborted when any part fails), every part's ETag checked against its
 * MD5; a get streams to the writer and checks the object's ETag (MD5, or
 * the MD5 of part MD5s for a multipart object) at the end. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orch/kit.h>

#include "s3.h"

static char *s3_full_key(struct orch_store *st, const char *key)
{
    size_t n = strlen(st->prefix) + strlen(key) + 1;
    char *k = s3_host->alloc(n);
    if (k)
        snprintf(k, n, "%s%s", st->prefix, key);
    return k;
}

/* Fill buf (cap bytes) from rd; the byte count, or -1. */
static int64_t s3_fill(orch_read_fn rd, void *ud, char *buf, uint64_t cap, int *eof)
{
    uint64_t len = 0;
    while (len < cap) {
        int64_t n = rd(ud, buf + len, cap - len);
        if (n < 0)
            return -1;
        if (n == 0) {
            *eof = 1;
            break;
        }
        len += (uint64_t)n;
    }
    return (int64_t)len;
}

/* The ETag the server gave must be the MD5 we computed. */
static orch_status s3_check_etag(const struct s3_resp *r, const char *want, const char *key,
                                 const char *what, struct orch_error *err)
{
    if (!strcmp(r->etag, want))
        return ORCH_OK;
    return s3_host->error_set(err, ORCH_E_IO,
                              "%s %s: checksum mismatch (ETag %s, MD5 %s): the data was "
                              "corrupted in transit",
                              what, key, r->etag[0] ? r->etag : "(none)", want);
}

struct s3_mpu {
    char *upload_id;             /* escaped for a query */
    EVP_MD_CTX *whole;           /* MD5 of all the data, for services that give that */
    struct oc_parts {
        unsigned char md5[16];
        char etag[40];
    } *parts;
    int n;
};

static orch_status s3_part(struct orch_store *st, const char *fk, struct s3_mpu *m,
                           const char *buf, size_t len, struct orch_error *err)
{
    struct oc_parts *np = s3_host->realloc(m->parts, (size_t)(m->n + 1) * sizeof *np);
    if (!np)
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    m->parts = np;
    struct oc_parts *p = &m->parts[m->n];
    unsigned mdlen = 0;
    EVP_Digest(buf, len, p->md5, &mdlen, EVP_md5(), NULL);
    EVP_DigestUpdate(m->whole, buf, len);
    for (int i = 0; i < 16; i++)
        snprintf(p->etag + 2 * i, 3, "%02x", p->md5[i]);
    char q[512];
    snprintf(q, sizeof q, "partNumber=%d&uploadId=%s", m->n + 1, m->upload_id);
    struct s3_resp r;
    orch_status rc = s3_request(st, "PUT", fk, q, buf, len, NULL, NULL, &r, err);
    if (rc == ORCH_OK && r.status / 100 != 2)
        rc = s3_fail(st, &r, "upload part of", fk, err);
    if (rc == ORCH_OK)
        rc = s3_check_etag(&r, p->etag, fk, "part of", err);
    s3_resp_free(&r);
    if (rc == ORCH_OK)
        m->n++;
    return rc;
}

static orch_status s3_complete(struct orch_store *st, const char *fk, struct s3_mpu *m,
                               struct orch_error *err)
{
    size_t cap = 128 + (size_t)m->n * 96, len = 0;
    char *xml = s3_host->alloc(cap);
    if (!xml)
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    len += (size_t)snprintf(xml + len, cap - len, "<CompleteMultipartUpload>");
    for (int i = 0; i < m->n; i++)
        len += (size_t)snprintf(xml + len, cap - len,
                                "<Part><PartNumber>%d</PartNumber><ETag>\"%s\"</ETag></Part>",
                                i + 1, m->parts[i].etag);
    len += (size_t)snprintf(xml + len, cap - len, "</CompleteMultipartUpload>");
    char q[400];
    snprintf(q, sizeof q, "uploadId=%s", m->upload_id);
    struct s3_resp r;
    orch_status rc = s3_request(st, "POST", fk, q, xml, len, NULL, NULL, &r, err);
    s3_host->free(xml);
    /* S3 may answer 200 and put an error in the body. */
    if (rc == ORCH_OK && (r.status / 100 != 2 || (r.body && strstr(r.body, "<Error>"))))
        rc = s3_fail(st, &r, "complete the upload of", fk, err);
    if (rc == ORCH_OK) {
        /* The object's ETag: MD5 of the parts' MD5s, "-" the part count. */
        unsigned char *all = s3_host->alloc((size_t)m->n * 16 + 1), d[EVP_MAX_MD_SIZE];
        unsigned dn = 0;
        char want[48];
        for (int i = 0; all && i < m->n; i++)
            memcpy(all + 16 * i, m->parts[i].md5, 16);
        EVP_Digest(all, (size_t)m->n * 16, d, &dn, EVP_md5(), NULL);
        s3_host->free(all);
        for (int i = 0; i < 16; i++)
            snprintf(want + 2 * i, 3, "%02x", d[i]);
        snprintf(want + 32, sizeof want - 32, "-%d", m->n);
        char *etag = r.body ? s3_xml_text(r.body, r.len, "ETag") : NULL;
        if (etag) {
            char *e = etag;
            while (*e == '"')
                e++;
            snprintf(r.etag, sizeof r.etag, "%.*s", (int)strcspn(e, "\""), e);
            free(etag); /* libc memory, from s3_xml_text */
        }
        /* S3 gives the multipart form; some compatible services the MD5
         * of the whole object. Either proves the parts were assembled. */
        char whole[33];
        dn = 0;
        EVP_DigestFinal_ex(m->whole, d, &dn);
        for (int i = 0; i < 16; i++)
            snprintf(whole + 2 * i, 3, "%02x", d[i]);
        rc = s3_check_etag(&r, strcmp(r.etag, whole) ? want : whole, fk, "upload of", err);
    }
    s3_resp_free(&r);
    return rc;
}

static void s3_abort(struct orch_store *st, const char *fk, struct s3_mpu *m)
{
    char q[400];
    snprintf(q, sizeof q, "uploadId=%s", m->upload_id);
    struct s3_resp r;
    struct orch_error e = {0};
    if (s3_request(st, "DELETE", fk, q, NULL, 0, NULL, NULL, &r, &e) != ORCH_OK ||
        r.status / 100 != 2)
        s3_host->log(NULL, ORCH_LOG_WARN, "s3: abort multipart upload of %s failed (HTTP "
                     "%ld); the bucket's lifecycle rule must clean it up", fk, r.status);
    s3_resp_free(&r);
    s3_host->error_set(&e, ORCH_OK, NULL);
}

static orch_status s3_multipart(struct orch_store *st, const char *fk, char *buf,
                                uint64_t first, orch_read_fn rd, void *ud,
                                struct orch_error *err)
{
    struct s3_resp r;
    /* "uploads=", not "uploads": libcurl 7.88 signs a query without '='
     * as is, where SigV4 wants "uploads=" (S3 refuses the signature). */
    orch_status rc = s3_request(st, "POST", fk, "uploads=", NULL, 0, NULL, NULL, &r, err);
    if (rc == ORCH_OK && r.status / 100 != 2)
        rc = s3_fail(st, &r, "start a multipart upload of", fk, err);
    char *id = rc == ORCH_OK && r.body ? s3_xml_text(r.body, r.len, "UploadId") : NULL;
    s3_resp_free(&r);
    if (rc != ORCH_OK)
        return rc;
    if (!id)
        return s3_host->error_set(err, ORCH_E_PROTOCOL, "no UploadId for %s", fk);
    struct s3_mpu m = {.upload_id = s3_escape(id, 0), .whole = EVP_MD_CTX_new()};
    free(id); /* libc memory, from s3_xml_text */
    if (!m.upload_id || !m.whole) {
        s3_host->free(m.upload_id);
        EVP_MD_CTX_free(m.whole);
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    EVP_DigestInit_ex(m.whole, EVP_md5(), NULL);
    uint64_t len = first;
    int eof = 0;
    for (;;) {
        if ((rc = s3_part(st, fk, &m, buf, (size_t)len, err)) != ORCH_OK || eof)
            break;
        int64_t n = s3_fill(rd, ud, buf, st->part_size, &eof);
        if (n < 0) {
            rc = s3_host->error_set(err, ORCH_E_IO, "reading blob %s failed", fk);
            break;
        }
        if (n == 0)
            break;
        len = (uint64_t)n;
    }
    if (rc == ORCH_OK)
        rc = s3_complete(st, fk, &m, err);
    if (rc != ORCH_OK)
        s3_abort(st, fk, &m);
    s3_host->free(m.upload_id);
    s3_host->free(m.parts);
    EVP_MD_CTX_free(m.whole);
    return rc;
}

orch_status s3_blob_put(struct orch_store *st, const char *key, orch_read_fn rd, void *ud,
                        struct orch_error *err)
{
    if (!pk_blob_key_ok(key))
        return s3_host->error_set(err, ORCH_E_INVALID_ARG, "invalid blob key '%s'",
                                  key ? key : "");
    char *fk = s3_full_key(st, key);
    /* open() keeps threshold <= part_size: every part but the last is
     * exactly part_size, which a get needs to check a multipart ETag. */
    char *buf = fk ? s3_host->alloc(st->part_size) : NULL;
    if (!buf) {
        s3_host->free(fk);
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    int eof = 0;
    /* Up to the threshold decides: one PUT, or parts. */
    int64_t n = s3_fill(rd, ud, buf, st->threshold, &eof);
    orch_status rc;
    if (n < 0) {
        rc = s3_host->error_set(err, ORCH_E_IO, "reading blob %s failed", key);
    } else if (eof) {
        struct s3_resp r;
        char md5[33];
        s3_md5_hex(buf, (size_t)n, md5);
        rc = s3_request(st, "PUT", fk, NULL, buf, (size_t)n, NULL, NULL, &r, err);
        if (rc == ORCH_OK && r.status / 100 != 2)
            rc = s3_fail(st, &r, "put", fk, err);
        if (rc == ORCH_OK)
            rc = s3_check_etag(&r, md5, fk, "put", err);
        s3_resp_free(&r);
    } else {
        /* The first part is what was read so far, topped up to a part. */
        uint64_t first = (uint64_t)n;
        if (first < st->part_size) {
            int64_t more = s3_fill(rd, ud, buf + first, st->part_size - first, &eof);
            first = more < 0 ? first : first + (uint64_t)more;
        }
        rc = s3_multipart(st, fk, buf, first, rd, ud, err);
    }
    s3_host->free(buf);
    s3_host->free(fk);
    return rc;
}

struct s3_get {
    orch_write_fn wr;
    void *ud;
    EVP_MD_CTX *whole, *part;
    uint64_t part_size, in_part;
    int parts;
    struct oc_buf_md5 {
        unsigned char *d;
        size_t n, cap;
    } md5s;
};

static void s3_get_close_part(struct s3_get *g)
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    EVP_DigestFinal_ex(g->part, d, &n);
    if (g->md5s.n + 16 > g->md5s.cap) {
        size_t nc = (g->md5s.cap + 16) * 2;
        unsigned char *nd = s3_host->realloc(g->md5s.d, nc);
        if (!nd)
            return;
        g->md5s.d = nd;
        g->md5s.cap = nc;
    }
    memcpy(g->md5s.d + g->md5s.n, d, 16);
    g->md5s.n += 16;
    g->parts++;
    g->in_part = 0;
    EVP_DigestInit_ex(g->part, EVP_md5(), NULL);
}

/* The MD5 of the whole, and of each part_size piece, as the data goes by:
 * either can be what the ETag is. */
static int32_t s3_get_write(void *ud, const void *buf, uint64_t len)
{
    struct s3_get *g = ud;
    EVP_DigestUpdate(g->whole, buf, len);
    const char *p = buf;
    uint64_t left = len;
    while (left) {
        uint64_t k = g->part_size - g->in_part < left ? g->part_size - g->in_part : left;
        EVP_DigestUpdate(g->part, p, k);
        g->in_part += k;
        p += k;
        left -= k;
        if (g->in_part == g->part_size)
            s3_get_close_part(g);
    }
    return g->wr(g->ud, buf, len);
}

orch_status s3_blob_get(struct orch_store *st, const char *key, orch_write_fn wr, void *ud,
                        struct orch_error *err)
{
    char *fk = s3_full_key(st, key);
    if (!fk)
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct s3_get g = {.wr = wr, .ud = ud, .whole = EVP_MD_CTX_new(), .part = EVP_MD_CTX_new(),
                       .part_size = st->part_size};
    EVP_DigestInit_ex(g.whole, EVP_md5(), NULL);
    EVP_DigestInit_ex(g.part, EVP_md5(), NULL);
    struct s3_resp r;
    orch_status rc = s3_request(st, "GET", fk, NULL, NULL, 0, s3_get_write, &g, &r, err);
    if (rc == ORCH_OK && r.status / 100 != 2)
        rc = s3_fail(st, &r, "get", fk, err);
    if (rc == ORCH_OK && r.etag[0]) {
        unsigned char d[EVP_MAX_MD_SIZE];
        unsigned n = 0;
        char want[48] = "";
        const char *dash = strchr(r.etag, '-');
        if (!dash) {
            EVP_DigestFinal_ex(g.whole, d, &n);
        } else {
            /* A multipart object: parts of this store's part_size. */
            if (g.in_part)
                s3_get_close_part(&g);
            EVP_Digest(g.md5s.d, g.md5s.n, d, &n, EVP_md5(), NULL);
        }
        for (int i = 0; i < 16; i++)
            snprintf(want + 2 * i, 3, "%02x", d[i]);
        if (dash)
            snprintf(want + 32, sizeof want - 32, "-%d", g.parts);
        /* Parts of another size (another writer, another part_size): the
         * ETag cannot be recomputed here, so it is not checked. */
        if (!dash || atoi(dash + 1) == g.parts)
            rc = s3_check_etag(&r, want, fk, "get", err);
    }
    s3_resp_free(&r);
    EVP_MD_CTX_free(g.whole);
    EVP_MD_CTX_free(g.part);
    s3_host->free(g.md5s.d);
    s3_host->free(fk);
    return rc;
}

orch_status s3_blob_delete(struct orch_store *st, const char *key, struct orch_error *err)
{
    char *fk = s3_full_key(st, key);
    if (!fk)
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct s3_resp r;
    orch_status rc = s3_request(st, "DELETE", fk, NULL, NULL, 0, NULL, NULL, &r, err);
    if (rc == ORCH_OK && r.status / 100 != 2 && r.status != 404)
        rc = s3_fail(st, &r, "delete", fk, err);
    s3_resp_free(&r);
    s3_host->free(fk);
    return rc;
}

orch_status s3_blob_list(struct orch_store *st, const char *prefix, orch_blob_fn fn,
                         void *ud, struct orch_error *err)
{
    char *fp = s3_full_key(st, prefix ? prefix : "");
    char *efp = fp ? s3_escape(fp, 0) : NULL;
    char *token = NULL;
    orch_status rc = efp ? ORCH_OK : s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    size_t plen = strlen(st->prefix);
    int stop = 0;
    while (rc == ORCH_OK && !stop) {
        size_t qn = strlen(efp) + (token ? strlen(token) : 0) + 64;
        char *q = s3_host->alloc(qn);
        if (!q) {
            rc = s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
            break;
        }
        snprintf(q, qn, "list-type=2&prefix=%s%s%s", efp, token ? "&continuation-token=" : "",
                 token ? token : "");
        struct s3_resp r;
        rc = s3_request(st, "GET", NULL, q, NULL, 0, NULL, NULL, &r, err);
        s3_host->free(q);
        if (rc == ORCH_OK && r.status / 100 != 2)
            rc = s3_fail(st, &r, "list", fp, err);
        /* The whole page is parsed before any key is handed on: a bad
         * page delivers nothing. */
        struct s3_list_page page = {0};
        char why[256];
        if (rc == ORCH_OK && r.cut)
            rc = s3_host->error_set(err, ORCH_E_PROTOCOL,
                                    "list %s in bucket %s: the answer is larger than "
                                    "orch reads (%u bytes)",
                                    fp, st->bucket, S3_BODY_MAX);
        else if (rc == ORCH_OK && s3_list_parse(r.body ? r.body : "", r.len, &page, why,
                                                sizeof why) != 0)
            rc = s3_host->error_set(err, ORCH_E_PROTOCOL, "list %s in bucket %s: %s", fp,
                                    st->bucket, why);
        for (size_t i = 0; rc == ORCH_OK && !stop && i < page.n; i++)
            if (strlen(page.items[i].key) >= plen)
                stop = fn(ud, page.items[i].key + plen, page.items[i].size) != 0;
        s3_host->free(token);
        token = rc == ORCH_OK && page.truncated ? s3_escape(page.next, 0) : NULL;
        s3_list_page_free(&page);
        s3_resp_free(&r);
        if (!token)
            break;
    }
    s3_host->free(token);
    s3_host->free(efp);
    s3_host->free(fp);
    return rc;
}
