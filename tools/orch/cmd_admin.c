/* orch admin: the operator's commands.
 *   --server URL admin reload   have the daemon re-read its config file
 *       (POST /v1/admin/reload, an admin token); prints what it now runs,
 *       or every error of the file (the daemon keeps its running config);
 *       exit 1 when refused.
 *   [-c FILE] admin backup FILE|-   the whole store, logical (core/backup.h):
 *       written to FILE.tmp, flushed, then renamed, mode 0600.
 *   [-c FILE] admin restore FILE|-  into an empty store, in one
 *       transaction. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backup.h"
#include "cli.h"
#include "flags.h"
#include "host.h"
#include "util.h"

static const char cli_admin_usage[] =
    "usage: orch --server URL admin reload\n"
    "       orch [-c FILE] admin backup FILE|-\n"
    "       orch [-c FILE] admin restore FILE|-\n";

static int32_t cli_paused_cb(void *ud, const char *name, const char *value)
{
    if (!strcmp(name, OC_FLAG_PAUSED) && value && !strcmp(value, "1"))
        *(int *)ud = 1;
    return 0;
}

static int32_t cli_any_run_cb(void *ud, const struct orch_run_rec *r)
{
    (void)r;
    *(int *)ud = 1;
    return 1;
}

static void cli_backup_said(struct cli *c, const char *verb, const char *path,
                            const struct oc_backup_counts *n)
{
    if (c->json)
        cli_print_json(json_pack("{s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", verb, path, "runs",
                                 (json_int_t)n->runs, "attempts", (json_int_t)n->attempts,
                                 "log_chunks", (json_int_t)n->log_chunks, "events",
                                 (json_int_t)n->events, "instances", (json_int_t)n->instances,
                                 "flags", (json_int_t)n->flags, "blobs", (json_int_t)n->blobs));
    else
        fprintf(strcmp(path, "-") ? stdout : stderr,
                "%s %s: %llu runs, %llu attempts, %llu log chunks, %llu events, %llu "
                "instances, %llu flags, %llu artifacts\n",
                verb, path, (unsigned long long)n->runs, (unsigned long long)n->attempts,
                (unsigned long long)n->log_chunks, (unsigned long long)n->events,
                (unsigned long long)n->instances, (unsigned long long)n->flags,
                (unsigned long long)n->blobs);
}

static int cli_backup(struct cli *c, struct oc_store *st, const char *path)
{
    /* Runs being driven now change under the reads, unless the daemons
     * were paused first (the runs they drive still finish their steps). */
    int paused = 0, running = 0;
    struct orch_error err;
    oc_error_init(&err);
    struct orch_run_filter f = {.struct_size = sizeof f, .state = ORCH_RUN_RUNNING, .limit = 1};
    st->vt->run_list(st->h, &f, cli_any_run_cb, &running, &err);
    oc_error_clear(&err);
    st->vt->flag_list(st->h, cli_paused_cb, &paused, &err);
    oc_error_clear(&err);
    if (running && !paused)
        fprintf(stderr, "note: the daemons are not paused: runs that change while the backup "
                        "reads may be caught between two states (orch control pause first "
                        "for a backup of a live store)\n");
    int to_stdout = !strcmp(path, "-");
    char *tmp = to_stdout ? NULL : oc_xasprintf("%s.tmp.%d", path, (int)getpid());
    int fd = to_stdout ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    FILE *out = to_stdout ? stdout : fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!out) {
        cli_err("%s: %s", tmp ? tmp : path, strerror(errno));
        if (fd >= 0)
            close(fd);
        free(tmp);
        return CLI_EXIT_USAGE;
    }
    struct oc_backup_counts n;
    orch_status rc = oc_backup_write(st, out, &n, &err);
    if (!to_stdout) {
        if (rc == ORCH_OK && (fflush(out) != 0 || fsync(fileno(out)) != 0))
            rc = oc_error_set(&err, ORCH_E_IO, "%s: %s", tmp, strerror(errno));
        if (fclose(out) != 0 && rc == ORCH_OK)
            rc = oc_error_set(&err, ORCH_E_IO, "%s: %s", tmp, strerror(errno));
        if (rc == ORCH_OK && rename(tmp, path) != 0)
            rc = oc_error_set(&err, ORCH_E_IO, "%s: %s", path, strerror(errno));
        if (rc != ORCH_OK)
            unlink(tmp);
        free(tmp);
    }
    if (rc != ORCH_OK) {
        cli_err("backup: %s", oc_error_text(&err));
        oc_error_clear(&err);
        return CLI_EXIT_FAILED;
    }
    cli_backup_said(c, "backed up to", path, &n);
    return CLI_EXIT_OK;
}

