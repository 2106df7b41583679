/* Files of an instance over SFTP: paths relative to its work dir, never
 * absolute or through "..", and never through a symlink out of it: the
 * server resolves the path (SSH_FXP_REALPATH) and it must still lie under
 * the work dir's own resolved path; a symlink as the file itself is
 * refused. Writes go to a fresh file (the old entry unlinked first, then
 * created exclusively), so a hard link left at the name is replaced, never
 * written through. SFTP v3 carries no link count: a hard link to a file
 * outside is readable here as it is to any command of the instance (see
 * docs/security.md). SFTP has no openat: a command running at the same
 * time could swap a directory for a link between check and open. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ssh.h"

int sb_rel_ok(const char *rel)
{
    if (!rel || rel[0] == '/')
        return 0;
    for (const char *p = rel; *p; p++)
        if (p[0] == '.' && p[1] == '.' && (p == rel || p[-1] == '/') && (p[2] == '/' || !p[2]))
            return 0;
    return 1;
}

char *sb_resolve(const struct orch_instance *in, const char *rel, struct orch_error *err)
{
    if (!rel || !*rel || !strcmp(rel, "."))
        return sb_host->strdup(in->workdir);
    if (!sb_rel_ok(rel)) {
        sb_host->error_set(err, ORCH_E_INVALID_ARG,
                           "path '%s' leaves the instance (absolute or '..')", rel);
        return NULL;
    }
    return sb_printf("%s/%s", in->workdir, rel);
}

/* Whether path (resolved by the server) lies under the work dir. */
static orch_status sb_confined(struct orch_backend *be, const struct orch_instance *in,
                               const char *path, const char *rel, struct orch_error *err)
{
    char wd[4096], real[4096];
    int wl = libssh2_sftp_realpath(be->sftp, in->workdir, wd, sizeof wd - 1);
    int rl = libssh2_sftp_realpath(be->sftp, path, real, sizeof real - 1);
    if (wl <= 0)
        return sb_host->error_set(err, ORCH_E_IO, "cannot resolve the work dir %s",
                                  in->workdir);
    if (rl <= 0)
        return ORCH_OK; /* does not exist yet: the open says so */
    wd[wl] = real[rl] = 0;
    if (!strncmp(real, wd, (size_t)wl) && (real[wl] == '/' || !real[wl]))
        return ORCH_OK;
    return sb_host->error_set(err, ORCH_E_INVALID_ARG,
                              "%s leads out of the instance's work dir through a symbolic "
                              "link: refused",
                              rel);
}

static orch_status sb_not_link(struct orch_backend *be, const char *path, const char *rel,
                               struct orch_error *err)
{
    LIBSSH2_SFTP_ATTRIBUTES a;
    if (libssh2_sftp_lstat(be->sftp, path, &a) == 0 &&
        (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) &&
        (a.permissions & LIBSSH2_SFTP_S_IFMT) == LIBSSH2_SFTP_S_IFLNK)
        return sb_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "%s is a symbolic link: links are not followed (they could "
                                  "lead out of the work dir)",
                                  rel);
    return ORCH_OK;
}

/* The parent of path (a copy cut at its last '/') is confined. */
static orch_status sb_parent_confined(struct orch_backend *be, const struct orch_instance *in,
                                      const char *path, const char *rel,
                                      struct orch_error *err)
{
    char *parent = sb_host->strdup(path);
    if (!parent)
        return sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    char *slash = strrchr(parent, '/');
    if (slash)
        *slash = 0;
    orch_status rc = sb_confined(be, in, parent, rel, err);
    sb_host->free(parent);
    return rc;
}

