/* The plugin kit's HTTP client: libcurl with the host's cancel flag and a
 * deadline, one way for every plugin. An optional part of the kit, so a
 * plugin that needs no HTTP does not link libcurl:
 *
 *   CMake:      orch_add_plugin(... LIBS OrchSDK::kit_http)  (liborch-kit-http.a
 *               and libcurl)
 *   pkg-config: `pkg-config --libs orch-kit-http`
 *
 * How a request ends early, the one strategy: the transfer runs in a curl
 * multi handle whose wait also watches the ctx's cancel fd, so a cancel
 * ends it at once (not at the next progress tick), and the wait never
 * outlasts the deadline. The one error mapping (pk_http_error): cancel is
 * ORCH_E_CANCELLED, the deadline ORCH_E_TIMEOUT, a TLS or certificate
 * failure ORCH_E_AUTH, any other failure to get an answer (connect,
 * resolve, reset, curl's own per-try timeout) ORCH_E_TRANSIENT. An answer
 * (any HTTP status) is no error here: what a status means is the plugin's
 * API's business.
 *
 * A client keeps one easy and one multi handle between requests, so
 * connections are reused. It is not for two threads at once. Call
 * curl_global_init once in the plugin's init, as libcurl asks. */
#ifndef ORCH_KIT_HTTP_H
#define ORCH_KIT_HTTP_H

#include <curl/curl.h>

#include <orch/kit.h>

struct pk_http {
    const struct orch_host *h;
    CURL *easy;
    CURLM *multi;
};
/* 0, or -1 when libcurl could not make its handles. */
int pk_http_init(struct pk_http *c, const struct orch_host *h);
void pk_http_cleanup(struct pk_http *c);            /* safe on a zeroed client */

typedef size_t (*pk_http_data_fn)(char *buf, size_t size, size_t n, void *ud);

struct pk_http_req {
    const char *method;          /* "GET", "HEAD", "PUT", ... */
    const char *url;
    const struct curl_slist *headers; /* the caller's, kept by it; may be NULL */
    /* A body in memory, sent as is (NULL: none; a POST then sends no body
     * and no Content-Length; pass "" for an empty one). */
    const void *body;
    size_t body_len;
    /* Or a streamed body: read_cb as CURLOPT_READFUNCTION, upload_size -1
     * for chunked. */
    pk_http_data_fn read_cb;
    void *read_ud;
    int64_t upload_size;
    /* A 2xx answer's body goes to write_cb as it arrives when set (it
     * returns less than given to stop the transfer: the response says
     * write_stopped). Any other body is collected in resp.body, up to
     * body_max bytes when that is set (the rest is dropped: resp.cut). */
    pk_http_data_fn write_cb;
    void *write_ud;
    size_t body_max;
    pk_http_data_fn header_cb;   /* as CURLOPT_HEADERFUNCTION; may be NULL */
    void *header_ud;
    /* Cancel: the ctx's cancel flag and fd; its deadline too. NULL: no
     * cancel applies (clean-up that must go on after a cancel). */
    struct orch_ctx *ctx;
    int64_t deadline_ns;         /* host monotonic; 0 = none besides the ctx's */
    /* curl's own limits for this one transfer: running out of them is a
     * failed transfer (CURLE_OPERATION_TIMEDOUT, often worth a retry), not
     * the deadline. 0 = none. */
    long timeout_ms, connect_timeout_ms;
    /* Anything more (TLS files, a unix socket, SigV4, a user agent): called
     * with the easy handle after the kit set its options. */
    void (*setup)(CURL *c, void *ud);
    void *setup_ud;
};

struct pk_http_resp {
    long status;                 /* the HTTP status; 0 when none came */
    CURLcode curl;               /* CURLE_OK when the transfer completed */
    struct pk_buf body;          /* host memory (see body_max) */
    int cut;                     /* the body was longer than body_max */
    int write_stopped;           /* write_cb stopped the transfer */
    char error[CURL_ERROR_SIZE]; /* curl's words when curl != CURLE_OK */
};
/* Empty it (the body freed); the response may be used again. */
void pk_http_resp_free(struct pk_http_resp *rs);

/* One transfer. ORCH_OK when it ran to its end (rs->curl says how: an
 * answer came when it is CURLE_OK); ORCH_E_CANCELLED or ORCH_E_TIMEOUT when
 * the ctx was cancelled or the deadline passed first; ORCH_E_NOMEM. rs is
 * overwritten (free an earlier answer in it first); free it with
 * pk_http_resp_free in every case. No message is set: see pk_http_error. */
orch_status pk_http_perform(struct pk_http *c, const struct pk_http_req *rq,
                            struct pk_http_resp *rs);

/* The one error mapping (above) of a request that got no answer: st as
 * pk_http_perform returned it, rs its response. The message is "WHAT:
 * cancelled", "WHAT: no answer in time" or "WHAT: <curl's words>", WHAT
 * naming the request (e.g. "GET /v1/apps/a/machines"). Returns the code;
 * ORCH_OK (no message) when an answer came. */
orch_status pk_http_error(const struct orch_host *h, struct orch_error *err, orch_status st,
                          const struct pk_http_resp *rs, const char *what);

#endif
