/* Requests to S3 through the kit's HTTP client (orch/kit_http.h): URLs
 * (path-style or virtual-host), SigV4 by libcurl
 * with the payload's SHA-256 signed, Content-MD5 on every body so the
 * server rejects a corrupted one, and retries with backoff where S3 says
 * to retry (5xx, 503 SlowDown) or the network failed. */
#define _POSIX_C_SOURCE 200809L
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "s3.h"

void s3_resp_free(struct s3_resp *r)
{
    s3_host->free(r->body);
    r->body = NULL;
    r->len = 0;
    r->cut = 0;
}

static void s3_digest(const char *md, const void *data, size_t len, unsigned char *out,
                      unsigned *outlen)
{
    EVP_Digest(data, len, out, outlen, EVP_get_digestbyname(md), NULL);
}

void s3_md5_hex(const void *data, size_t len, char out[33])
{
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned n = 0;
    s3_digest("MD5", data, len, d, &n);
    for (unsigned i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

char *s3_escape(const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = s3_host->alloc(3 * n + 1), *o = out;
    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '.' || *p == '_' || *p == '~' || (keep_slash && *p == '/')) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = 0;
    return out;
}

/* A 2xx answer's body on its way to the caller's writer, across tries. */
struct s3_xfer {
    orch_write_fn wr;
    void *ud;
    uint64_t written;            /* bytes handed to wr, over every try */
};

static size_t s3_on_header(char *b, size_t size, size_t n, void *ud)
{
    struct s3_resp *resp = ud;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(b, "ETag:", 5)) {
        const char *v = b + 5;
        while (*v == ' ' || *v == '"')
            v++;
        size_t k = 0;
        while (v + k < b + len && v[k] != '"' && v[k] != '\r' && v[k] != '\n' &&
               k + 1 < sizeof resp->etag)
            k++;
        memcpy(resp->etag, v, k);
        resp->etag[k] = 0;
    }
    return len;
}

static size_t s3_on_data(char *b, size_t size, size_t n, void *ud)
{
    struct s3_xfer *x = ud;
    size_t len = size * n;
    if (x->wr(x->ud, b, len) != 0)
        return 0;
    x->written += len;
    return len;
}

/* The URL of key (NULL: the bucket) with query; host memory. */
static char *s3_url(struct orch_store *st, const char *key, const char *query)
{
    char *path = key ? s3_escape(key, 1) : NULL;
    if (key && !path)
        return NULL;
    const char *q = query ? "?" : "", *qs = query ? query : "";
    size_t need = strlen(st->endpoint) + strlen(st->bucket) + (path ? strlen(path) : 0) +
                  strlen(qs) + 16;
    char *url = s3_host->alloc(need);
    if (url) {
        if (st->path_style) {
            snprintf(url, need, "%s/%s%s%s%s%s", st->endpoint, st->bucket, path ? "/" : "",
                     path ? path : "", q, qs);
        } else {
            const char *host = strstr(st->endpoint, "://");
            int scheme = host ? (int)(host - st->endpoint) + 3 : 0;
            snprintf(url, need, "%.*s%s.%s/%s%s%s", scheme, st->endpoint, st->bucket,
                     st->endpoint + scheme, path ? path : "", q, qs);
        }
    }
    s3_host->free(path);
    return url;
}

static int s3_retryable(CURLcode cc, long status)
{
    if (cc == CURLE_OK)
        return status == 500 || status == 502 || status == 503 || status == 504;
    return cc == CURLE_OPERATION_TIMEDOUT || cc == CURLE_COULDNT_CONNECT ||
           cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR || cc == CURLE_GOT_NOTHING ||
           cc == CURLE_PARTIAL_FILE;
}

/* The headers every try of a request carries: the payload's SHA-256
 * (signed) and MD5 (checked by the server), the session token. NULL when
 * out of memory. */
static struct curl_slist *s3_headers(struct orch_store *st, const void *body, size_t body_len)
{
    unsigned char sha[EVP_MAX_MD_SIZE], md5[EVP_MAX_MD_SIZE];
    unsigned shan = 0, md5n = 0;
    s3_digest("SHA256", body ? body : "", body ? body_len : 0, sha, &shan);
    char sha_hdr[100] = "x-amz-content-sha256: ";
    for (unsigned i = 0; i < shan; i++)
        snprintf(sha_hdr + strlen(sha_hdr), 3, "%02x", sha[i]);
    struct curl_slist *h = curl_slist_append(NULL, sha_hdr);
    h = h ? curl_slist_append(h, "Expect:") : NULL;
    if (h && body) {
        char md5_hdr[64] = "Content-MD5: ";
        s3_digest("MD5", body, body_len, md5, &md5n);
        EVP_EncodeBlock((unsigned char *)md5_hdr + strlen(md5_hdr), md5, (int)md5n);
        h = curl_slist_append(h, md5_hdr);
        h = h ? curl_slist_append(h, "Content-Type: application/octet-stream") : NULL;
    }
    if (h && st->token_hdr)
        h = curl_slist_append(h, st->token_hdr);
    return h;
}

