/* GET /v1/runs/{id}/artifacts and /v1/runs/{id}/artifacts/{name*}: a
 * run's artifacts as its ledger lists them, and one artifact's bytes.
 * The bytes are spooled to an unlinked temporary file and checked against
 * the recorded size and sha256 (core/run_artifacts.c) before the status
 * line goes out, so a blob that changed in its store is a 500 that says
 * so, never a 200 cut short or with other bytes. The answer then comes
 * from that file: its Content-Length, one byte range (Range, If-Range
 * against the ETag, which is the sha256), and Repr-Digest (RFC 9530).
 * At most ORCHD_ARTIFACT_READERS answers hold a spooled file at once (a
 * read token asking for a large artifact many times at once must not fill
 * the disk); past that the answer is 503 with Retry-After. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/base16.h>
#include <nettle/base64.h>

#include "host.h"
#include "http.h"
#include "run_artifacts.h"
#include "util.h"

#define ORCHD_ARTIFACT_READERS 8

/* Answers holding a spooled file, from the spool's start to the answer's
 * end. */
static atomic_int orchd_artifact_readers;

/* The spooled bytes [off, off + len) as the client drains them. */
struct orchd_art_body {
    int fd;
    uint64_t off;
};

static ssize_t orchd_art_body_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    struct orchd_art_body *b = cls;
    for (;;) {
        ssize_t n = pread(b->fd, buf, max, (off_t)(b->off + pos));
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0 ? n : MHD_CONTENT_READER_END_WITH_ERROR;
    }
}

static void orchd_art_body_free(void *cls)
{
    struct orchd_art_body *b = cls;
    close(b->fd);
    free(b);
    atomic_fetch_sub(&orchd_artifact_readers, 1);
}

void orchd_runs_artifacts(struct orchd_req *rq)
{
    struct orch_error err;
    oc_error_init(&err);
    json_t *list = NULL;
    ORCHD_API_LOCK(rq->d);
    orch_status rc = oc_run_artifacts_list(rq->d->api, rq->params[0], &list, &err);
    ORCHD_API_UNLOCK(rq->d);
    if (rc != ORCH_OK)
        orchd_fail_err(rq, &err);
    else
        orchd_reply(rq, 200, json_pack("{s:o}", "artifacts", list));
    oc_error_clear(&err);
}

/* An unlinked file in $TMPDIR (else /tmp): nothing to remove afterwards,
 * whatever happens to orchd. */
static int orchd_spool_open(void)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0)
        return fd;
    char *path = oc_xasprintf("%s/orchd-artifact-XXXXXX", dir);
    fd = mkostemp(path, O_CLOEXEC);
    if (fd >= 0)
        unlink(path);
    free(path);
    return fd;
}

static int32_t orchd_spool_write(void *ud, const void *buf, uint64_t len)
{
    int fd = *(int *)ud;
    const char *p = buf;
    while (len) {
        ssize_t n = write(fd, p, (size_t)len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (uint64_t)n;
    }
    return 0;
}

/* A decimal number of at most 18 digits (no sign, no overflow); the end. */
static const char *orchd_range_num(const char *s, uint64_t *v)
{
    size_t n = 0;
    *v = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < 18)
        *v = *v * 10 + (uint64_t)(s[n++] - '0');
    return n && !(s[n] >= '0' && s[n] <= '9') ? s + n : NULL;
}

enum orchd_range { ORCHD_RANGE_ALL, ORCHD_RANGE_PART, ORCHD_RANGE_UNSATISFIABLE };

/* One range of "bytes=first-last", "bytes=first-" or "bytes=-suffix" (RFC
 * 9110, 14.1.2) against size. A header that is not one such range (a
 * list, another unit, bad syntax) is ignored, as the RFC allows: the whole
 * artifact is sent. */
