#include "frame.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int oc_frame_write(int fd, uint8_t type, const void *data, size_t len)
{
    uint8_t hdr[5] = {type, (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
                      (uint8_t)(len >> 24)};
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)data, len}};
    int n = 2;
    struct iovec *v = iov;
    while (n) {
        ssize_t w = writev(fd, v, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        while (n && (size_t)w >= v->iov_len) {
            w -= (ssize_t)v->iov_len;
            v++;
            n--;
        }
        if (n) {
            v->iov_base = (char *)v->iov_base + w;
            v->iov_len -= (size_t)w;
        }
    }
    return 0;
}

int oc_frame_next(struct oc_frame_rd *r, uint8_t *type, const char **payload, size_t *len)
{
    /* Drop what the previous call handed out. */
    if (r->off) {
        memmove(r->buf.data, r->buf.data + r->off, r->buf.len - r->off);
        r->buf.len -= r->off;
        r->off = 0;
    }
    if (r->buf.len < 5)
        return 0;
    const uint8_t *h = (const uint8_t *)r->buf.data;
    size_t n = (size_t)h[1] | (size_t)h[2] << 8 | (size_t)h[3] << 16 | (size_t)h[4] << 24;
    if (n > OC_FRAME_MAX || !h[0] || !strchr("JOEL", h[0]))
        return -1;
    if (r->buf.len < 5 + n)
        return 0;
    *type = h[0];
    *payload = r->buf.data + 5;
    *len = n;
    r->off = 5 + n;
    return 1;
}

void oc_frame_rd_free(struct oc_frame_rd *r)
{
    oc_buf_free(&r->buf);
    r->off = 0;
}
