/* Bounded step logs. One attempt stores at most its log_limit bytes of
 * output: the first half as it comes, then a rolling last part that is
 * spooled to an unlinked file in the engine's temporary directory (so a
 * chatty step costs disk, not the daemon's memory) and written at the end
 * of the attempt, after a marker line that says how many bytes were dropped
 * between the two. docs/security.md, "Bounded logs". */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../config.h"
#include "internal.h"

/* The tail keeps stream boundaries as segments; a step alternating stdout
 * and stderr in tiny writes could make many, so past this many the oldest
 * goes whole (its bytes count as dropped). */
#define OC_LOGCAP_MAX_SEGS 4096
#define OC_LOGCAP_IO (64u * 1024)

struct oc_logseg {
    uint32_t stream;
    uint64_t start;          /* logical offset in the tail's byte stream */
    uint64_t len;
};

struct oc_logcap {
    uint32_t attempt;
    uint64_t limit, head_cap, tail_cap;
    uint64_t total;          /* bytes the attempt wrote */
    uint64_t head;           /* bytes stored as they came */
    char head_last;          /* the last of them */
    int fd;                  /* the tail's spool; -1 until the head is full */
    int spool_errno;         /* the spool failed: the tail is dropped */
    uint64_t written;        /* logical bytes written to the spool */
    struct oc_logseg *segs;  /* a ring of n_segs from seg0 */
    size_t seg0, n_segs, cap_segs;
};

static struct oc_logcap *oc_logcap_new(uint32_t attempt, int64_t limit)
{
    struct oc_logcap *c = oc_xcalloc(1, sizeof *c);
    c->attempt = attempt;
    c->limit = (uint64_t)(limit > 0 ? limit : OC_LOG_LIMIT_DEFAULT);
    c->head_cap = c->limit / 2;
    c->tail_cap = c->limit - c->head_cap;
    c->fd = -1;
    return c;
}

void oc_logcap_free(struct oc_logcap *c)
{
    if (!c)
        return;
    if (c->fd >= 0)
        close(c->fd);
    free(c->segs);
    free(c);
}

static int oc_logcap_spool_open(struct oc_logcap *c, const char *tmpdir)
{
    const char *dir = tmpdir && *tmpdir ? tmpdir : "/tmp";
    c->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (c->fd < 0) {
        /* No O_TMPFILE on this file system: a named file, unlinked at once. */
        char *path = oc_xasprintf("%s/log-tail-XXXXXX", dir);
        c->fd = mkostemp(path, O_CLOEXEC);
        if (c->fd >= 0)
            unlink(path);
        free(path);
    }
    if (c->fd < 0)
        c->spool_errno = errno ? errno : EIO;
    return c->fd;
}

static void oc_logcap_spool_fail(struct oc_logcap *c, int e)
{
    c->spool_errno = e ? e : EIO;
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->n_segs = 0;
}

