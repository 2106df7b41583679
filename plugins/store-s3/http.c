/* Requests to S3: URLs (path-style or virtual-host), SigV4 by libcurl
 * with the payload's SHA-256 signed, Content-MD5 on every body so the
 * server rejects a corrupted one, and retries with backoff where S3 says
 * to retry (5xx, 503 SlowDown) or the network failed. */
#define _POSIX_C_SOURCE 200809L
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

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

struct s3_xfer {
    struct orch_store *st;
    struct s3_resp *resp;
    orch_write_fn wr;
    void *ud;
    uint64_t written;            /* bytes handed to wr, over every try */
    int wr_failed;
    size_t cap;
};

static size_t s3_on_header(char *b, size_t size, size_t n, void *ud)
{
    struct s3_xfer *x = ud;
    size_t len = size * n;
    if (len > 5 && !strncasecmp(b, "ETag:", 5)) {
        const char *v = b + 5;
        while (*v == ' ' || *v == '"')
            v++;
        size_t k = 0;
        while (v + k < b + len && v[k] != '"' && v[k] != '\r' && v[k] != '\n' &&
               k + 1 < sizeof x->resp->etag)
            k++;
        memcpy(x->resp->etag, v, k);
        x->resp->etag[k] = 0;
    }
    return len;
}

static size_t s3_on_body(char *b, size_t size, size_t n, void *ud)
{
    struct s3_xfer *x = ud;
    size_t len = size * n;
    long status = 0;
    curl_easy_getinfo(x->st->curl, CURLINFO_RESPONSE_CODE, &status);
    if (x->wr && status / 100 == 2) {
        if (x->wr(x->ud, b, len) != 0) {
            x->wr_failed = 1;
            return 0;
        }
        x->written += len;
        return len;
    }
    struct s3_resp *r = x->resp;
    if (r->len + len > S3_BODY_MAX) {
        r->cut = 1;
        return len; /* an error body that large: the start says enough */
    }
    if (r->len + len + 1 > x->cap) {
        size_t nc = (r->len + len + 1) * 2;
        char *nb = s3_host->realloc(r->body, nc);
        if (!nb)
            return 0;
        r->body = nb;
        x->cap = nc;
    }
    memcpy(r->body + r->len, b, len);
    r->len += len;
    r->body[r->len] = 0;
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

orch_status s3_request(struct orch_store *st, const char *method, const char *key,
                       const char *query, const void *body, size_t body_len,
                       orch_write_fn wr, void *ud, struct s3_resp *resp,
                       struct orch_error *err)
{
    memset(resp, 0, sizeof *resp);
    char *url = s3_url(st, key, query);
    if (!url)
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    /* The payload's SHA-256 (signed) and MD5 (checked by the server). */
    unsigned char sha[EVP_MAX_MD_SIZE], md5[EVP_MAX_MD_SIZE];
    unsigned shan = 0, md5n = 0;
    s3_digest("SHA256", body ? body : "", body ? body_len : 0, sha, &shan);
    char sha_hdr[100] = "x-amz-content-sha256: ";
    for (unsigned i = 0; i < shan; i++)
        snprintf(sha_hdr + strlen(sha_hdr), 3, "%02x", sha[i]);
    char md5_hdr[64] = "";
    if (body) {
        s3_digest("MD5", body, body_len, md5, &md5n);
        strcpy(md5_hdr, "Content-MD5: ");
        EVP_EncodeBlock((unsigned char *)md5_hdr + strlen(md5_hdr), md5, (int)md5n);
    }
    struct s3_xfer x = {.st = st, .resp = resp, .wr = wr, .ud = ud};
    orch_status rc = ORCH_OK;
    long delay_ms = 200;
    for (int attempt = 0;; attempt++) {
        CURL *c = st->curl;
        curl_easy_reset(c);
        struct curl_slist *h = NULL;
        h = curl_slist_append(h, sha_hdr);
        h = curl_slist_append(h, "Expect:");
        if (body) {
            h = curl_slist_append(h, md5_hdr);
            h = curl_slist_append(h, "Content-Type: application/octet-stream");
        }
        if (st->token_hdr)
            h = curl_slist_append(h, st->token_hdr);
        char range[64];
        if (wr && x.written) {
            snprintf(range, sizeof range, "Range: bytes=%llu-",
                     (unsigned long long)x.written);
            h = curl_slist_append(h, range);
        }
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, st->timeout_ms);
        if (!strcmp(method, "HEAD"))
            curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
        }
        if (st->userpwd) {
            curl_easy_setopt(c, CURLOPT_USERPWD, st->userpwd);
            curl_easy_setopt(c, CURLOPT_AWS_SIGV4, st->sigv4);
        }
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, s3_on_header);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, s3_on_body);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
        char errbuf[CURL_ERROR_SIZE] = "";
        curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
        s3_resp_free(resp);
        x.cap = 0;
        resp->etag[0] = 0;
        CURLcode cc = curl_easy_perform(c);
        curl_slist_free_all(h);
        resp->status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        if (x.wr_failed) {
            rc = s3_host->error_set(err, ORCH_E_CANCELLED, "%s: the reader stopped", key);
            break;
        }
        if (attempt < st->retries && s3_retryable(cc, resp->status)) {
            struct timespec ts = {delay_ms / 1000, (delay_ms % 1000) * 1000000};
            nanosleep(&ts, NULL);
            delay_ms = delay_ms * 2 > 5000 ? 5000 : delay_ms * 2;
            continue;
        }
        if (cc != CURLE_OK)
            rc = s3_host->error_set(err, ORCH_E_TRANSIENT, "%s %s: %s", method,
                                    key ? key : st->bucket,
                                    *errbuf ? errbuf : curl_easy_strerror(cc));
        break;
    }
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
