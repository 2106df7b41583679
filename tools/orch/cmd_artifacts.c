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
