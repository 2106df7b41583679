/* reap_commands: end the commands that exec calls whose callers died left
 * running on a machine (the exec API goes on with a command when its
 * client goes away). Each command's scratch dir names its caller
 * (FL_XDIR_PREFIX OWNER-HEX); a dir whose owner still lives belongs to an
 * exec call under way and is left alone. For the others, one exec runs
 * the kit's reap script (orch/kit_reap.h: TERM, kill_grace, KILL,
 * confirmed gone) over their records and tokens, then removes the dirs
 * (and any variables file a command that never started left in one). */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "fly-machines.h"
#include <orch/kit_reap.h>

#define FL_REAP_MAX 64
/* Generous: a process in uninterruptible sleep takes a while to die. */
#define FL_REAP_DEADLINE_MS 30000

/* The dir names (without FL_XDIR_PREFIX) of dead owners, one a line in
 * listing; at most FL_REAP_MAX, host memory. */
static size_t fl_dead_dirs(char *listing, char **names)
{
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r(listing, "\n", &save); line && n < FL_REAP_MAX;
         line = strtok_r(NULL, "\n", &save)) {
        size_t len = strlen(line);
        if (!pk_plain_word(line, len) || strchr(line, '/'))
            continue;
        /* An older orch's dir has no owner: nobody can still wait for it. */
        const char *dash = strrchr(line, '-');
        if (dash && pk_owner_alive(line, (size_t)(dash - line)))
            continue;
        names[n] = fl_host->strdup(line);
        if (names[n])
            n++;
    }
    return n;
}

static char *fl_reap_script(struct orch_instance *in, char **names, size_t n)
{
    const char *tokens[FL_REAP_MAX], *records[FL_REAP_MAX];
    char *dirs[FL_REAP_MAX] = {0}, *recs[FL_REAP_MAX] = {0};
    struct pk_buf rm = {.h = fl_host};
    pk_add(&rm, "\nrm -rf --");
    for (size_t i = 0; i < n; i++) {
        /* The token is the dir's own name, as fl_script exports it. */
        dirs[i] = fl_printf(FL_XDIR_PREFIX "%s", names[i]);
        recs[i] = dirs[i] ? fl_printf("%s/rec", dirs[i]) : NULL;
        tokens[i] = dirs[i] ? strrchr(dirs[i], '/') + 1 : "";
        records[i] = recs[i] ? recs[i] : "";
        pk_add(&rm, " ");
        pk_add(&rm, dirs[i]);
    }
    pk_add(&rm, "\necho reaped\n");
    char *tail = pk_buf_take(&rm);
    char *kill = pk_reap_script(fl_host, tokens, records, n, in->be->cfg->kill_grace_ms,
                                FL_REAP_DEADLINE_MS);
    char *script = kill && tail ? fl_printf("%s%s", kill, tail) : NULL;
    for (size_t i = 0; i < n; i++) {
        fl_host->free(recs[i]);
        fl_host->free(dirs[i]);
    }
    fl_host->free(kill);
    fl_host->free(tail);
    return script;
}

orch_status fl_reap(struct orch_instance *in, struct orch_ctx *ctx, struct orch_error *err)
{
    /* A machine that is not started runs nothing (and exec would be 412). */
    struct orch_instance_status is = {.struct_size = sizeof is};
    orch_status rc = fl_status(in, ctx, &is, err);
    fl_host->free(is.detail);
    if (rc != ORCH_OK || is.state != ORCH_INST_RUNNING)
        return rc;
    char *listing = NULL;
    int st = 0;
    rc = fl_sh_idem(in, ctx,
                    "for d in " FL_XDIR_PREFIX "*; do [ -d \"$d\" ] && echo "
                    "\"${d#" FL_XDIR_PREFIX "}\"; done; true",
                    60, &listing, &st, err);
    if (rc == ORCH_OK && st != 0)
        rc = fl_host->error_set(err, ORCH_E_FAILED,
                                "listing the command records on machine %s failed (exit "
                                "%d)",
                                in->id, st);
    char *names[FL_REAP_MAX];
    size_t n = rc == ORCH_OK && listing ? fl_dead_dirs(listing, names) : 0;
    fl_host->free(listing);
    if (rc != ORCH_OK || n == 0)
        return rc;
    char *script = fl_reap_script(in, names, n);
    char *out = NULL;
    int64_t limit_s = (in->be->cfg->kill_grace_ms + FL_REAP_DEADLINE_MS) / 1000 + 30;
    /* Killing twice is harmless: a 5xx may be retried. */
    rc = script ? fl_sh_idem(in, ctx, script, limit_s, &out, &st, err)
                : fl_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (rc == ORCH_OK && st != 0)
        rc = fl_host->error_set(err, ORCH_E_FAILED,
                                "the commands interrupted execs left on machine %s could "
                                "not be ended (exit %d): %.200s",
                                in->id, st, out ? out : "");
    else if (rc == ORCH_OK)
        fl_host->log(ctx, ORCH_LOG_INFO,
                     "fly: ended the commands of %zu interrupted exec(s) on machine %s", n,
                     in->id);
    fl_host->free(out);
    fl_host->free(script);
    for (size_t i = 0; i < n; i++)
        fl_host->free(names[i]);
    return rc;
}
