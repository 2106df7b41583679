#define _GNU_SOURCE
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void oc_oom(void)
{
    fputs("orch: out of memory\n", stderr);
    abort();
}

void *oc_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oc_oom();
    return p;
}

void *oc_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        oc_oom();
    return p;
}

void *oc_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oc_oom();
    return q;
}

char *oc_xstrdup(const char *s)
{
    return s ? oc_xstrndup(s, strlen(s)) : NULL;
}

char *oc_xstrndup(const char *s, size_t n)
{
    char *p = oc_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *oc_xvasprintf(const char *fmt, va_list ap)
{
    char *s = NULL;
    if (vasprintf(&s, fmt, ap) < 0)
        oc_oom();
    return s;
}

char *oc_xasprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = oc_xvasprintf(fmt, ap);
    va_end(ap);
    return s;
}

void oc_buf_add(struct oc_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = oc_xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void oc_buf_adds(struct oc_buf *b, const char *s)
{
    oc_buf_add(b, s, strlen(s));
}

void oc_buf_addc(struct oc_buf *b, char c)
{
    oc_buf_add(b, &c, 1);
}

void oc_buf_addf(struct oc_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = oc_xvasprintf(fmt, ap);
    va_end(ap);
    oc_buf_adds(b, s);
    free(s);
}

char *oc_buf_steal(struct oc_buf *b)
{
    char *d = b->data ? b->data : oc_xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return d;
}

void oc_buf_free(struct oc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static int64_t oc_clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t oc_now_mono_ns(void)
{
    return oc_clock_ns(CLOCK_MONOTONIC);
}

int64_t oc_now_real_ns(void)
{
    return oc_clock_ns(CLOCK_REALTIME);
}

char *oc_new_id(const char *prefix)
{
    static const char b32[] = "0123456789abcdefghjkmnpqrstvwxyz";
    uint64_t ms = (uint64_t)(oc_now_real_ns() / 1000000);
    unsigned char rnd[10];
    if (getrandom(rnd, sizeof rnd, 0) != (ssize_t)sizeof rnd) {
        uint64_t x = (uint64_t)oc_now_mono_ns() ^ ((uint64_t)getpid() << 32);
        for (size_t i = 0; i < sizeof rnd; i++, x >>= 5)
            rnd[i] = (unsigned char)(x * 2654435761u >> 7);
    }
    char id[21];
    for (int i = 9; i >= 0; i--, ms >>= 5)
        id[i] = b32[ms & 31];
    for (int i = 0; i < 10; i++)
        id[10 + i] = b32[rnd[i] & 31];
    id[20] = '\0';
    return oc_xasprintf("%s%s", prefix ? prefix : "", id);
}

size_t oc_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = oc_xcalloc(lb + 1, sizeof *row);
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

const char *oc_closest(const char *word, const char *const *candidates,
                       size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = oc_levenshtein(word, candidates[i]);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    /* Close enough: at most a third of the word's length, at least 1. */
    size_t limit = strlen(word) / 3 + 1;
    return best && best_d <= limit ? best : NULL;
}

int oc_parse_utc_time(const char *s, int64_t *out_ns)
{
    /* The exact shape first: strptime alone takes blanks, one-digit fields
     * and more. */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    for (size_t i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !(s[i] >= '0' && s[i] <= '9') : s[i] != shape[i])
            return -1;
    struct tm tm = {0};
    const char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!end)
        return -1;
    int64_t frac = 0, scale = 1000000000;
    if (*end == '.') {
        int digits = 0;
        for (end++; *end >= '0' && *end <= '9'; end++, digits++) {
            if (digits == 9)
                return -1; /* finer than a nanosecond: not a time orch wrote */
            scale /= 10;
            frac += (*end - '0') * scale;
        }
        if (!digits)
            return -1;
    }
    if (*end && strcmp(end, "Z"))
        return -1;
    *out_ns = (int64_t)timegm(&tm) * 1000000000 + frac;
    return 0;
}

void oc_fmt_utc_time(char *buf, size_t n, int64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char whole[32];
    strftime(whole, sizeof whole, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, n, "%s.%09lldZ", whole, (long long)(ns % 1000000000));
}

int oc_parse_duration_ms(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    int64_t total = 0;
    const char *p = s;
    while (*p) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || v < 0)
            return -1;
        const char *u = end;
        double mult;
        size_t ulen;
        if (strncmp(u, "ms", 2) == 0) {
            mult = 1;
            ulen = 2;
        } else if (*u == 's') {
            mult = 1000;
            ulen = 1;
        } else if (*u == 'm') {
            mult = 60000;
            ulen = 1;
        } else if (*u == 'h') {
            mult = 3600000;
            ulen = 1;
        } else if (*u == 'd') {
            mult = 86400000;
            ulen = 1;
        } else if (*u == '\0' && p == s) {
            mult = 1000; /* a bare number is seconds */
            ulen = 0;
        } else {
            return -1;
        }
        double ms = v * mult;
        if (ms > 9.0e15)
            return -1;
        total += (int64_t)ms;
        p = u + ulen;
    }
    *out = total;
    return 0;
}