static orch_status sb_sftp_fail(struct orch_backend *be, const char *what, const char *path,
                                struct orch_error *err)
{
    unsigned long code = be->sftp ? libssh2_sftp_last_error(be->sftp) : 0;
    if (code == LIBSSH2_FX_NO_SUCH_FILE || code == LIBSSH2_FX_NO_SUCH_PATH)
        return sb_host->error_set(err, ORCH_E_NOT_FOUND, "%s %s: no such file", what,
                                  path);
    if (code == LIBSSH2_FX_PERMISSION_DENIED)
        return sb_host->error_set(err, ORCH_E_IO, "%s %s: permission denied",
                                  what, path);
    if (code)
        return sb_host->error_set(err, ORCH_E_IO, "%s %s: sftp error %lu", what, path,
                                  code);
    char *w = sb_printf("sftp %s %s", what, path);
    orch_status rc = sb_fail(be, w ? w : what, err);
    sb_host->free(w);
    return rc;
}

/* mkdir -p of the directories above path, inside the work dir: each level
 * is checked before the next is made in it. */
static orch_status sb_parents(struct orch_backend *be, const struct orch_instance *in,
                              char *path, const char *rel, struct orch_error *err)
{
    size_t base = strlen(in->workdir);
    for (char *s = path + base + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            libssh2_sftp_mkdir(be->sftp, path, 0755); /* exists: fine */
            orch_status rc = sb_confined(be, in, path, rel, err);
            *s = '/';
            if (rc != ORCH_OK)
                return rc;
        }
    return ORCH_OK;
}

orch_status sb_put_file(struct orch_instance *in, struct orch_ctx *ctx, const char *rel,
                        uint32_t mode, orch_read_fn rd, void *ud, struct orch_error *err)
{
    (void)ctx;
    struct orch_backend *be = in->be;
    if (!rel || !*rel)
        return sb_host->error_set(err, ORCH_E_INVALID_ARG, "put_file: no path");
    char *path = sb_resolve(in, rel, err);
    if (!path)
        return err->code;
    orch_status rc = sb_sftp(be, err);
    if (rc != ORCH_OK) {
        sb_host->free(path);
        return rc;
    }
    if ((rc = sb_parents(be, in, path, rel, err)) != ORCH_OK ||
        (rc = sb_parent_confined(be, in, path, rel, err)) != ORCH_OK) {
        sb_host->free(path);
        return rc;
    }
    libssh2_sftp_unlink(be->sftp, path); /* absent: fine */
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open(
        be->sftp, path, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_EXCL,
        (long)(mode ? mode : 0644));
    if (!h) {
        rc = sb_sftp_fail(be, "write", rel, err);
        sb_host->free(path);
        return rc;
    }
    char buf[32768];
    for (;;) {
        int64_t n = rd(ud, buf, sizeof buf);
        if (n < 0) {
            rc = sb_host->error_set(err, ORCH_E_IO, "put_file %s: reading the source failed",
                                    rel);
            break;
        }
        if (n == 0)
            break;
        for (int64_t off = 0; off < n;) {
            ssize_t w = libssh2_sftp_write(h, buf + off, (size_t)(n - off));
            if (w < 0) {
                rc = sb_sftp_fail(be, "write", rel, err);
                break;
            }
            off += w;
        }
        if (rc != ORCH_OK)
            break;
    }
    libssh2_sftp_close(h);
    /* The mode asked for, whatever the remote umask made of it. */
    if (rc == ORCH_OK) {
        LIBSSH2_SFTP_ATTRIBUTES a = {.flags = LIBSSH2_SFTP_ATTR_PERMISSIONS,
                                     .permissions = mode ? mode : 0644};
        if (libssh2_sftp_setstat(be->sftp, path, &a) != 0)
            rc = sb_sftp_fail(be, "chmod", rel, err);
    }
    sb_host->free(path);
    return rc;
}