static enum orchd_range orchd_range_parse(const char *h, uint64_t size, uint64_t *off,
                                          uint64_t *len)
{
    if (!h || strncmp(h, "bytes=", 6))
        return ORCHD_RANGE_ALL;
    const char *s = h + 6;
    uint64_t first = 0, last = 0;
    if (*s == '-') {
        s = orchd_range_num(s + 1, &last);
        if (!s || *s)
            return ORCHD_RANGE_ALL;
        if (!last || !size)
            return ORCHD_RANGE_UNSATISFIABLE;
        *len = last < size ? last : size;
        *off = size - *len;
        return ORCHD_RANGE_PART;
    }
    s = orchd_range_num(s, &first);
    if (!s || *s++ != '-')
        return ORCHD_RANGE_ALL;
    last = UINT64_MAX;
    if (*s && (!(s = orchd_range_num(s, &last)) || *s || last < first))
        return ORCHD_RANGE_ALL;
    if (first >= size)
        return ORCHD_RANGE_UNSATISFIABLE;
    if (last >= size)
        last = size - 1;
    *off = first;
    *len = last - first + 1;
    return ORCHD_RANGE_PART;
}

/* Repr-Digest's value for a sha256 in hex (as the ledger records it):
 * "sha-256=:BASE64:"; 0, or -1 for a value that is not 64 hex digits. */
static int orchd_repr_digest(const char *hex, char *out, size_t n)
{
    uint8_t raw[32];
    size_t len = 0;
    struct base16_decode_ctx c;
    base16_decode_init(&c);
    if (strlen(hex) != 64 || !base16_decode_update(&c, &len, raw, 64, hex) ||
        !base16_decode_final(&c) || len != sizeof raw)
        return -1;
    char b64[BASE64_ENCODE_RAW_LENGTH(sizeof raw) + 1];
    base64_encode_raw(b64, sizeof raw, raw);
    b64[sizeof b64 - 1] = 0;
    snprintf(out, n, "sha-256=:%s:", b64);
    return 0;
}

/* The last part of name, when it is safe in a quoted filename as it
 * stands; else NULL (no Content-Disposition then). */
