/* Moving bytes: any location into a spool (a temporary file, hashed on the
 * way), and a spool into any location. The spool joins the push-style
 * readers (get_file, artifact_get) to the pull-style writers (put_file,
 * artifact_put). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/base16.h>

#include "file.h"

void sf_sha256_hex(struct sha256_ctx *s, char out[65])
{
    uint8_t digest[SHA256_DIGEST_SIZE];
    sha256_digest(s, sizeof digest, digest);
    base16_encode_update(out, sizeof digest, digest);
    out[BASE16_ENCODE_LENGTH(SHA256_DIGEST_SIZE)] = 0;
}

orch_status sf_spool_open(struct sf_spool *s, uint64_t limit, struct orch_error *err)
{
    memset(s, 0, sizeof *s);
    s->limit = limit;
    sha256_init(&s->sha);
    s->f = tmpfile();
    if (!s->f)
        return sf_host->error_set(err, ORCH_E_IO, "no temporary file: %s",
                                  strerror(errno));
    return ORCH_OK;
}

void sf_spool_close(struct sf_spool *s)
{
    if (s->f)
        fclose(s->f);
    s->f = NULL;
}

static int32_t sf_spool_write(void *ud, const void *buf, uint64_t len)
{
    struct sf_spool *s = ud;
    if (s->limit && s->size + len > s->limit) {
        s->over = 1;
        return 1;
    }
    if (fwrite(buf, 1, (size_t)len, s->f) != (size_t)len)
        return 1;
    sha256_update(&s->sha, (size_t)len, buf);
    s->size += len;
    return 0;
}

orch_status sf_fetch(struct orch_ctx *ctx, const struct sf_loc *from, struct sf_spool *s,
                     struct orch_error *err)
{
    orch_status st;
    if (from->where == SF_HOST)
        st = sf_fetch_host(ctx, from, sf_spool_write, s, err);
    else if (from->where == SF_ARTIFACT)
        st = sf_host->artifact_get(ctx, from->path, sf_spool_write, s, err);
    else
        st = sf_host->inst_get_file(ctx, from->path, sf_spool_write, s, err);
    if (s->over)
        return sf_host->error_set(err, ORCH_E_FAILED,
                                  "%s %s is larger than max_size (%llu bytes)",
                                  sf_loc_kind(from), from->path,
                                  (unsigned long long)s->limit);
    if (st == ORCH_OK) {
        sf_sha256_hex(&s->sha, s->hex);
        fflush(s->f);
    }
    return st;
}

static int64_t sf_spool_read(void *ud, void *buf, uint64_t len)
{
    struct sf_spool *s = ud;
    size_t n = fread(buf, 1, (size_t)len, s->f);
    return n == 0 && ferror(s->f) ? -1 : (int64_t)n;
}

orch_status sf_store(struct orch_ctx *ctx, const struct sf_loc *to, uint32_t mode,
                     struct sf_spool *s, struct orch_error *err)
{
    rewind(s->f);
    if (to->where == SF_HOST)
        return sf_store_host(ctx, to, mode, sf_spool_read, s, err);
    if (to->where == SF_ARTIFACT)
        return sf_host->artifact_put(ctx, to->path, sf_spool_read, s, err);
    return sf_host->inst_put_file(ctx, to->path, mode, sf_spool_read, s, err);
}
