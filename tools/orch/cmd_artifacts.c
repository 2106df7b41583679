/* orch runs artifacts RUN and orch runs artifact RUN NAME [--output FILE]: a
 * run's artifacts listed from its ledger and read back from the store its
 * config snapshot names (core/run_artifacts.c), checked by size and
 * sha256 on the way; with --server, from orchd's API, checked against the
 * answer's ETag. --output writes a temporary file beside FILE and renames
 * it only once the bytes checked out, so a bad copy never takes FILE's
 * name. */
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

/* The list as a table (or JSON with --json); takes list. */
static int cli_artifacts_print(struct cli *c, json_t *list, const char *run)
{
    if (c->json) {
        cli_print_json(list);
        return CLI_EXIT_OK;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e) {
        const char *sha = json_string_value(json_object_get(e, "sha256"));
        const char *step = json_string_value(json_object_get(e, "step"));
        printf("%-40s %10lld  %s  %s\n", json_string_value(json_object_get(e, "name")),
               (long long)json_integer_value(json_object_get(e, "size")), sha ? sha : "-",
               step ? step : "-");
    }
    if (!json_array_size(list))
        printf("run %s stored no artifacts\n", run);
    json_decref(list);
    return CLI_EXIT_OK;
}

static int cli_artifacts_list(struct cli *c, struct oc_store *st, const char *run)
{
    struct orch_error err;
    oc_error_init(&err);
    json_t *list = NULL;
    if (oc_run_artifacts_list(st, run, &list, &err) != ORCH_OK) {
        cli_err("runs artifacts: %s", oc_error_text(&err));
        int rc = err.code == ORCH_E_NOT_FOUND ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
        oc_error_clear(&err);
        return rc;
    }
    return cli_artifacts_print(c, list, run);
}

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

static int cli_artifact_get(struct oc_registry *reg, struct oc_store *st, const char *run,
                            const char *name, const char *path)
{
    struct cli_art_out o;
    if (cli_art_out_open(&o, path) != 0)
        return CLI_EXIT_FAILED;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = oc_run_artifact_read(reg, st, run, name, cli_art_write, o.f, &err);
    if (cli_art_out_close(&o, rc, &err) != ORCH_OK) {
        cli_err("runs artifact: %s", oc_error_text(&err));
        oc_error_clear(&err);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

/* RUN NAME [-o|--output FILE]: 0 with *path set (NULL for standard
 * output), or -1 after the usage line. */
static int cli_artifact_args(int argc, char **argv, const char **path)
{
    *path = NULL;
    /* args.c hands every spelling (-o, --output=FILE) over as --output FILE. */
    if (argc == 5 && !strcmp(argv[3], "--output")) {
        *path = argv[4];
        return 0;
    }
    if (argc == 3)
        return 0;
    cli_err("usage: orch runs artifact RUN_ID NAME [-o|--output FILE]");
    return -1;
}

int cli_runs_artifacts(struct cli *c, struct oc_registry *reg, struct oc_store *st,
                       const struct oc_config *cfg, int argc, char **argv)
{
    if (cli_artns_wanted(argc, argv))
        return cli_artns(c, reg, st, cfg, argc, argv);
    if (!strcmp(argv[0], "artifacts")) {
        if (argc != 2) {
            cli_err("usage: orch runs artifacts RUN_ID");
            return CLI_EXIT_USAGE;
        }
        return cli_artifacts_list(c, st, argv[1]);
    }
    const char *out;
    if (cli_artifact_args(argc, argv, &out) != 0)
        return CLI_EXIT_USAGE;
    return cli_artifact_get(reg, st, argv[1], argv[2], out);
}

/* The API path of run's artifacts, and of one when name is given: each
 * part of the name escaped, the slashes between them kept. malloc'd. */
static char *cli_artifact_path(const char *run, const char *name)
{
    struct oc_buf p = {0};
    char *seg = cli_seg(run);
    oc_buf_addf(&p, "/v1/runs/%s/artifacts", seg);
    free(seg);
    for (const char *s = name; s; s = strchr(s, '/') ? strchr(s, '/') + 1 : NULL) {
        char *part = oc_xstrndup(s, strcspn(s, "/"));
        seg = cli_seg(part);
        oc_buf_addf(&p, "/%s", seg);
        free(seg);
        free(part);
    }
    return oc_buf_steal(&p);
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

int cli_remote_artifacts(struct cli *c, int argc, char **argv)
{
    if (cli_artns_wanted(argc, argv))
        return cli_remote_artns(c, argc, argv);
    if (!strcmp(argv[0], "artifacts")) {
        if (argc != 2) {
            cli_err("usage: orch runs artifacts RUN_ID");
            return CLI_EXIT_USAGE;
        }
        char *url = cli_artifact_path(argv[1], NULL);
        json_t *out;
        int rc = cli_http_call(c, "GET", url, NULL, &out);
        free(url);
        if (rc != CLI_EXIT_OK)
            return rc;
        json_t *list = json_incref(json_object_get(out, "artifacts"));
        json_decref(out);
        if (!json_is_array(list)) {
            json_decref(list);
            cli_err("runs artifacts: the server's answer has no artifacts list");
            return CLI_EXIT_FAILED;
        }
        return cli_artifacts_print(c, list, argv[1]);
    }
    const char *out;
    if (cli_artifact_args(argc, argv, &out) != 0)
        return CLI_EXIT_USAGE;
    char *url = cli_artifact_path(argv[1], argv[2]);
    int rc = cli_remote_download(c, url, out);
    free(url);
    return rc;
}
