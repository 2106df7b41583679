/* store-s3: artifacts and other blobs on S3 or an S3-compatible service
 * (`artifacts: {uses: s3}` beside a sqlite or postgres `store:`). Layout:
 * PREFIX/runs/<run id>/artifacts/<name>, so a run's artifacts outlive the
 * machine that made them. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3.h"

const struct orch_host *s3_host;

static const struct orch_option s3_options[] = {
    ORCH_OPTION(struct s3_cfg, endpoint, "endpoint", ORCH_OPT_URL, 0, NULL,
                "service URL (default https://s3.REGION.amazonaws.com)"),
    ORCH_OPTION(struct s3_cfg, region, "region", ORCH_OPT_STRING, 0, "us-east-1",
                "signing region"),
    ORCH_OPTION(struct s3_cfg, bucket, "bucket", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED, NULL,
                "the bucket (it must exist)"),
    ORCH_OPTION(struct s3_cfg, prefix, "prefix", ORCH_OPT_STRING, 0, "",
                "key prefix inside the bucket"),
    ORCH_OPTION(struct s3_cfg, path_style, "path_style", ORCH_OPT_BOOL, 0, "false",
                "ENDPOINT/BUCKET/KEY instead of BUCKET.HOST/KEY (MinIO, s3rver, ...)"),
    ORCH_OPTION(struct s3_cfg, access_key, "access_key", ORCH_OPT_STRING, ORCH_OPTF_SECRET,
                NULL, "access key id: ${{ secrets.NAME }} (none: unsigned requests)"),
    ORCH_OPTION(struct s3_cfg, secret_key, "secret_key", ORCH_OPT_STRING, ORCH_OPTF_SECRET,
                NULL, "secret access key: ${{ secrets.NAME }}"),
    ORCH_OPTION(struct s3_cfg, session_token, "session_token", ORCH_OPT_STRING,
                ORCH_OPTF_SECRET, NULL, "temporary credentials' session token"),
    ORCH_OPTION(struct s3_cfg, multipart_threshold, "multipart_threshold", ORCH_OPT_SIZE, 0,
                "8M", "blobs larger than this are uploaded in parts"),
    ORCH_OPTION(struct s3_cfg, part_size, "part_size", ORCH_OPT_SIZE, 0, "8M",
                "size of each part (at least 5M, S3's minimum)"),
    ORCH_OPTION(struct s3_cfg, retries, "retries", ORCH_OPT_INT, 0, "4",
                "tries again after 5xx, SlowDown, timeouts and network errors"),
    ORCH_OPTION(struct s3_cfg, timeout_ms, "timeout", ORCH_OPT_DURATION, 0, "5m",
                "for each request"),
};

static char *s3_dup(const char *s)
{
    return s3_host->strdup(s ? s : "");
}

static void s3_close(struct orch_store *st)
{
    if (!st)
        return;
    pk_http_cleanup(&st->http);
    if (st->userpwd) {
        memset(st->userpwd, 0, strlen(st->userpwd)); /* no key in freed memory */
        s3_host->free(st->userpwd);
    }
    if (st->token_hdr) {
        memset(st->token_hdr, 0, strlen(st->token_hdr));
        s3_host->free(st->token_hdr);
    }
    s3_host->free(st->endpoint);
    s3_host->free(st->region);
    s3_host->free(st->bucket);
    s3_host->free(st->prefix);
    s3_host->free(st);
}

static orch_status s3_open(struct orch_ctx *ctx, const void *cfgp, struct orch_store **out,
                           struct orch_error *err)
{
    const struct s3_cfg *c = cfgp;
    (void)ctx;
    if (c->part_size < 5 * 1024 * 1024)
        return s3_host->error_set(err, ORCH_E_CONFIG,
                                  "part_size must be at least 5M (S3's minimum)");
    if (!c->access_key != !c->secret_key)
        return s3_host->error_set(err, ORCH_E_CONFIG,
                                  "give both access_key and secret_key, or neither");
    struct orch_store *st = s3_host->calloc(1, sizeof *st);
    if (!st)
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    char def[128];
    snprintf(def, sizeof def, "https://s3.%s.amazonaws.com", c->region);
    st->endpoint = s3_dup(c->endpoint && *c->endpoint ? c->endpoint : def);
    size_t el = st->endpoint ? strlen(st->endpoint) : 0;
    while (el && st->endpoint[el - 1] == '/')
        st->endpoint[--el] = 0;
    st->region = s3_dup(c->region);
    st->bucket = s3_dup(c->bucket);
    /* "a/b" or "/a/b/" -> "a/b/"; "" stays "". */
    const char *p = c->prefix ? c->prefix : "";
    while (*p == '/')
        p++;
    size_t pl = strlen(p);
    while (pl && p[pl - 1] == '/')
        pl--;
    st->prefix = s3_host->alloc(pl + 2);
    if (st->prefix)
        snprintf(st->prefix, pl + 2, "%.*s%s", (int)pl, p, pl ? "/" : "");
    st->path_style = c->path_style;
    st->part_size = (uint64_t)c->part_size;
    st->threshold = c->multipart_threshold > 0 && (uint64_t)c->multipart_threshold < st->part_size
                        ? (uint64_t)c->multipart_threshold
                        : st->part_size;
    st->retries = c->retries < 0 ? 0 : (int)c->retries;
    st->timeout_ms = (long)c->timeout_ms;
    snprintf(st->sigv4, sizeof st->sigv4, "aws:amz:%s:s3", c->region);
    if (c->access_key) {
        size_t n = strlen(c->access_key) + strlen(c->secret_key) + 2;
        st->userpwd = s3_host->alloc(n);
        if (st->userpwd)
            snprintf(st->userpwd, n, "%s:%s", c->access_key, c->secret_key);
    }
    if (c->session_token) {
        size_t n = strlen(c->session_token) + 32;
        st->token_hdr = s3_host->alloc(n);
        if (st->token_hdr)
            snprintf(st->token_hdr, n, "x-amz-security-token: %s", c->session_token);
    }
    int http_failed = pk_http_init(&st->http, s3_host);
    if (http_failed || !st->endpoint || !st->bucket || !st->prefix ||
        (c->access_key && !st->userpwd) || (c->session_token && !st->token_hdr)) {
        s3_close(st);
        return s3_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    }
    *out = st;
    return ORCH_OK;
}

static const struct orch_store_vtable s3_vtable = {
    .struct_size = sizeof(struct orch_store_vtable),
    .open = s3_open,
    .close = s3_close,
    .blob_put = s3_blob_put,
    .blob_get = s3_blob_get,
    .blob_delete = s3_blob_delete,
    .blob_list = s3_blob_list,
};

static const struct orch_plugin_desc s3_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STORE,
    .name = "s3",
    .version = "1.0.0",
    .description = "blobs (artifacts) on S3 or an S3-compatible service; SigV4 by libcurl, "
                   "multipart uploads, checksums checked both ways",
    .license = "MIT",
    .caps = ORCH_STORE_CAP_BLOBS,
    .options = s3_options,
    .option_count = sizeof s3_options / sizeof s3_options[0],
    .config_size = sizeof(struct s3_cfg),
    .vtable_size = sizeof(struct orch_store_vtable),
    .vtable = &s3_vtable,
};

ORCH_PLUGIN_DEFINE(store, s3, s3_desc, s3_host)
