/* Uploads through the archive API: a one-entry tar PUT into a directory.
 * Apart from files.c so that exec.c (which uploads a command's stdin into
 * /tmp) and files.c (which makes a missing parent with mkdir -p, through
 * exec.c's dk_sh) do not call each other: the mkdir comes in as a
 * function. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "tar.h"

struct dk_upload {
    FILE *f;
    unsigned char head[DK_TAR_HDR_MAX];
    size_t head_len, head_off;
    uint64_t size, sent;      /* file bytes */
    size_t tail_len, tail_off; /* padding + two zero blocks */
};

static size_t dk_upload_read(char *buf, size_t size, size_t n, void *ud)
{
    struct dk_upload *u = ud;
    size_t cap = size * n, got = 0;
    while (got < cap) {
        if (u->head_off < u->head_len) {
            size_t k = u->head_len - u->head_off < cap - got ? u->head_len - u->head_off : cap - got;
            memcpy(buf + got, u->head + u->head_off, k);
            u->head_off += k;
            got += k;
        } else if (u->sent < u->size) {
            size_t want = u->size - u->sent < cap - got ? (size_t)(u->size - u->sent) : cap - got;
            size_t k = fread(buf + got, 1, want, u->f);
            if (k == 0)
                return CURL_READFUNC_ABORT;
            u->sent += k;
            got += k;
        } else if (u->tail_off < u->tail_len) {
            size_t k = u->tail_len - u->tail_off < cap - got ? u->tail_len - u->tail_off : cap - got;
            memset(buf + got, 0, k);
            u->tail_off += k;
            got += k;
        } else {
            break;
        }
    }
    return got;
}

/* The source is pulled to a temporary file first: a tar header needs the
 * size before the data. */
static orch_status dk_spool(orch_read_fn rd, void *ud, FILE **out, uint64_t *size,
                            struct orch_error *err)
{
    FILE *f = tmpfile();
    if (!f)
        return dk_host->error_set(err, ORCH_E_IO, "put_file: no temporary file: %m");
    char buf[65536];
    uint64_t total = 0;
    for (;;) {
        int64_t n = rd(ud, buf, sizeof buf);
        if (n < 0) {
            fclose(f);
            return dk_host->error_set(err, ORCH_E_IO, "put_file: reading the source "
                                                      "failed");
        }
        if (n == 0)
            break;
        if (fwrite(buf, 1, (size_t)n, f) != (size_t)n) {
            fclose(f);
            return dk_host->error_set(err, ORCH_E_IO, "put_file: spooling: %m");
        }
        total += (uint64_t)n;
    }
    *out = f;
    *size = total;
    return ORCH_OK;
}

static orch_status dk_put_once(struct orch_instance *in, struct orch_ctx *ctx, const char *dir,
                               struct dk_upload *u, long *code, json_t **ans,
                               struct orch_error *err)
{
    rewind(u->f);
    u->head_off = u->tail_off = 0;
    u->sent = 0;
    char *edir = dk_escape(dir);
    char *path = edir ? dk_printf("/containers/%s/archive?path=%s&copyUIDGID=1", in->id, edir)
                      : NULL;
    dk_host->free(edir);
    if (!path)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct dk_req rq = {.method = "PUT", .path = path, .ctx = ctx,
                        .content_type = "application/x-tar", .read_cb = dk_upload_read,
                        .read_ud = u,
                        .upload_size = (int64_t)(u->head_len + u->size + u->tail_len),
                        .timeout_ms = -1};
    struct dk_resp rs;
    orch_status st = dk_http(in->be, &rq, &rs, err);
    dk_host->free(path);
    if (st != ORCH_OK)
        return st;
    *code = rs.code;
    *ans = rs.http.body.len ? json_loadb(rs.http.body.p, rs.http.body.len, 0, NULL) : NULL;
    dk_resp_free(&rs);
    return ORCH_OK;
}

orch_status dk_put_path(struct orch_instance *in, struct orch_ctx *ctx, const char *path,
                        uint32_t mode, orch_read_fn rd, void *ud, dk_mkdir_fn mkdir_p,
                        struct orch_error *err)
{
    char *abs = dk_abs_path(in, path);
    if (!abs)
        return dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    char *slash = strrchr(abs, '/');
    const char *base = slash + 1;
    if (!*base) {
        dk_host->free(abs);
        return dk_host->error_set(err, ORCH_E_INVALID_ARG, "put_file: '%s' names no "
                                                           "file", path);
    }
    char *dir = slash == abs ? dk_host->strdup("/") : dk_printf("%.*s", (int)(slash - abs), abs);
    struct dk_upload u = {0};
    orch_status st = dir ? dk_spool(rd, ud, &u.f, &u.size, err)
                         : dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (st == ORCH_OK) {
        u.head_len = dk_tar_header(u.head, base, mode, u.size, '0',
                                   dk_host->now_real_ns() / 1000000000);
        u.tail_len = (DK_TAR_BLOCK - u.size % DK_TAR_BLOCK) % DK_TAR_BLOCK + 2 * DK_TAR_BLOCK;
        if (!u.head_len)
            st = dk_host->error_set(err, ORCH_E_INVALID_ARG, "put_file: file name "
                                                             "too long: %s", path);
    }
    long code = 0;
    json_t *ans = NULL;
    if (st == ORCH_OK)
        st = dk_put_once(in, ctx, dir, &u, &code, &ans, err);
    if (st == ORCH_OK && code == 404 && mkdir_p) {
        /* A missing parent, or a missing container: mkdir tells which. */
        json_decref(ans);
        ans = NULL;
        st = mkdir_p(in, ctx, dir, err);
        if (st == ORCH_OK)
            st = dk_put_once(in, ctx, dir, &u, &code, &ans, err);
    }
    if (st == ORCH_OK && code != 200)
        st = dk_engine_error(err, code, ans, "writing %s in %s", abs, in->name);
    json_decref(ans);
    if (u.f)
        fclose(u.f);
    dk_host->free(dir);
    dk_host->free(abs);
    return st;
}