static int oc_logcap_pio(int fd, int writing, char *p, size_t len, uint64_t off)
{
    while (len) {
        ssize_t n = writing ? pwrite(fd, p, len, (off_t)off) : pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* The bytes at logical offset pos of the tail, through the ring. */
static int oc_logcap_ring_io(struct oc_logcap *c, int writing, char *p, size_t len,
                             uint64_t pos)
{
    while (len) {
        uint64_t at = pos % c->tail_cap;
        size_t n = len;
        if (n > c->tail_cap - at)
            n = (size_t)(c->tail_cap - at);
        if (oc_logcap_pio(c->fd, writing, p, n, at) != 0)
            return -1;
        p += n;
        len -= n;
        pos += n;
    }
    return 0;
}

static struct oc_logseg *oc_logcap_seg(struct oc_logcap *c, size_t i)
{
    return &c->segs[(c->seg0 + i) % c->cap_segs];
}

static void oc_logcap_seg_push(struct oc_logcap *c, uint32_t stream, uint64_t start,
                               uint64_t len)
{
    if (c->n_segs) {
        struct oc_logseg *last = oc_logcap_seg(c, c->n_segs - 1);
        if (last->stream == stream && last->start + last->len == start) {
            last->len += len;
            return;
        }
    }
    if (c->n_segs == OC_LOGCAP_MAX_SEGS) {
        c->seg0 = (c->seg0 + 1) % c->cap_segs;
        c->n_segs--;
    }
    if (c->n_segs == c->cap_segs) {
        size_t cap = c->cap_segs ? c->cap_segs * 2 : 16;
        struct oc_logseg *segs = oc_xmalloc(cap * sizeof *segs);
        for (size_t i = 0; i < c->n_segs; i++)
            segs[i] = *oc_logcap_seg(c, i);
        free(c->segs);
        c->segs = segs;
        c->cap_segs = cap;
        c->seg0 = 0;
    }
    *oc_logcap_seg(c, c->n_segs++) = (struct oc_logseg){stream, start, len};
}

/* Forget what the ring has overwritten. */
static void oc_logcap_seg_trim(struct oc_logcap *c)
{
    uint64_t from = c->written > c->tail_cap ? c->written - c->tail_cap : 0;
    while (c->n_segs) {
        struct oc_logseg *s = oc_logcap_seg(c, 0);
        if (s->start + s->len <= from) {
            c->seg0 = (c->seg0 + 1) % c->cap_segs;
            c->n_segs--;
            continue;
        }
        if (s->start < from) {
            s->len -= from - s->start;
            s->start = from;
        }
        break;
    }
}

static void oc_logcap_tail_add(struct oc_logcap *c, const char *tmpdir, uint32_t stream,
                               const char *data, size_t len)
{
    if (c->spool_errno || (c->fd < 0 && oc_logcap_spool_open(c, tmpdir) < 0))
        return;
    if (len > c->tail_cap) {
        /* Only its last tail_cap bytes can survive. */
        c->written += len - c->tail_cap;
        data += len - c->tail_cap;
        len = (size_t)c->tail_cap;
    }
    if (oc_logcap_ring_io(c, 1, (char *)data, len, c->written) != 0) {
        oc_logcap_spool_fail(c, errno);
        return;
    }
    oc_logcap_seg_push(c, stream, c->written, len);
    c->written += len;
    oc_logcap_seg_trim(c);
}

size_t oc_logcap_admit(struct oc_logcap **cp, const char *tmpdir, uint32_t attempt,
                       int64_t limit, uint32_t stream, const char *data, size_t len)
{
    if (*cp && (*cp)->attempt != attempt) {
        oc_logcap_free(*cp);
        *cp = NULL;
    }
    if (!*cp)
        *cp = oc_logcap_new(attempt, limit);
    struct oc_logcap *c = *cp;
    c->total += len;
    size_t keep = len;
    if (c->head + keep > c->head_cap)
        keep = (size_t)(c->head_cap - c->head);
    c->head += keep;
    if (keep)
        c->head_last = data[keep - 1];
    if (keep < len)
        oc_logcap_tail_add(c, tmpdir, stream, data + keep, len - keep);
    return keep;
}

static uint64_t oc_logcap_tail_len(struct oc_logcap *c)
{
    uint64_t n = 0;
    for (size_t i = 0; i < c->n_segs; i++)
        n += oc_logcap_seg(c, i)->len;
    return n;
}

int oc_logcap_finish(struct oc_logcap *c, oc_logcap_emit_fn emit, void *ud,
                     struct oc_logcap_summary *sum)
{
    uint64_t tail = c->spool_errno ? 0 : oc_logcap_tail_len(c);
    *sum = (struct oc_logcap_summary){.limit = c->limit, .total = c->total,
                                      .head = c->head, .tail = tail,
                                      .dropped = c->total - c->head - tail};
    if (sum->dropped) {
        char *m = oc_xasprintf(
            "%s[orch] log truncated: %llu bytes dropped here (log_limit %llu: kept the first "
            "%llu and the last %llu of %llu bytes%s%s)\n",
            c->head && c->head_last != '\n' ? "\n" : "", (unsigned long long)sum->dropped,
            (unsigned long long)c->limit, (unsigned long long)c->head,
            (unsigned long long)tail, (unsigned long long)c->total,
            c->spool_errno ? "; the tail could not be kept: " : "",
            c->spool_errno ? strerror(c->spool_errno) : "");
        emit(ud, ORCH_STREAM_STDERR, m, strlen(m));
        free(m);
    }
    char *buf = tail ? oc_xmalloc(OC_LOGCAP_IO) : NULL;
    uint64_t sent = 0;
    for (size_t i = 0; i < c->n_segs && !c->spool_errno; i++) {
        struct oc_logseg s = *oc_logcap_seg(c, i);
        for (uint64_t at = 0; at < s.len && !c->spool_errno;) {
            size_t n = s.len - at < OC_LOGCAP_IO ? (size_t)(s.len - at) : OC_LOGCAP_IO;
            if (oc_logcap_ring_io(c, 0, buf, n, s.start + at) != 0) {
                oc_logcap_spool_fail(c, errno);
                char *m = oc_xasprintf("\n[orch] log truncated: the last %llu bytes could not "
                                       "be read back: %s\n",
                                       (unsigned long long)(tail - sent),
                                       strerror(c->spool_errno));
                emit(ud, ORCH_STREAM_STDERR, m, strlen(m));
                free(m);
                sum->dropped += tail - sent;
                sum->tail = sent;
                break;
            }
            emit(ud, s.stream, buf, n);
            at += n;
            sent += n;
        }
    }
    free(buf);
    return sum->dropped != 0;
}