orch_status sb_put_private(struct orch_backend *be, const char *path, const char *data,
                           size_t len, struct orch_error *err)
{
    orch_status rc = sb_sftp(be, err);
    if (rc != ORCH_OK)
        return rc;
    LIBSSH2_SFTP_HANDLE *h = libssh2_sftp_open(
        be->sftp, path, LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, 0600);
    if (!h)
        return sb_sftp_fail(be, "write", path, err);
    for (size_t off = 0; off < len;) {
        ssize_t w = libssh2_sftp_write(h, data + off, len - off);
        if (w < 0) {
            rc = sb_sftp_fail(be, "write", path, err);
            break;
        }
        off += (size_t)w;
    }
    libssh2_sftp_close(h);
    return rc;
}

orch_status sb_get_file(struct orch_instance *in, struct orch_ctx *ctx, const char *rel,
                        orch_write_fn wr, void *ud, struct orch_error *err)
{
    (void)ctx;
    struct orch_backend *be = in->be;
    char *path = sb_resolve(in, rel, err);
    if (!path)
        return err->code;
    orch_status rc = sb_sftp(be, err);
    if (rc == ORCH_OK && (rc = sb_not_link(be, path, rel, err)) == ORCH_OK)
        rc = sb_confined(be, in, path, rel, err);
    LIBSSH2_SFTP_HANDLE *h = rc == ORCH_OK ? libssh2_sftp_open(be->sftp, path,
                                                                 LIBSSH2_FXF_READ, 0)
                                           : NULL;
    if (rc == ORCH_OK && !h)
        rc = sb_sftp_fail(be, "read", rel, err);
    char buf[32768];
    while (h) {
        ssize_t n = libssh2_sftp_read(h, buf, sizeof buf);
        if (n < 0) {
            rc = sb_sftp_fail(be, "read", rel, err);
            break;
        }
        if (n == 0)
            break;
        if (wr(ud, buf, (uint64_t)n) != 0) {
            rc = sb_host->error_set(err, ORCH_E_CANCELLED, "get_file %s: the reader stopped",
                                    rel);
            break;
        }
    }
    if (h)
        libssh2_sftp_close(h);
    sb_host->free(path);
    return rc;
}

orch_status sb_list_dir(struct orch_instance *in, struct orch_ctx *ctx, const char *rel,
                        orch_dirent_fn fn, void *ud, struct orch_error *err)
{
    (void)ctx;
    struct orch_backend *be = in->be;
    char *path = sb_resolve(in, rel, err);
    if (!path)
        return err->code;
    orch_status rc = sb_sftp(be, err);
    if (rc == ORCH_OK)
        rc = sb_confined(be, in, path, rel ? rel : ".", err);
    LIBSSH2_SFTP_HANDLE *h = rc == ORCH_OK ? libssh2_sftp_opendir(be->sftp, path) : NULL;
    if (rc == ORCH_OK && !h)
        rc = sb_sftp_fail(be, "list", rel ? rel : ".", err);
    char name[1024];
    LIBSSH2_SFTP_ATTRIBUTES a;
    while (h) {
        int n = libssh2_sftp_readdir(h, name, sizeof name, &a);
        if (n < 0) {
            rc = sb_sftp_fail(be, "list", rel ? rel : ".", err);
            break;
        }
        if (n == 0)
            break;
        if (!strcmp(name, ".") || !strcmp(name, ".."))
            continue;
        unsigned long t = a.permissions & LIBSSH2_SFTP_S_IFMT;
        struct orch_dirent e = {
            .struct_size = sizeof e,
            .type = t == LIBSSH2_SFTP_S_IFREG   ? ORCH_FT_FILE
                    : t == LIBSSH2_SFTP_S_IFDIR ? ORCH_FT_DIR
                    : t == LIBSSH2_SFTP_S_IFLNK ? ORCH_FT_LINK
                                                : ORCH_FT_OTHER,
            .name = name,
            .mode = (uint32_t)(a.permissions & 07777),
            .size = a.filesize,
            .mtime_ns = (int64_t)a.mtime * 1000000000LL,
        };
        if (fn(ud, &e) != 0)
            break;
    }
    if (h)
        libssh2_sftp_closedir(h);
    sb_host->free(path);
    return rc;
}
