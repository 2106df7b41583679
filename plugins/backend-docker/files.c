/* Files through the archive API: put_file uploads a one-entry tar into the
 * parent directory (made with mkdir -p when missing), get_file reads the
 * first entry of the tar the engine sends (a symbolic link is refused, as
 * the local backend does), and list_dir reads the entry headers of a
 * directory's tar. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "tar.h"

/* ---- put_file: the upload (upload.c), with mkdir -p of a missing parent */

static orch_status dk_mkdir_p(struct orch_instance *in, struct orch_ctx *ctx, const char *dir,
                              struct orch_error *err)
{
    char *q = pk_shquote(dk_host, dir);
    char *script = q ? dk_printf("mkdir -p -- %s", q) : NULL;
    dk_host->free(q);
    if (!script)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    int code = -1;
    struct pk_buf out = {.h = dk_host};
    orch_status st = dk_sh(in, ctx, 0, script, &code, &out, err);
    if (st == ORCH_OK && code != 0)
        st = dk_host->error_set(err, ORCH_E_IO, "cannot create %s in %s: %s", dir,
                                in->name, out.p ? out.p : "mkdir failed");
    dk_host->free(script);
    pk_buf_free(&out);
    return st;
}

orch_status dk_put_file(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        uint32_t mode, orch_read_fn rd, void *ud, struct orch_error *err)
{
    return dk_put_path(in, ctx, path, mode, rd, ud, dk_mkdir_p, err);
}

/* ---- get_file and list_dir: a tar arrives; its headers drive both. */

struct dk_fetch {
    struct dk_untar t;
    orch_status why;      /* set when the parse stopped for a reason */
    int entries;
    /* get_file */
    orch_write_fn wr;
    void *wud;
    char type;
    /* list_dir */
    orch_dirent_fn fn;
    void *fud;
    char *prefix;         /* the directory's own entry name, with '/' */
    int stopped;          /* all that was wanted has arrived (or fn said stop) */
};

static size_t dk_on_tar(char *p, size_t size, size_t n, void *ud)
{
    struct dk_fetch *f = ud;
    int rc = dk_untar_feed(&f->t, p, size * n);
    if (rc < 0 && !f->why)
        f->why = ORCH_E_PROTOCOL;
    return rc ? 0 : size * n;
}

static int dk_file_entry(void *ud, const struct dk_tar_entry *e)
{
    struct dk_fetch *f = ud;
    if (f->entries++ > 0) {
        f->stopped = 1; /* the file's own entry is all we want */
        return 1;
    }
    f->type = e->type;
    return 0;
}

static int dk_file_data(void *ud, const void *p, size_t n)
{
    struct dk_fetch *f = ud;
    if (f->wr(f->wud, p, n) != 0) {
        f->why = ORCH_E_IO;
        return 1;
    }
    return 0;
}

static orch_status dk_fetch_tar(struct orch_instance *in, struct orch_ctx *ctx,
                                const char *abs, struct dk_fetch *f, struct orch_error *err)
{
    char *epath = dk_escape(abs);
    char *path = epath ? dk_printf("/containers/%s/archive?path=%s", in->id, epath) : NULL;
    dk_host->free(epath);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct dk_req rq = {.method = "GET", .path = path, .ctx = ctx, .write_cb = dk_on_tar,
                        .write_ud = f, .abort_status = ORCH_E_IO,
                        .stopped_early = &f->stopped, .timeout_ms = -1};
    struct dk_resp rs;
    orch_status st = dk_http(in->be, &rq, &rs, err);
    int have_rs = st == ORCH_OK;
    dk_host->free(path);
    if (st == ORCH_OK && rs.code != 200) {
        json_t *ans = rs.http.body.len ? json_loadb(rs.http.body.p, rs.http.body.len, 0, NULL) : NULL;
        st = rs.code == 404 ? dk_engine_error(err, rs.code, ans,
                                              "no such file or directory: %s in %s",
                                              abs, in->name)
                            : dk_engine_error(err, rs.code, ans, "reading %s in %s",
                                              abs, in->name);
        json_decref(ans);
    } else if (st != ORCH_OK && f->why == ORCH_E_PROTOCOL) {
        st = dk_host->error_set(err, ORCH_E_PROTOCOL, "reading %s in %s: %s", abs,
                                in->name, f->t.err);
    }
    if (have_rs)
        dk_resp_free(&rs);
    return st;
}