/* SigV4 by libcurl, when the store has credentials. */
static void s3_setup(CURL *c, void *ud)
{
    struct orch_store *st = ud;
    if (st->userpwd) {
        curl_easy_setopt(c, CURLOPT_USERPWD, st->userpwd);
        curl_easy_setopt(c, CURLOPT_AWS_SIGV4, st->sigv4);
    }
}

/* One try; a retry of a read resumes with a Range from where the writer
 * stopped. The answer lands in resp. */
static orch_status s3_try(struct orch_store *st, struct pk_http_req *rq,
                          const struct curl_slist *base, struct s3_xfer *x,
                          struct s3_resp *resp, struct pk_http_resp *hr)
{
    struct curl_slist *range = NULL;
    char rh[64];
    if (x->wr && x->written) {
        snprintf(rh, sizeof rh, "Range: bytes=%llu-", (unsigned long long)x->written);
        for (const struct curl_slist *h = base; h; h = h->next)
            range = curl_slist_append(range, h->data);
        range = range ? curl_slist_append(range, rh) : NULL;
        if (!range)
            return ORCH_E_NOMEM;
    }
    rq->headers = range ? range : base;
    s3_resp_free(resp);
    resp->etag[0] = 0;
    orch_status rc = pk_http_perform(&st->http, rq, hr);
    curl_slist_free_all(range);
    resp->status = hr->status;
    resp->body = hr->body.p; /* host memory: the response's now */
    resp->len = hr->body.len;
    resp->cut = hr->cut;
    hr->body.p = NULL;
    hr->body.len = hr->body.cap = 0;
    return rc;
}

orch_status s3_request(struct orch_store *st, const char *method, const char *key,
                       const char *query, const void *body, size_t body_len,
                       orch_write_fn wr, void *ud, struct s3_resp *resp,
                       struct orch_error *err)
{
    memset(resp, 0, sizeof *resp);
    char *url = s3_url(st, key, query);
    struct curl_slist *h = url ? s3_headers(st, body, body_len) : NULL;
    if (!url || !h) {
        s3_host->free(url);
        curl_slist_free_all(h);
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    struct s3_xfer x = {.wr = wr, .ud = ud};
    /* No ctx: a store's calls have none, so curl's own limits bound each
     * try. */
    struct pk_http_req rq = {.method = method, .url = url, .body = body, .body_len = body_len,
                             .write_cb = wr ? s3_on_data : NULL, .write_ud = &x,
                             .body_max = S3_BODY_MAX, .header_cb = s3_on_header,
                             .header_ud = resp, .timeout_ms = st->timeout_ms,
                             .connect_timeout_ms = 10000, .setup = s3_setup, .setup_ud = st};
    struct pk_http_resp hr = {0};
    orch_status rc;
    int64_t delay_ms = 200;
    for (int attempt = 0;; attempt++) {
        rc = s3_try(st, &rq, h, &x, resp, &hr);
        if (rc == ORCH_OK && hr.write_stopped) {
            rc = s3_host->error_set(err, ORCH_E_CANCELLED, "%s: the reader stopped", key);
            break;
        }
        if (rc != ORCH_OK || attempt >= st->retries || !s3_retryable(hr.curl, resp->status))
            break;
        pk_pause(s3_host, NULL, delay_ms, 0);
        delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
    }
    if (rc == ORCH_OK && hr.curl != CURLE_OK) {
        char what[600];
        snprintf(what, sizeof what, "%s %s", method, key ? key : st->bucket);
        rc = pk_http_error(s3_host, err, rc, &hr, what);
    } else if (rc == ORCH_E_NOMEM) {
        rc = s3_host->error_set(err, rc, "out of memory");
    }
    pk_http_resp_free(&hr);
    curl_slist_free_all(h);
    s3_host->free(url);
    return rc;
}

orch_status s3_fail(struct orch_store *st, const struct s3_resp *r, const char *what,
                    const char *key, struct orch_error *err)
{
    char *code = r->body ? s3_xml_text(r->body, r->len, "Code") : NULL;
    char *msg = r->body ? s3_xml_text(r->body, r->len, "Message") : NULL;
    orch_status rc = ORCH_E_IO;
    const char *hint = "";
    if (r->status == 404 && code && !strcmp(code, "NoSuchKey"))
        rc = ORCH_E_NOT_FOUND;
    else if (code && !strcmp(code, "NoSuchBucket")) {
        rc = ORCH_E_CONFIG;
        hint = " (check the store's bucket option)";
    } else if (r->status == 403) {
        rc = ORCH_E_CONFIG;
        hint = " (check access_key and secret_key)";
    } else if (r->status == 404 && !code) {
        rc = ORCH_E_NOT_FOUND;
    } else if (r->status >= 500) {
        rc = ORCH_E_TRANSIENT;
    }
    orch_status out = s3_host->error_set(
        err, rc, "%s %s in bucket %s: HTTP %ld %s%s%s%s", what, key ? key : "",
        st->bucket, r->status, code ? code : "", msg ? ": " : "", msg ? msg : "", hint);
    free(code); /* libc memory, from s3_xml_text */
    free(msg);
    return out;
}
