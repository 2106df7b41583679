/* Files inside an instance. Paths are relative to its work dir; absolute
 * paths, ".." and symlinks are refused (O_NOFOLLOW on every component
 * through openat), and a file read must be the instance's own (one link,
 * same device: lb_own_file). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "local.h"

static int lb_rel_ok(const char *rel)
{
    if (!rel || rel[0] == '/')
        return 0;
    for (const char *p = rel; *p;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.')
            return 0;
        p += n + (e ? 1 : 0);
    }
    return 1;
}

/* Open the directory holding the last component of rel, walking each
 * component with O_NOFOLLOW so a symlink cannot lead outside. *base is the
 * last component. mkdirs: create missing directories. */
static int lb_open_parent(const struct orch_instance *in, const char *rel, int mkdirs,
                          const char **base, struct orch_error *err)
{
    if (!lb_rel_ok(rel) || !*rel) {
        lb_host->error_set(err, ORCH_E_INVALID_ARG,
                           "path '%s' leaves the instance (absolute, empty or '..')",
                           rel ? rel : "");
        return -1;
    }
    int fd = open(in->workdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        lb_host->error_set(err, ORCH_E_NOT_FOUND, "instance %s: %s", in->id, strerror(errno));
        return -1;
    }
    const char *p = rel;
    for (;;) {
        const char *e = strchr(p, '/');
        if (!e) {
            *base = p;
            return fd;
        }
        char name[256];
        size_t n = (size_t)(e - p);
        if (n == 0 || (n == 1 && p[0] == '.')) {
            p = e + 1;
            continue;
        }
        if (n >= sizeof name) {
            close(fd);
            lb_host->error_set(err, ORCH_E_INVALID_ARG, "path component too long in '%s'", rel);
            return -1;
        }
        memcpy(name, p, n);
        name[n] = 0;
        if (mkdirs)
            mkdirat(fd, name, 0755);
        int nfd = openat(fd, name, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        close(fd);
        if (nfd < 0) {
            lb_host->error_set(err, errno == ENOENT ? ORCH_E_NOT_FOUND : ORCH_E_INVALID_ARG,
                               "'%s': %s", rel,
                               errno == ELOOP || errno == ENOTDIR ? "a component is a symlink "
                                                                    "or not a directory"
                                                                  : strerror(errno));
            return -1;
        }
        fd = nfd;
        p = e + 1;
    }
}

int lb_open_dir(const struct orch_instance *in, const char *rel, struct orch_error *err)
{
    if (!rel || !*rel || !strcmp(rel, ".")) {
        int fd = open(in->workdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            lb_host->error_set(err, ORCH_E_NOT_FOUND, "instance %s: %s", in->id,
                               strerror(errno));
        return fd;
    }
    char trimmed[4096];
    size_t n = strlen(rel);
    if (n >= sizeof trimmed) {
        lb_host->error_set(err, ORCH_E_INVALID_ARG, "path '%s' is too long", rel);
        return -1;
    }
    memcpy(trimmed, rel, n + 1);
    while (n > 1 && trimmed[n - 1] == '/')
        trimmed[--n] = 0; /* "dir/" names dir */
    const char *base;
    int dfd = lb_open_parent(in, trimmed, 0, &base, err);
    if (dfd < 0)
        return -1;
    int fd = !strcmp(base, ".") ? dup(dfd)
                                : openat(dfd, base, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    int e = errno;
    close(dfd);
    if (fd < 0)
        lb_host->error_set(err, e == ENOENT ? ORCH_E_NOT_FOUND : ORCH_E_INVALID_ARG,
                           "'%s': %s", rel,
                           e == ELOOP || e == ENOTDIR ? "a symbolic link or not a directory "
                                                        "(links are not followed: they could "
                                                        "lead out of the work dir)"
                                                      : strerror(e));
    return fd;
}

orch_status lb_put_file(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        uint32_t mode, orch_read_fn rd, void *ud, struct orch_error *err)
{
    const char *base;
    int dfd = lb_open_parent(in, path, 1, &base, err);
    if (dfd < 0)
        return err->code;
    /* A fresh name, O_EXCL: never written through a file (or a hard link
     * to one outside) that a command of the instance left there. */
    char tmp[300];
    snprintf(tmp, sizeof tmp, ".%.200s.orch-tmp-%ld-%llx", base, (long)getpid(),
             (unsigned long long)lb_host->now_mono_ns());
    int fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                    mode ? mode & 07777 : 0644);
    if (fd < 0) {
        close(dfd);
        return lb_host->error_set(err, ORCH_E_IO, "%s: %s", path, strerror(errno));
    }
    char buf[65536];
    orch_status rc = ORCH_OK;
    for (;;) {
        int64_t n = rd(ud, buf, sizeof buf);
        if (n < 0) {
            rc = lb_host->error_set(err, ORCH_E_IO, "%s: the source failed", path);
            break;
        }
        if (n == 0)
            break;
        for (int64_t off = 0; off < n;) {
            ssize_t w = write(fd, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = lb_host->error_set(err, ORCH_E_IO, "%s: %s", path, strerror(errno));
                break;
            }
            off += w;
        }
        if (rc != ORCH_OK)
            break;
    }
    if (mode)
        fchmod(fd, mode & 07777);
    close(fd);
    /* Atomic: a reader sees the old file or the whole new one. */
    if (rc == ORCH_OK && renameat(dfd, tmp, dfd, base) != 0)
        rc = lb_host->error_set(err, ORCH_E_IO, "%s: %s", path, strerror(errno));
    if (rc != ORCH_OK)
        unlinkat(dfd, tmp, 0);
    close(dfd);
    (void)ctx;
    return rc;
}

/* A file the instance may hand out is its own: a regular file with one
 * link, on the work dir's file system. A hard link made by a command of
 * the instance to a file outside (ln /etc/... x) has st_nlink > 1; a file
 * on another device came through a mount. Refused rather than copied. */
static orch_status lb_own_file(const struct orch_instance *in, int fd, const char *path,
                               struct orch_error *err)
{
    struct stat sb, wd;
    if (fstat(fd, &sb) != 0 || stat(in->workdir, &wd) != 0)
        return lb_host->error_set(err, ORCH_E_IO, "%s: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode))
        return lb_host->error_set(err, ORCH_E_INVALID_ARG, "%s is not a regular file", path);
    if (sb.st_nlink > 1)
        return lb_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "%s has %lu hard links: a file with more than one is "
                                  "refused (a link could name a file outside the work dir)",
                                  path, (unsigned long)sb.st_nlink);
    if (sb.st_dev != wd.st_dev)
        return lb_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "%s is on another file system than the work dir: refused", path);
    fcntl(fd, F_SETFL, 0);
    return ORCH_OK;
}

orch_status lb_get_file(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        orch_write_fn wr, void *ud, struct orch_error *err)
{
    const char *base;
    int dfd = lb_open_parent(in, path, 0, &base, err);
    if (dfd < 0)
        return err->code;
    int fd = openat(dfd, base, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int e = errno;
    close(dfd);
    if (fd < 0 && e == ELOOP)
        return lb_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "%s is a symbolic link: links are not followed (they could "
                                  "lead out of the work dir)",
                                  path);
    if (fd < 0)
        return lb_host->error_set(err, e == ENOENT ? ORCH_E_NOT_FOUND : ORCH_E_IO, "%s: %s",
                                  path, strerror(e));
    if (lb_own_file(in, fd, path, err) != ORCH_OK) {
        close(fd);
        return err->code;
    }
    char buf[65536];
    orch_status rc = ORCH_OK;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = lb_host->error_set(err, ORCH_E_IO, "%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0)
            break;
        if (wr(ud, buf, (uint64_t)n) != 0) {
            rc = lb_host->error_set(err, ORCH_E_CANCELLED, "%s: the reader stopped", path);
            break;
        }
    }
    close(fd);
    (void)ctx;
    return rc;
}

orch_status lb_list_dir(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        orch_dirent_fn fn, void *ud, struct orch_error *err)
{
    int fd;
    if (!path || !*path || !strcmp(path, ".")) {
        fd = open(in->workdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
    } else {
        const char *base;
        int dfd = lb_open_parent(in, path, 0, &base, err);
        if (dfd < 0)
            return err->code;
        fd = openat(dfd, base, O_DIRECTORY | O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        close(dfd);
    }
    if (fd < 0)
        return lb_host->error_set(err, errno == ENOENT ? ORCH_E_NOT_FOUND : ORCH_E_IO,
                                  "%s: %s", path ? path : ".", strerror(errno));
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return lb_host->error_set(err, ORCH_E_IO, "%s: %s", path, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        struct stat sb;
        if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        struct orch_dirent e = {
            .struct_size = sizeof e,
            .type = S_ISREG(sb.st_mode)   ? ORCH_FT_FILE
                    : S_ISDIR(sb.st_mode) ? ORCH_FT_DIR
                    : S_ISLNK(sb.st_mode) ? ORCH_FT_LINK
                                          : ORCH_FT_OTHER,
            .name = de->d_name,
            .mode = sb.st_mode & 07777,
            .size = (uint64_t)sb.st_size,
            .mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec,
        };
        if (fn(ud, &e) != 0)
            break;
    }
    closedir(d);
    (void)ctx;
    return ORCH_OK;
}