orch_status dk_get_file(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        orch_write_fn wr, void *ud, struct orch_error *err)
{
    char *abs = dk_abs_path(in, path);
    if (!abs)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct dk_fetch f = {.wr = wr, .wud = ud};
    f.t.on_entry = dk_file_entry;
    f.t.on_data = dk_file_data;
    f.t.ud = &f;
    orch_status st = dk_fetch_tar(in, ctx, abs, &f, err);
    dk_untar_free(&f.t);
    if (f.why == ORCH_E_IO)
        st = dk_host->error_set(err, ORCH_E_IO, "get_file %s: the receiver stopped the "
                                                "transfer", path);
    else if (st != ORCH_OK)
        ;
    else if (f.entries == 0)
        st = dk_host->error_set(err, ORCH_E_PROTOCOL, "reading %s in %s: empty archive",
                                abs, in->name);
    else if (f.type == '5')
        st = dk_host->error_set(err, ORCH_E_INVALID_ARG, "%s in %s is a directory", abs,
                                in->name);
    else if (f.type == '2')
        st = dk_host->error_set(err, ORCH_E_INVALID_ARG,
                                "%s in %s is a symbolic link: links are not followed "
                                "(they could lead out of the work dir)",
                                abs, in->name);
    else if (f.type != '0' && f.type != '7')
        st = dk_host->error_set(err, ORCH_E_INVALID_ARG, "%s in %s is not a regular file",
                                abs, in->name);
    dk_host->free(abs);
    return st;
}

static int dk_dir_entry(void *ud, const struct dk_tar_entry *e)
{
    struct dk_fetch *f = ud;
    if (f->entries++ == 0) {
        if (e->type != '5') {
            f->why = ORCH_E_INVALID_ARG;
            return 1;
        }
        size_t n = strlen(e->name);
        f->prefix = dk_printf("%s%s", e->name, n && e->name[n - 1] == '/' ? "" : "/");
        return f->prefix ? 0 : (f->why = ORCH_E_NOMEM, 1);
    }
    size_t pl = strlen(f->prefix);
    if (strncmp(e->name, f->prefix, pl))
        return 0;
    char name[1024];
    snprintf(name, sizeof name, "%s", e->name + pl);
    size_t nl = strlen(name);
    if (nl && name[nl - 1] == '/')
        name[--nl] = 0;
    if (!nl || strchr(name, '/'))
        return 0; /* deeper than one level */
    struct orch_dirent de = {
        .struct_size = sizeof de,
        .type = e->type == '0' || e->type == '7' || e->type == '1' ? ORCH_FT_FILE
                : e->type == '5'                                   ? ORCH_FT_DIR
                : e->type == '2'                                   ? ORCH_FT_LINK
                                                                   : ORCH_FT_OTHER,
        .name = name,
        .mode = e->mode & 07777,
        .size = e->type == '5' ? 0 : e->size,
        .mtime_ns = e->mtime * 1000000000,
    };
    if (f->fn(f->fud, &de) != 0) {
        f->stopped = 1;
        return 1;
    }
    return 0;
}

orch_status dk_list_dir(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        orch_dirent_fn fn, void *ud, struct orch_error *err)
{
    char *abs = dk_abs_path(in, path);
    if (!abs)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct dk_fetch f = {.fn = fn, .fud = ud};
    f.t.on_entry = dk_dir_entry;
    f.t.ud = &f;
    orch_status st = dk_fetch_tar(in, ctx, abs, &f, err);
    if (f.why == ORCH_E_INVALID_ARG)
        st = dk_host->error_set(err, ORCH_E_INVALID_ARG, "%s in %s is not a directory",
                                abs, in->name);
    else if (f.why == ORCH_E_NOMEM)
        st = dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    dk_untar_free(&f.t);
    dk_host->free(f.prefix);
    dk_host->free(abs);
    return st;
}
