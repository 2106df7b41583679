/* Where a downloaded artifact's bytes go (standard output, or a temporary
 * file beside FILE renamed into place only once they checked out), and
 * the download over orchd's API checked against the answer's ETag: shared
 * by a run's artifacts (cmd_artifacts.c) and a shared namespace's
 * versions (cmd_artifact_ns.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include "cli.h"
#include "host.h"
#include "run_artifacts.h"
#include "util.h"

int cli_art_out_open(struct cli_art_out *o, const char *path)
{
    *o = (struct cli_art_out){.path = path, .f = stdout};
    if (!path)
        return 0;
    o->tmp = oc_xasprintf("%s.orch-XXXXXX", path);
    int fd = mkstemp(o->tmp);
    o->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (o->f)
        return 0;
    cli_err("runs artifact: cannot write beside %s: %s", path, strerror(errno));
    if (fd >= 0) {
        close(fd);
        unlink(o->tmp);
    }
    free(o->tmp);
    return -1;
}

orch_status cli_art_out_close(struct cli_art_out *o, orch_status rc,
                                     struct orch_error *err)
{
    int wrote = fflush(o->f) == 0 && !ferror(o->f);
    if (o->path)
        wrote = (fclose(o->f) == 0) && wrote;
    if (rc == ORCH_OK && !wrote)
        rc = oc_error_set(err, ORCH_E_IO, "writing %s: %s",
                          o->path ? o->path : "standard output", strerror(errno));
    if (rc == ORCH_OK && o->path && rename(o->tmp, o->path) != 0)
        rc = oc_error_set(err, ORCH_E_IO, "renaming to %s: %s", o->path, strerror(errno));
    if (o->tmp && rc != ORCH_OK)
        unlink(o->tmp);
    free(o->tmp);
    return rc;
}

int32_t cli_art_write(void *ud, const void *buf, uint64_t len)
{
    return fwrite(buf, 1, (size_t)len, ud) == len ? 0 : -1;
}

/* The same over orchd's API: the server checks the bytes against the
 * ledger before it answers; here they are checked again, against the
 * answer's ETag (the sha256), for what the way between may have done. */
int cli_remote_download(struct cli *c, const char *url, const char *path)
{
    struct cli_art_out o;
    if (cli_art_out_open(&o, path) != 0)
        return CLI_EXIT_FAILED;
    struct sha256_ctx sha;
    sha256_init(&sha);
    struct cli_http_res res;
    int rc = cli_http_download(c, url, o.f, &sha, &res);
    struct orch_error err;
    oc_error_init(&err);
    orch_status st = ORCH_OK;
    if (rc != 0 || res.status != 200) {
        st = ORCH_E_IO; /* printed below or by cli_http */
    } else {
        char hex[2 * SHA256_DIGEST_SIZE + 1], want[2 * SHA256_DIGEST_SIZE + 3];
        oc_artifact_sha256_hex(&sha, hex);
        snprintf(want, sizeof want, "\"%s\"", hex);
        if (strcmp(res.etag, want))
            st = oc_error_set(&err, ORCH_E_IO,
                              "the bytes received have sha256 %s; the server's ETag is %s",
                              hex, *res.etag ? res.etag : "missing");
    }
    st = cli_art_out_close(&o, st, &err);
    int exit_rc = CLI_EXIT_OK;
    if (rc != 0)
        exit_rc = CLI_EXIT_USAGE;
    else if (res.status != 200)
        exit_rc = cli_http_fail(c, &res);
    else if (st != ORCH_OK) {
        cli_err("runs artifact: %s", oc_error_text(&err));
        exit_rc = CLI_EXIT_FAILED;
    }
    oc_error_clear(&err);
    cli_http_res_free(&res);
    return exit_rc;
}