static int cli_restore(struct cli *c, struct oc_store *st, const char *path)
{
    FILE *in = !strcmp(path, "-") ? stdin : fopen(path, "re");
    if (!in) {
        cli_err("%s: %s", path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    struct oc_backup_counts n;
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = oc_backup_read(st, in, &n, &err);
    if (in != stdin)
        fclose(in);
    if (rc != ORCH_OK) {
        cli_err("restore %s: %s; the store is unchanged", path, oc_error_text(&err));
        oc_error_clear(&err);
        return rc == ORCH_E_CONFLICT ? CLI_EXIT_FAILED : CLI_EXIT_USAGE;
    }
    cli_backup_said(c, "restored from", path, &n);
    return CLI_EXIT_OK;
}

/* backup and restore work on the store itself (-c FILE, or the embedded
 * default), never through a daemon. */
static int cli_admin_store(struct cli *c, const char *sub, const char *path)
{
    if (c->server) {
        cli_err("admin %s works on the store (-c FILE), not through --server", sub);
        return CLI_EXIT_USAGE;
    }
    struct oc_registry *reg = cli_registry(NULL);
    int failed, rc = CLI_EXIT_USAGE;
    struct oc_config *cfg = cli_global_config(c, reg, &failed);
    struct oc_store *st = failed ? NULL : cli_open_store(c, reg, cfg);
    if (st)
        rc = !strcmp(sub, "backup") ? cli_backup(c, st, path) : cli_restore(c, st, path);
    oc_store_close(st);
    oc_config_free(cfg);
    oc_registry_free(reg);
    return rc;
}

static int cli_admin_reload(struct cli *c)
{
    struct cli_http_res res = {0};
    if (cli_http(c, "POST", "/v1/admin/reload", NULL, &res) != 0)
        return CLI_EXIT_USAGE;
    int rc;
    json_t *j = res.json;
    if (res.status == 200 || res.status == 422) {
        int ok = res.status == 200;
        if (c->json) {
            cli_print_json(json_incref(j));
        } else if (ok) {
            printf("reloaded: generation %lld, %lld workflows, %lld schedules, %lld webhooks, "
                   "%lld notifications, %lld tokens\n",
                   (long long)json_integer_value(json_object_get(j, "generation")),
                   (long long)json_integer_value(json_object_get(j, "workflows")),
                   (long long)json_integer_value(json_object_get(j, "schedules")),
                   (long long)json_integer_value(json_object_get(j, "webhooks")),
                   (long long)json_integer_value(json_object_get(j, "notifications")),
                   (long long)json_integer_value(json_object_get(j, "tokens")));
        } else {
            size_t i;
            json_t *e;
            json_array_foreach(json_object_get(j, "errors"), i, e)
                fprintf(stderr, "%s\n", json_string_value(e));
            cli_err("reload refused: the daemon keeps its running config (generation %lld)",
                    (long long)json_integer_value(json_object_get(j, "generation")));
        }
        rc = ok ? CLI_EXIT_OK : CLI_EXIT_FAILED;
    } else {
        rc = cli_http_fail(c, &res);
    }
    cli_http_res_free(&res);
    return rc;
}

int cmd_admin(struct cli *c, int argc, char **argv)
{
    if (argc == 1 && !strcmp(argv[0], "reload") && c->server)
        return cli_admin_reload(c);
    if (argc == 2 && (!strcmp(argv[0], "backup") || !strcmp(argv[0], "restore")))
        return cli_admin_store(c, argv[0], argv[1]);
    if (cli_wants_help(argc, argv)) {
        fputs(cli_admin_usage, stdout);
        return CLI_EXIT_OK;
    }
    if (argc == 1 && !strcmp(argv[0], "reload") && !c->server)
        cli_err("admin reload talks to a daemon: give --server URL (or set $ORCH_SERVER); a "
                "daemon without an API reloads on SIGHUP");
    fputs(cli_admin_usage, stderr);
    return CLI_EXIT_USAGE;
}
