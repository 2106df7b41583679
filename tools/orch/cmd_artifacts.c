/* orch runs artifacts RUN and orch runs artifact RUN NAME [--output FILE]: a
 * run's artifacts listed from its ledger and read back from the store its
 * config snapshot names (core/run_artifacts.c), checked by size and
 * sha256 on the way. --output writes a temporary file beside FILE and renames it
 * only once the bytes checked out, so a bad copy never takes FILE's name. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "host.h"
#include "run_artifacts.h"

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
    if (c->json) {
        cli_print_json(list);
        return CLI_EXIT_OK;
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
        printf("%-40s %10lld  %s  %s\n", json_string_value(json_object_get(e, "name")),
               (long long)json_integer_value(json_object_get(e, "size")),
               json_string_value(json_object_get(e, "sha256")) ? json_string_value(
                                                                     json_object_get(e, "sha256"))
                                                               : "-",
               json_string_value(json_object_get(e, "step")) ? json_string_value(
                                                                   json_object_get(e, "step"))
                                                             : "-");
    if (!json_array_size(list))
        printf("run %s stored no artifacts\n", run);
    json_decref(list);
    return CLI_EXIT_OK;
}

static int32_t cli_art_write(void *ud, const void *buf, uint64_t len)
{
    return fwrite(buf, 1, (size_t)len, ud) == len ? 0 : -1;
}

static int cli_artifact_get(struct oc_registry *reg, struct oc_store *st, const char *run,
                            const char *name, const char *out)
{
    char *tmp = NULL;
    FILE *f = stdout;
    if (out) {
        tmp = oc_xasprintf("%s.orch-XXXXXX", out);
        int fd = mkstemp(tmp);
        f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!f) {
            cli_err("runs artifact: cannot write beside %s: %s", out, strerror(errno));
            if (fd >= 0)
                close(fd);
            free(tmp);
            return CLI_EXIT_FAILED;
        }
    }
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = oc_run_artifact_read(reg, st, run, name, cli_art_write, f, &err);
    int wrote = fflush(f) == 0 && !ferror(f);
    if (out)
        wrote = (fclose(f) == 0) && wrote;
    if (rc == ORCH_OK && !wrote)
        rc = oc_error_set(&err, ORCH_E_IO, "writing %s: %s", out ? out : "standard output",
                          strerror(errno));
    if (rc == ORCH_OK && out && rename(tmp, out) != 0)
        rc = oc_error_set(&err, ORCH_E_IO, "renaming to %s: %s", out, strerror(errno));
    if (tmp && rc != ORCH_OK)
        unlink(tmp);
    free(tmp);
    if (rc != ORCH_OK) {
        cli_err("runs artifact: %s", oc_error_text(&err));
        oc_error_clear(&err);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

int cli_runs_artifacts(struct cli *c, struct oc_registry *reg, struct oc_store *st, int argc,
                       char **argv)
{
    if (!strcmp(argv[0], "artifacts")) {
        if (argc != 2) {
            cli_err("usage: orch runs artifacts RUN_ID");
            return CLI_EXIT_USAGE;
        }
        return cli_artifacts_list(c, st, argv[1]);
    }
    const char *out = NULL;
    if (argc == 5 && !strcmp(argv[3], "--output"))
        out = argv[4];
    else if (argc != 3) {
        cli_err("usage: orch runs artifact RUN_ID NAME [--output FILE]");
        return CLI_EXIT_USAGE;
    }
    return cli_artifact_get(reg, st, argv[1], argv[2], out);
}