static const char *orchd_plain_basename(const char *name)
{
    const char *b = strrchr(name, '/');
    b = b ? b + 1 : name;
    for (const char *p = b; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-", *p))
            return NULL;
    return *b ? b : NULL;
}

/* The error answer orchd_fail left, made a stream now to carry one more
 * header. */
static void orchd_answer_header(struct orchd_req *rq, const char *name, const char *value)
{
    const char *ctype;
    char *text = orchd_answer_text(rq, &ctype);
    rq->stream = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    MHD_add_response_header(rq->stream, "Content-Type", ctype);
    MHD_add_response_header(rq->stream, name, value);
}

static void orchd_artifact_answer(struct orchd_req *rq, int fd, const json_t *info)
{
    const char *hex = json_string_value(json_object_get(info, "sha256"));
    uint64_t size = (uint64_t)json_integer_value(json_object_get(info, "size"));
    char etag[80];
    snprintf(etag, sizeof etag, "\"%s\"", hex ? hex : "");
    const char *range = orchd_header(rq, "Range");
    const char *if_range = orchd_header(rq, "If-Range");
    if (if_range && strcmp(if_range, etag))
        range = NULL; /* the client's copy is of other bytes: all of these */
    uint64_t off = 0, len = size;
    enum orchd_range r = orchd_range_parse(range, size, &off, &len);
    char value[96];
    if (r == ORCHD_RANGE_UNSATISFIABLE) {
        close(fd);
        atomic_fetch_sub(&orchd_artifact_readers, 1);
        orchd_fail(rq, 416, "range_not_satisfiable", "the range '%s' starts past the end "
                   "of the artifact's %llu bytes", range, (unsigned long long)size);
        /* With the size, as RFC 9110 asks. */
        snprintf(value, sizeof value, "bytes */%llu", (unsigned long long)size);
        orchd_answer_header(rq, "Content-Range", value);
        return;
    }
    struct orchd_art_body *b = oc_xcalloc(1, sizeof *b);
    *b = (struct orchd_art_body){.fd = fd, .off = off};
    /* The block size is what one read hands libmicrohttpd at most. */
    rq->stream = MHD_create_response_from_callback(len, 64 * 1024, orchd_art_body_read, b,
                                                   orchd_art_body_free);
    if (!rq->stream) {
        orchd_art_body_free(b);
        orchd_fail(rq, 500, "internal", "cannot make the answer");
        return;
    }
    rq->status = r == ORCHD_RANGE_PART ? 206 : 200;
    MHD_add_response_header(rq->stream, "Content-Type", "application/octet-stream");
    MHD_add_response_header(rq->stream, "Accept-Ranges", "bytes");
    MHD_add_response_header(rq->stream, "ETag", etag);
    if (hex && orchd_repr_digest(hex, value, sizeof value) == 0)
        MHD_add_response_header(rq->stream, "Repr-Digest", value);
    if (r == ORCHD_RANGE_PART) {
        snprintf(value, sizeof value, "bytes %llu-%llu/%llu", (unsigned long long)off,
                 (unsigned long long)(off + len - 1), (unsigned long long)size);
        MHD_add_response_header(rq->stream, "Content-Range", value);
    }
    const char *base = orchd_plain_basename(json_string_value(json_object_get(info, "name")));
    if (base) {
        char *cd = oc_xasprintf("attachment; filename=\"%s\"", base);
        MHD_add_response_header(rq->stream, "Content-Disposition", cd);
        free(cd);
    }
}

void orchd_artifact_send(struct orchd_req *rq, orchd_art_open_fn open_fn)
{
    if (atomic_fetch_add(&orchd_artifact_readers, 1) >= ORCHD_ARTIFACT_READERS) {
        atomic_fetch_sub(&orchd_artifact_readers, 1);
        orchd_fail(rq, 503, "busy", "%d artifacts are being served, the most at once; try again",
                   ORCHD_ARTIFACT_READERS);
        orchd_answer_header(rq, "Retry-After", "1");
        return;
    }
    /* From here the count is the answer's: its body's free, or below. */
    struct orch_error err;
    oc_error_init(&err);
    struct oc_run_artifact *a = NULL;
    ORCHD_API_LOCK(rq->d);
    orch_status rc = open_fn(rq, &a, &err);
    /* Bytes from another store (S3) are read without holding the API's
     * connection; from the API's own store they need it. */
    int locked = 1;
    if (rc == ORCH_OK && !oc_run_artifact_shares_store(a)) {
        ORCHD_API_UNLOCK(rq->d);
        locked = 0;
    }
    int fd = -1;
    if (rc == ORCH_OK && (fd = orchd_spool_open()) < 0)
        rc = oc_error_set(&err, ORCH_E_IO, "cannot make a temporary file: %s",
                          strerror(errno));
    if (rc == ORCH_OK)
        rc = oc_run_artifact_stream(a, orchd_spool_write, &fd, &err);
    if (locked)
        ORCHD_API_UNLOCK(rq->d);
    if (rc == ORCH_OK) {
        orchd_artifact_answer(rq, fd, oc_run_artifact_info(a));
    } else {
        if (fd >= 0)
            close(fd);
        atomic_fetch_sub(&orchd_artifact_readers, 1);
        if (rc == ORCH_E_NOT_FOUND)
            orchd_fail(rq, 404, "not_found", "%s", oc_error_text(&err));
        else if (rc == ORCH_E_INVALID_ARG)
            orchd_fail(rq, 400, "invalid", "%s", oc_error_text(&err));
        else
            /* A changed blob, a store that cannot be read or a snapshot
             * that no longer loads: orchd's side, not the caller's. */
            orchd_fail(rq, 500, "artifact_unreadable", "%s", oc_error_text(&err));
    }
    oc_run_artifact_close(a);
    oc_error_clear(&err);
}

static orch_status orchd_run_artifact_open(struct orchd_req *rq, struct oc_run_artifact **a,
                                           struct orch_error *err)
{
    return oc_run_artifact_open(rq->d->reg, rq->d->api, rq->params[0], rq->params[1], a, err);
}

void orchd_runs_artifact(struct orchd_req *rq)
{
    orchd_artifact_send(rq, orchd_run_artifact_open);
}
