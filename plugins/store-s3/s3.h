/* store-s3 internals: blobs on S3 or an S3-compatible service, over one
 * libcurl handle per open store (connections are reused), signed by
 * libcurl's own AWS SigV4. */
#ifndef S3_H
#define S3_H

#include <curl/curl.h>
#include <orch/kit_http.h>
#include <orch/orch.h>

#include "s3xml.h"

extern const struct orch_host *s3_host;

struct s3_cfg {
    const char *endpoint;        /* https://s3.REGION.amazonaws.com by default */
    const char *region;
    const char *bucket;
    const char *prefix;
    int32_t path_style;
    const char *access_key;
    const char *secret_key;
    const char *session_token;
    int64_t multipart_threshold;
    int64_t part_size;
    int64_t retries;
    int64_t timeout_ms;
};

struct orch_store {
    struct pk_http http;         /* one client: connections are reused */
    char *endpoint;              /* without a trailing slash */
    char *region, *bucket, *prefix; /* prefix: "" or "a/b/" */
    int path_style;
    char *userpwd;               /* "ACCESS:SECRET", NULL = unsigned */
    char *token_hdr;             /* "x-amz-security-token: ...", or NULL */
    char sigv4[128];
    uint64_t threshold, part_size;
    int retries;
    long timeout_ms;
};

/* The most of a body kept in s3_resp (listings, error answers). */
#define S3_BODY_MAX (1u << 20)

/* A request's answer: status, the body (for small answers) and headers
 * we look at. */
struct s3_resp {
    long status;
    char *body;                  /* host memory, NUL-terminated */
    size_t len;
    int cut;                     /* longer than kept: body is only its start */
    char etag[80];
};
void s3_resp_free(struct s3_resp *r);

/* One request, retried with backoff on connection errors, timeouts, 500,
 * 502, 503 (SlowDown) and 504. key NULL = the bucket itself. query may be
 * NULL ("uploads", "partNumber=1&uploadId=..."; values escaped). body is
 * sent as is (PUT/POST), with its SHA-256 signed and its MD5 checked by
 * the server. wr, when set, receives a 2xx answer's body as it arrives
 * (and a retry resumes with a Range from where it stopped). */
orch_status s3_request(struct orch_store *st, const char *method, const char *key,
                       const char *query, const void *body, size_t body_len,
                       orch_write_fn wr, void *ud, struct s3_resp *resp,
                       struct orch_error *err);
/* The S3 error of a non-2xx answer as an orch error: NoSuchKey is
 * NOT_FOUND, a missing bucket and bad credentials are CONFIG. */
orch_status s3_fail(struct orch_store *st, const struct s3_resp *r, const char *what,
                    const char *key, struct orch_error *err);
/* "part%2Fname" style escaping: RFC 3986 unreserved kept, '/' kept when
 * keep_slash. Host memory. */
char *s3_escape(const char *s, int keep_slash);
void s3_md5_hex(const void *data, size_t len, char out[33]);

orch_status s3_blob_put(struct orch_store *, const char *, orch_read_fn, void *,
                        struct orch_error *);
orch_status s3_blob_get(struct orch_store *, const char *, orch_write_fn, void *,
                        struct orch_error *);
orch_status s3_blob_delete(struct orch_store *, const char *, struct orch_error *);
orch_status s3_blob_list(struct orch_store *, const char *, orch_blob_fn, void *,
                         struct orch_error *);

#endif
