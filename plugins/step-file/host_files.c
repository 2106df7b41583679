/* host:PATH, a file of the machine orch runs on. Reachable only inside
 * the directories the operator listed (defaults.host_paths, handed to the
 * step as ctx_get("host_paths")); none listed: host: paths are off. The
 * path is cleaned lexically (no ".."), matched to an allowed directory,
 * then opened beneath it: openat2 with RESOLVE_BENEATH and
 * RESOLVE_NO_MAGICLINKS, so a symlink may not lead out, checked by the
 * kernel at the moment of the open (no window between a check and the
 * use). Kernels without openat2: no symlink is followed at all (O_NOFOLLOW
 * on every component). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "file.h"

/* Per component, no symlink followed: the fallback for old kernels. */
static int sf_open_nofollow(int dirfd, const char *rel, int flags, mode_t mode)
{
    int fd = dup(dirfd);
    if (fd < 0)
        return -1;
    const char *p = rel;
    for (;;) {
        const char *e = strchr(p, '/');
        if (!e) {
            int r = openat(fd, p, flags | O_NOFOLLOW | O_CLOEXEC, mode);
            int saved = errno;
            close(fd);
            errno = saved;
            return r;
        }
        char name[256];
        size_t n = (size_t)(e - p);
        if (n >= sizeof name) {
            close(fd);
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(name, p, n);
        name[n] = 0;
        int nfd = openat(fd, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        int saved = errno;
        close(fd);
        if (nfd < 0) {
            errno = saved;
            return -1;
        }
        fd = nfd;
        p = e + 1;
    }
}

/* rel (clean, relative) opened beneath dirfd; -1 with errno (EXDEV or
 * ELOOP: a symlink would have led out). */
static int sf_open_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
#ifdef SYS_openat2
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC),
                           .mode = (flags & O_CREAT) ? mode : 0,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof how);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM))
        return (int)fd;
#endif
    return sf_open_nofollow(dirfd, rel, flags, mode);
}

/* "." and empty components out; -1 on ".." or when too long. */
static int sf_clean_abs(const char *in, char *out, size_t cap)
{
    size_t len = 0;
    for (const char *p = in; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return -1;
        if (n && !(n == 1 && p[0] == '.')) {
            if (len + n + 2 >= cap)
                return -1;
            out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p += n + (e ? 1 : 0);
    }
    out[len] = 0;
    return len ? 0 : -1;
}

/* The allowed directory holding path, opened, and path relative to it. */
static orch_status sf_host_locate(struct orch_ctx *ctx, const char *path, int *root,
                                  char *rel, size_t cap, struct orch_error *err)
{
    const char *list = sf_host->ctx_get(ctx, "host_paths");
    if (!list || !*list)
        return sf_host->error_set(err, ORCH_E_CONFIG,
                                  "host:%s refused: host: paths are off (list the "
                                  "directories steps may use under defaults.host_paths)",
                                  path);
    char joined[8192], abs[4096];
    if (path[0] == '/') {
        snprintf(joined, sizeof joined, "%s", path);
    } else {
        char cwd[4096];
        if (!getcwd(cwd, sizeof cwd))
            return sf_host->error_set(err, ORCH_E_IO, "getcwd: %s", strerror(errno));
        snprintf(joined, sizeof joined, "%s/%s", cwd, path);
    }
    if (sf_clean_abs(joined, abs, sizeof abs) != 0)
        return sf_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "host:%s refused: a host path may not hold '..'", path);
    for (const char *p = list; *p;) {
        const char *e = strchr(p, '\n');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        char dir[4096], real[4096];
        if (n && n < sizeof dir) {
            memcpy(dir, p, n);
            dir[n] = 0;
            /* The directory as configured, and as it resolves. */
            const char *forms[2] = {dir, realpath(dir, real) ? real : NULL};
            for (int f = 0; f < 2; f++) {
                const char *d = forms[f];
                size_t dl = d ? strlen(d) : 0;
                if (!d || strncmp(abs, d, dl) || (dl > 1 && abs[dl] != '/') || !abs[dl])
                    continue;
                const char *r = abs + dl + (dl > 1 ? 1 : 0);
                if (!*r || strlen(r) >= cap)
                    continue;
                *root = open(d, O_PATH | O_DIRECTORY | O_CLOEXEC);
                if (*root < 0)
                    return sf_host->error_set(err, ORCH_E_IO, "host directory %s: %s",
                                              d, strerror(errno));
                strcpy(rel, r);
                return ORCH_OK;
            }
        }
        p += n + (e ? 1 : 0);
    }
    return sf_host->error_set(err, ORCH_E_CONFIG,
                              "host:%s refused: it is outside every directory of "
                              "defaults.host_paths",
                              path);
}