int oc_parse_size(const char *s, int64_t *out)
{
    if (!s || !*s)
        return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno || v < 0)
        return -1;
    double mult = 1;
    switch (*end) {
    case '\0': break;
    case 'k': case 'K': mult = 1024.0; end++; break;
    case 'm': case 'M': mult = 1024.0 * 1024; end++; break;
    case 'g': case 'G': mult = 1024.0 * 1024 * 1024; end++; break;
    case 't': case 'T': mult = 1024.0 * 1024 * 1024 * 1024; end++; break;
    case 'b': case 'B': end++; if (*end) return -1; break;
    default: return -1;
    }
    if (mult > 1 && (strcmp(end, "") == 0 || strcmp(end, "B") == 0 ||
                     strcmp(end, "iB") == 0))
        end += strlen(end);
    if (*end)
        return -1;
    double bytes = v * mult;
    if (bytes > 9.0e18)
        return -1;
    *out = (int64_t)bytes;
    return 0;
}

int oc_mkdir_p(const char *path, unsigned mode)
{
    char *p = oc_xstrdup(path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, mode) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *s = '/';
    }
    int rc = mkdir(p, mode);
    free(p);
    return rc != 0 && errno != EEXIST ? -1 : 0;
}

static int oc_rm_rf_at(int dirfd, const char *name)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) == 0 || errno == ENOENT ? 0 : -1;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (oc_rm_rf_at(fd, e->d_name) != 0)
            rc = -1;
    }
    closedir(d);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        rc = -1;
    return rc;
}

int oc_rm_rf(const char *path)
{
    if (!path || !*path || strcmp(path, "/") == 0) {
        errno = EINVAL;
        return -1;
    }
    return oc_rm_rf_at(AT_FDCWD, path);
}

char *oc_read_file(const char *path, size_t *len)
{
    return oc_read_file_max(path, SIZE_MAX, len);
}

char *oc_read_file_max(const char *path, size_t max, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    char *text = oc_read_fd_max(fd, max, len);
    int saved = errno;
    close(fd);
    errno = saved;
    return text;
}

char *oc_read_fd_max(int fd, size_t max, size_t *len)
{
    struct oc_buf b = {0};
    char chunk[65536];
    while (b.len < max) {
        ssize_t n = read(fd, chunk, max - b.len < sizeof chunk ? max - b.len : sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;
            oc_buf_free(&b);
            errno = saved;
            return NULL;
        }
        if (n == 0)
            break;
        oc_buf_add(&b, chunk, (size_t)n);
    }
    if (len)
        *len = b.len;
    return oc_buf_steal(&b);
}

