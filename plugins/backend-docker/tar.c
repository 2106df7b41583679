/* The tar reader and writer behind put_file, get_file and list_dir. */
#define _GNU_SOURCE
#include "tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

enum { DK_T_HEADER, DK_T_DATA, DK_T_EXT, DK_T_PAD, DK_T_END };

static uint64_t dk_tar_num(const unsigned char *f, size_t n)
{
    if (f[0] & 0x80) { /* base-256, GNU: big sizes */
        uint64_t v = f[0] & 0x7f;
        for (size_t i = 1; i < n; i++)
            v = (v << 8) | f[i];
        return v;
    }
    uint64_t v = 0;
    size_t i = 0;
    while (i < n && (f[i] == ' ' || f[i] == 0))
        i++;
    for (; i < n && f[i] >= '0' && f[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(f[i] - '0');
    return v;
}

static int dk_tar_checksum_ok(const unsigned char *h)
{
    uint64_t want = dk_tar_num(h + 148, 8), sum = 0;
    for (int i = 0; i < DK_TAR_BLOCK; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    return sum == want;
}

static char *dk_tar_strndup(const char *s, size_t n)
{
    char *p = dk_host->alloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = 0;
    }
    return p;
}

/* PAX records: "LEN key=value\n"; only path, size and mtime matter here. */
static int dk_tar_pax(struct dk_untar *t)
{
    size_t off = 0;
    while (off < t->ext_len) {
        char *end;
        unsigned long len = strtoul(t->ext + off, &end, 10);
        if (len == 0 || off + len > t->ext_len || *end != ' ') {
            snprintf(t->err, sizeof t->err, "tar: malformed PAX record");
            return -1;
        }
        char *kv = end + 1, *rec_end = t->ext + off + len - 1; /* the '\n' */
        char *eq = memchr(kv, '=', (size_t)(rec_end - kv));
        if (eq) {
            size_t klen = (size_t)(eq - kv), vlen = (size_t)(rec_end - eq - 1);
            if (klen == 4 && !memcmp(kv, "path", 4)) {
                dk_host->free(t->next_name);
                t->next_name = dk_tar_strndup(eq + 1, vlen);
            } else if (klen == 4 && !memcmp(kv, "size", 4)) {
                t->next_size = strtoull(eq + 1, NULL, 10);
                t->have_next_size = 1;
            } else if (klen == 5 && !memcmp(kv, "mtime", 5)) {
                t->next_mtime = strtoll(eq + 1, NULL, 10);
                t->have_next_mtime = 1;
            }
        }
        off += len;
    }
    return 0;
}

static int dk_tar_entry(struct dk_untar *t)
{
    const unsigned char *h = t->hdr;
    char name[256 + 2];
    size_t plen = strnlen((const char *)h + 345, 155);
    size_t nlen = strnlen((const char *)h, 100);
    name[0] = 0;
    if (!memcmp(h + 257, "ustar", 5) && plen) {
        memcpy(name, h + 345, plen);
        name[plen] = '/';
        memcpy(name + plen + 1, h, nlen);
        name[plen + 1 + nlen] = 0;
    } else {
        memcpy(name, h, nlen);
        name[nlen] = 0;
    }
    char link[101];
    size_t llen = strnlen((const char *)h + 157, 100);
    memcpy(link, h + 157, llen);
    link[llen] = 0;
    struct dk_tar_entry e = {
        .name = t->next_name ? t->next_name : name,
        .linkname = link,
        .mode = (uint32_t)dk_tar_num(h + 100, 8),
        .size = t->have_next_size ? t->next_size : dk_tar_num(h + 124, 12),
        .mtime = t->have_next_mtime ? t->next_mtime : (int64_t)dk_tar_num(h + 136, 12),
        .type = h[156] ? (char)h[156] : '0',
    };
    /* Only regular files carry data; hard links and the rest have none. */
    uint64_t data = (e.type == '0' || e.type == '7') ? e.size : 0;
    int rc = t->on_entry(t->ud, &e);
    dk_host->free(t->next_name);
    t->next_name = NULL;
    t->have_next_size = t->have_next_mtime = 0;
    t->remaining = data;
    t->pad = (DK_TAR_BLOCK - data % DK_TAR_BLOCK) % DK_TAR_BLOCK;
    t->state = data ? DK_T_DATA : DK_T_HEADER;
    return rc;
}

static int dk_tar_header_done(struct dk_untar *t)
{
    static const unsigned char zero[DK_TAR_BLOCK];
    t->hlen = 0;
    if (!memcmp(t->hdr, zero, DK_TAR_BLOCK)) {
        t->state = DK_T_END;
        t->done = 1;
        return 0;
    }
    if (!dk_tar_checksum_ok(t->hdr)) {
        snprintf(t->err, sizeof t->err, "tar: bad header checksum");
        return -1;
    }
    char type = (char)t->hdr[156];
    if (type == 'x' || type == 'L' || type == 'g' || type == 'K') {
        uint64_t size = dk_tar_num(t->hdr + 124, 12);
        if (size > (1u << 20)) {
            snprintf(t->err, sizeof t->err, "tar: extension header of %llu bytes",
                     (unsigned long long)size);
            return -1;
        }
        t->ext_type = type;
        t->ext = dk_host->alloc(size + 1);
        if (!t->ext) {
            snprintf(t->err, sizeof t->err, "tar: out of memory");
            return -1;
        }
        t->ext_len = 0;
        t->remaining = size;
        t->pad = (DK_TAR_BLOCK - size % DK_TAR_BLOCK) % DK_TAR_BLOCK;
        t->state = size ? DK_T_EXT : DK_T_HEADER;
        if (!size) {
            dk_host->free(t->ext);
            t->ext = NULL;
        }
        return 0;
    }
    return dk_tar_entry(t);
}

static int dk_tar_ext_done(struct dk_untar *t)
{
    int rc = 0;
    t->ext[t->ext_len] = 0;
    if (t->ext_type == 'x')
        rc = dk_tar_pax(t);
    else if (t->ext_type == 'L') {
        dk_host->free(t->next_name);
        t->next_name = dk_tar_strndup(t->ext, strnlen(t->ext, t->ext_len));
    }
    dk_host->free(t->ext);
    t->ext = NULL;
    return rc;
}

int dk_untar_feed(struct dk_untar *t, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n > 0) {
        size_t k;
        int rc = 0;
        switch (t->state) {
        case DK_T_HEADER:
            k = DK_TAR_BLOCK - t->hlen < n ? DK_TAR_BLOCK - t->hlen : n;
            memcpy(t->hdr + t->hlen, s, k);
            t->hlen += k;
            if (t->hlen == DK_TAR_BLOCK)
                rc = dk_tar_header_done(t);
            break;
        case DK_T_DATA:
        case DK_T_EXT:
            k = t->remaining < n ? (size_t)t->remaining : n;
            if (t->state == DK_T_EXT) {
                memcpy(t->ext + t->ext_len, s, k);
                t->ext_len += k;
            } else if (t->on_data)
                rc = t->on_data(t->ud, s, k);
            t->remaining -= k;
            if (t->remaining == 0) {
                if (t->state == DK_T_EXT && rc == 0)
                    rc = dk_tar_ext_done(t);
                t->state = t->pad ? DK_T_PAD : DK_T_HEADER;
            }
            break;
        case DK_T_PAD:
            k = t->pad < n ? (size_t)t->pad : n;
            t->pad -= k;
            if (!t->pad)
                t->state = DK_T_HEADER;
            break;
        default: /* after the end: the engine pads to a record size */
            k = n;
            break;
        }
        s += k;
        n -= k;
        if (rc)
            return rc;
    }
    return 0;
}

void dk_untar_free(struct dk_untar *t)
{
    dk_host->free(t->ext);
    dk_host->free(t->next_name);
    t->ext = t->next_name = NULL;
}

static void dk_tar_octal(unsigned char *f, size_t width, uint64_t v)
{
    /* width-1 digits and a NUL, as ustar has it; callers keep v in range */
    f[width - 1] = 0;
    for (size_t i = width - 1; i-- > 0; v >>= 3)
        f[i] = (unsigned char)('0' + (v & 7));
}

static void dk_tar_block(unsigned char *h, const char *name, uint32_t mode, uint64_t size,
                         char type, int64_t mtime)
{
    memset(h, 0, DK_TAR_BLOCK);
    size_t nlen = strlen(name);
    memcpy(h, name, nlen < 100 ? nlen : 100);
    dk_tar_octal(h + 100, 8, mode & 07777);
    dk_tar_octal(h + 108, 8, 0);
    dk_tar_octal(h + 116, 8, 0);
    if (size < 077777777777ull)
        dk_tar_octal(h + 124, 12, size);
    else {
        h[124] = 0x80;
        for (int i = 11; i >= 4; i--, size >>= 8)
            h[124 + i] = (unsigned char)(size & 0xff);
    }
    dk_tar_octal(h + 136, 12, (uint64_t)(mtime > 0 ? mtime : 0));
    h[156] = (unsigned char)type;
    memcpy(h + 257, "ustar\0" "00", 8);
    memset(h + 148, ' ', 8);
    uint64_t sum = 0;
    for (int i = 0; i < DK_TAR_BLOCK; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06llo", (unsigned long long)sum);
    h[155] = ' ';
}

size_t dk_tar_header(unsigned char *out, const char *name, uint32_t mode, uint64_t size,
                     char type, int64_t mtime)
{
    size_t len = strlen(name);
    if (len > DK_TAR_NAME_MAX)
        return 0;
    if (len < 100) {
        dk_tar_block(out, name, mode, size, type, mtime);
        return DK_TAR_BLOCK;
    }
    /* "LEN path=NAME\n", where LEN counts its own digits. */
    char rec[DK_TAR_NAME_MAX + 32];
    size_t body = len + strlen(" path=\n"), total = body + 1;
    while (total != body + (size_t)snprintf(NULL, 0, "%zu", total))
        total = body + (size_t)snprintf(NULL, 0, "%zu", total);
    snprintf(rec, sizeof rec, "%zu path=%s\n", total, name);
    dk_tar_block(out, "PaxHeader", 0644, total, 'x', mtime);
    memset(out + DK_TAR_BLOCK, 0, 2 * DK_TAR_BLOCK);
    memcpy(out + DK_TAR_BLOCK, rec, total);
    size_t pax_blocks = (total + DK_TAR_BLOCK - 1) / DK_TAR_BLOCK;
    unsigned char *h = out + DK_TAR_BLOCK * (1 + pax_blocks);
    dk_tar_block(h, name, mode, size, type, mtime); /* name cut at 100: PAX wins */
    return DK_TAR_BLOCK * (2 + pax_blocks);
}