static orch_status sf_open_failed(const char *path, int e, struct orch_error *err)
{
    if (e == EXDEV || e == ELOOP)
        return sf_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "host:%s refused: a symbolic link on the way leads out "
                                  "of its allowed directory",
                                  path);
    return sf_host->error_set(err, e == ENOENT ? ORCH_E_NOT_FOUND : ORCH_E_IO,
                              "host file %s: %s", path, strerror(e));
}

orch_status sf_fetch_host(struct orch_ctx *ctx, const struct sf_loc *from,
                          orch_write_fn wr, void *ud, struct orch_error *err)
{
    int root;
    char rel[4096];
    orch_status st = sf_host_locate(ctx, from->path, &root, rel, sizeof rel, err);
    if (st != ORCH_OK)
        return st;
    /* O_NONBLOCK: a FIFO must not hang the step before it is refused. */
    int fd = sf_open_beneath(root, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
    int e = errno;
    close(root);
    if (fd < 0)
        return sf_open_failed(from->path, e, err);
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd);
        return sf_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "host:%s is not a regular file", from->path);
    }
    fcntl(fd, F_SETFL, 0);
    char buf[65536];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            st = sf_host->error_set(err, ORCH_E_IO, "reading host file %s: %s",
                                    from->path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (wr(ud, buf, (uint64_t)n) != 0) {
            st = sf_host->error_set(err, ORCH_E_FAILED, "spooling host file %s stopped",
                                    from->path);
            break;
        }
    }
    close(fd);
    return st;
}

/* The directory above rel's last component, created as needed, each level
 * opened beneath the one before; *base is the last component. */
static int sf_host_parent(int root, char *rel, const char **base)
{
    int fd = dup(root);
    char *p = rel;
    for (char *e; fd >= 0 && (e = strchr(p, '/'));) {
        *e = 0;
        if (mkdirat(fd, p, 0755) != 0 && errno != EEXIST) {
            close(fd);
            return -1;
        }
        int nfd = sf_open_beneath(fd, p, O_PATH | O_DIRECTORY, 0);
        int saved = errno;
        close(fd);
        errno = saved;
        fd = nfd;
        *e = '/';
        p = e + 1;
    }
    *base = p;
    return fd;
}

/* Written beside the target under a fresh name (O_EXCL: never through a
 * file someone put there) and renamed over it: a reader never sees half,
 * and a link at the target is replaced, not written through. */
orch_status sf_store_host(struct orch_ctx *ctx, const struct sf_loc *to, uint32_t mode,
                          orch_read_fn rd, void *ud, struct orch_error *err)
{
    int root;
    char rel[4096];
    orch_status st = sf_host_locate(ctx, to->path, &root, rel, sizeof rel, err);
    if (st != ORCH_OK)
        return st;
    const char *base;
    int dfd = sf_host_parent(root, rel, &base);
    int e = errno;
    close(root);
    if (dfd < 0)
        return sf_open_failed(to->path, e, err);
    char tmp[300];
    snprintf(tmp, sizeof tmp, ".%.200s.orch-tmp-%ld-%llx", base, (long)getpid(),
             (unsigned long long)sf_host->now_mono_ns());
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        e = errno;
        close(dfd);
        return sf_host->error_set(err, ORCH_E_IO, "host file %s: %s", to->path,
                                  strerror(e));
    }
    char buf[65536];
    for (;;) {
        int64_t n = rd(ud, buf, sizeof buf);
        if (n < 0) {
            st = sf_host->error_set(err, ORCH_E_IO, "reading the spool failed");
            break;
        }
        if (n == 0)
            break;
        for (int64_t off = 0; off < n && st == ORCH_OK;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                st = sf_host->error_set(err, ORCH_E_IO, "writing %s: %s", to->path,
                                        strerror(errno));
            else
                off += w;
        }
        if (st != ORCH_OK)
            break;
    }
    if (st == ORCH_OK && fchmod(fd, mode & 07777) != 0)
        st = sf_host->error_set(err, ORCH_E_IO, "%s: %s", to->path, strerror(errno));
    if (close(fd) != 0 && st == ORCH_OK)
        st = sf_host->error_set(err, ORCH_E_IO, "writing %s: %s", to->path,
                                strerror(errno));
    if (st == ORCH_OK && renameat(dfd, tmp, dfd, base) != 0)
        st = sf_host->error_set(err, ORCH_E_IO, "%s: %s", to->path, strerror(errno));
    if (st != ORCH_OK)
        unlinkat(dfd, tmp, 0);
    close(dfd);
    return st;
}