/* "FILE:LINE:COL: " + kind + the message, appended to a growable list. */
static void oc_diag_push(char ***list, struct oc_diag_where **at, size_t *n, size_t *cap,
                         const struct oc_pos *pos, const char *kind, const char *fmt,
                         va_list ap)
{
    char *msg = oc_xvasprintf(fmt, ap);
    char *line;
    struct oc_diag_where w = {0};
    if (pos && pos->file) {
        line = oc_xasprintf("%s:%u:%u: %s%s", pos->file, pos->line, pos->col, kind, msg);
        w = (struct oc_diag_where){oc_xstrdup(pos->file), pos->line, pos->col, 0};
    } else {
        line = oc_xasprintf("%s%s", kind, msg);
    }
    w.text = strlen(line) - strlen(msg);
    free(msg);
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 8;
        *list = oc_xrealloc(*list, *cap * sizeof **list);
        *at = oc_xrealloc(*at, *cap * sizeof **at);
    }
    (*at)[*n] = w;
    (*list)[(*n)++] = line;
}

void oc_diag_add(struct oc_diag *d, const struct oc_pos *pos, const char *fmt,
                 ...)
{
    va_list ap;
    va_start(ap, fmt);
    oc_diag_push(&d->msgs, &d->msgs_at, &d->n, &d->cap, pos, "", fmt, ap);
    va_end(ap);
}

void oc_diag_warn(struct oc_diag *d, const struct oc_pos *pos, const char *fmt,
                  ...)
{
    va_list ap;
    va_start(ap, fmt);
    oc_diag_push(&d->warns, &d->warns_at, &d->n_warns, &d->cap_warns, pos, "warning: ", fmt,
                 ap);
    va_end(ap);
}

void oc_diag_free(struct oc_diag *d)
{
    for (size_t i = 0; i < d->n; i++) {
        free(d->msgs[i]);
        free(d->msgs_at[i].file);
    }
    free(d->msgs);
    free(d->msgs_at);
    d->msgs = NULL;
    d->msgs_at = NULL;
    d->n = d->cap = 0;
    for (size_t i = 0; i < d->n_warns; i++) {
        free(d->warns[i]);
        free(d->warns_at[i].file);
    }
    free(d->warns);
    free(d->warns_at);
    d->warns = NULL;
    d->warns_at = NULL;
    d->n_warns = d->cap_warns = 0;
}

unsigned long long oc_proc_start_time(long pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    char *stat = oc_read_file(path, NULL);
    /* Field 22 (starttime), counting from the state field after ")": the
     * command name before it may hold spaces. */
    char *p = stat ? strrchr(stat, ')') : NULL;
    unsigned long long start = 0;
    if (p) {
        p += 2;
        for (int f = 3; f < 22 && p; f++) {
            p = strchr(p, ' ');
            if (p)
                p++;
        }
        if (p)
            start = strtoull(p, NULL, 10);
    }
    free(stat);
    return start;
}

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no
 * surrogates, nothing above U+10FFFF), 0 when it is not one. */
static size_t oc_utf8_seq(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return len;
}

char *oc_utf8_lossy(const char *data, size_t len, size_t *out_len)
{
    struct oc_buf b = {0};
    const unsigned char *p = (const unsigned char *)data;
    size_t i = 0;
    while (i < len) {
        size_t k = oc_utf8_seq(p + i, len - i);
        if (k) {
            oc_buf_add(&b, p + i, k);
            i += k;
        } else {
            oc_buf_add(&b, "\xEF\xBF\xBD", 3);
            i++;
        }
    }
    *out_len = b.len;
    return oc_buf_steal(&b);
}

int oc_utf8_printable(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    size_t n;
    char *fixed = oc_utf8_lossy(s, len, &n);
    int ok = n == len && !memcmp(fixed, s, len);
    free(fixed);
    return ok;
}

char *oc_escape_bytes(const char *s, size_t len, size_t max)
{
    struct oc_buf b = {0};
    for (size_t i = 0; i < len && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c < 0x7f && c != '\\')
            oc_buf_add(&b, (const char *)&c, 1);
        else
            oc_buf_addf(&b, "\\x%02x", c);
    }
    if (len > max)
        oc_buf_adds(&b, "...");
    return b.data ? b.data : oc_xstrdup("");
}
