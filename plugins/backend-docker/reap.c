/* reap_commands: end the commands that execs whose callers died left in a
 * container. Two ways to find them: the engine's running execs (GET
 * /containers/{id}/json ExecIDs, then GET /exec/{id}/json: Running and the
 * wrapper's arguments, which name the record), and the records themselves
 * (DK_REC_DIR), which outlive an exec whose wrapper was killed while its
 * command's group lives on. A record whose owner (the process that called
 * exec) still lives belongs to an exec call still under way: left alone.
 * The rest are killed from inside the container (the kit's reap script,
 * orch/kit_reap.h: TERM, kill_grace, KILL, confirmed gone) and then each
 * exec is polled until the engine, too, says it no longer runs. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "docker.h"
#include <orch/kit.h>
#include <orch/kit_reap.h>

#define DK_REAP_MAX 64
/* Generous: a process in uninterruptible sleep takes a while to die. */
#define DK_REAP_DEADLINE_MS 30000

struct dk_leftovers {
    size_t n;
    char *name[DK_REAP_MAX];     /* OWNER.TOKEN, the record's file name */
    char *exec_id[DK_REAP_MAX];  /* the engine's exec, NULL when only the record is known */
};

static void dk_leftovers_free(struct dk_leftovers *l)
{
    for (size_t i = 0; i < l->n; i++) {
        dk_host->free(l->name[i]);
        dk_host->free(l->exec_id[i]);
    }
    l->n = 0;
}

/* A record name of a dead owner goes on the list (once). */
static void dk_leftover_add(struct dk_leftovers *l, const char *name, size_t len,
                            const char *exec_id)
{
    const char *dot = memrchr(name, '.', len);
    if (!dot || dot == name || !pk_plain_word(name, len) || memchr(name, '/', len))
        return;
    if (pk_owner_alive(name, (size_t)(dot - name)))
        return;
    for (size_t i = 0; i < l->n; i++) {
        if (strlen(l->name[i]) == len && !memcmp(l->name[i], name, len)) {
            if (exec_id && !l->exec_id[i])
                l->exec_id[i] = dk_host->strdup(exec_id);
            return;
        }
    }
    if (l->n == DK_REAP_MAX)
        return;
    l->name[l->n] = dk_printf("%.*s", (int)len, name);
    l->exec_id[l->n] = exec_id ? dk_host->strdup(exec_id) : NULL;
    l->n++;
}

/* The running exec's record name, from the wrapper's arguments
 * ["-c", WRAP, "sh", RECORD, ...]; NULL when it is not one of ours. */
static const char *dk_exec_record(json_t *exec)
{
    json_t *args = json_object_get(json_object_get(exec, "ProcessConfig"), "arguments");
    const char *rec = json_string_value(json_array_get(args, 3));
    const char *pre = DK_REC_DIR "/";
    if (!rec || strncmp(rec, pre, strlen(pre)))
        return NULL;
    return rec + strlen(pre);
}

/* 1 running, 0 not (or gone), -1 unknown (err set). */
static int dk_exec_running(struct orch_instance *in, struct orch_ctx *ctx, const char *id,
                           json_t **out, struct orch_error *err)
{
    long code = 0;
    json_t *ans = NULL;
    if (dk_get_named(in->be, ctx, "/exec/%s/json", id, &code, &ans, err) != ORCH_OK)
        return -1;
    int r = code == 404 ? 0 : code == 200 ? json_is_true(json_object_get(ans, "Running")) : -1;
    if (r < 0)
        dk_engine_error(err, code, ans, "inspecting exec %s in %s", id, in->name);
    if (out && r == 1)
        *out = ans;
    else
        json_decref(ans);
    return r;
}

/* The engine's view: running execs of ours. A container that is not
 * running has no commands: *stopped is set and nothing is listed. */
static orch_status dk_reap_from_engine(struct orch_instance *in, struct orch_ctx *ctx,
                                       struct dk_leftovers *l, int *stopped,
                                       struct orch_error *err)
{
    long code = 0;
    json_t *c = NULL;
    orch_status st = dk_get_named(in->be, ctx, "/containers/%s/json", in->id, &code, &c, err);
    if (st != ORCH_OK)
        return st;
    if (code != 200 && code != 404) {
        st = dk_engine_error(err, code, c, "inspecting container %s", in->name);
        json_decref(c);
        return st;
    }
    *stopped = code == 404 || !json_is_true(json_object_get(json_object_get(c, "State"),
                                                            "Running"));
    size_t i;
    json_t *id;
    json_array_foreach(*stopped ? NULL : json_object_get(c, "ExecIDs"), i, id) {
        json_t *exec = NULL;
        const char *eid = json_string_value(id);
        int r = eid ? dk_exec_running(in, ctx, eid, &exec, err) : 0;
        if (r < 0) {
            st = err->code;
            break;
        }
        const char *rec = r ? dk_exec_record(exec) : NULL;
        if (rec)
            dk_leftover_add(l, rec, strlen(rec), eid);
        json_decref(exec);
    }
    json_decref(c);
    return st;
}

/* The container's view: the records in DK_REC_DIR. */
static orch_status dk_reap_from_records(struct orch_instance *in, struct orch_ctx *ctx,
                                        struct dk_leftovers *l, struct orch_error *err)
{
    int code = -1;
    struct pk_buf out = {.h = dk_host};
    orch_status st = dk_sh(in, ctx, 0,
                           "cd " DK_REC_DIR " 2>/dev/null || exit 0; for f in *; do [ -f \"$f\" ] "
                           "&& echo \"$f\"; done; true",
                           &code, &out, err);
    if (st == ORCH_OK && code != 0)
        st = dk_host->error_set(err, ORCH_E_FAILED,
                                "listing the command records in %s failed (exit %d)",
                                in->name, code);
    for (const char *p = out.p, *e; st == ORCH_OK && p && *p; p = e + (*e != 0)) {
        e = strchr(p, '\n');
        if (!e)
            e = p + strlen(p);
        if (e > p)
            dk_leftover_add(l, p, (size_t)(e - p), NULL);
    }
    pk_buf_free(&out);
    return st;
}

static orch_status dk_reap_kill(struct orch_instance *in, struct orch_ctx *ctx,
                                struct dk_leftovers *l, struct orch_error *err)
{
    const char *tokens[DK_REAP_MAX], *records[DK_REAP_MAX];
    char *paths[DK_REAP_MAX] = {0};
    struct pk_buf rm = {.h = dk_host};
    pk_add(&rm, "\nrm -f --");
    for (size_t i = 0; i < l->n; i++) {
        tokens[i] = strrchr(l->name[i], '.') + 1;
        paths[i] = dk_printf(DK_REC_DIR "/%s", l->name[i]);
        records[i] = paths[i] ? paths[i] : "";
        pk_add(&rm, " ");
        pk_add(&rm, paths[i]);
    }
    pk_add(&rm, "\n");
    char *tail = pk_buf_take(&rm);
    char *kill = pk_reap_script(dk_host, tokens, records, l->n, in->be->cfg->kill_grace_ms,
                                DK_REAP_DEADLINE_MS);
    char *script = kill && tail ? dk_printf("%s%s", kill, tail) : NULL;
    orch_status st = ORCH_OK;
    int code = -1;
    struct pk_buf out = {.h = dk_host};
    if (!script)
        st = dk_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    else
        st = dk_sh_for(in, ctx, script,
                       in->be->cfg->kill_grace_ms + DK_REAP_DEADLINE_MS +
                           in->be->cfg->api_timeout_ms,
                       &code, &out, err);
    if (st == ORCH_OK && code != 0)
        st = dk_host->error_set(err, ORCH_E_FAILED,
                                "the commands an interrupted exec left in container %s "
                                "could not be ended (exit %d): %.*s",
                                in->name, code, (int)(out.len > 200 ? 200 : out.len),
                                out.p ? out.p : "");
    pk_buf_free(&out);
    dk_host->free(script);
    dk_host->free(kill);
    dk_host->free(tail);
    for (size_t i = 0; i < l->n; i++)
        dk_host->free(paths[i]);
    return st;
}

/* The engine marks an exec ended a moment after its process went. */
static orch_status dk_reap_confirm(struct orch_instance *in, struct orch_ctx *ctx,
                                   struct dk_leftovers *l, struct orch_error *err)
{
    int64_t until = dk_host->now_mono_ns() + (int64_t)DK_REAP_DEADLINE_MS * 1000000;
    for (size_t i = 0; i < l->n; i++) {
        while (l->exec_id[i]) {
            int r = dk_exec_running(in, ctx, l->exec_id[i], NULL, err);
            if (r < 0)
                return err->code;
            if (r == 0)
                break;
            if (dk_host->now_mono_ns() > until)
                return dk_host->error_set(err, ORCH_E_FAILED,
                                          "exec %s in container %s still runs after its "
                                          "processes were killed",
                                          l->exec_id[i], in->name);
            struct timespec ts = {0, 100 * 1000000};
            nanosleep(&ts, NULL);
        }
    }
    return ORCH_OK;
}

orch_status dk_reap(struct orch_instance *in, struct orch_ctx *ctx, struct orch_error *err)
{
    struct dk_leftovers l = {0};
    int stopped = 0;
    orch_status st = dk_reap_from_engine(in, ctx, &l, &stopped, err);
    if (st == ORCH_OK && stopped) {
        /* A stopped (or removed) container runs nothing; its records are
         * stale and go with the next reap of a running one. */
        dk_leftovers_free(&l);
        return ORCH_OK;
    }
    if (st == ORCH_OK)
        st = dk_reap_from_records(in, ctx, &l, err);
    if (st == ORCH_OK && l.n) {
        st = dk_reap_kill(in, ctx, &l, err);
        if (st == ORCH_OK)
            st = dk_reap_confirm(in, ctx, &l, err);
        if (st == ORCH_OK)
            dk_host->log(ctx, ORCH_LOG_INFO,
                         "docker: ended %zu command(s) that interrupted execs left in %s", l.n,
                         in->name);
    }
    dk_leftovers_free(&l);
    return st;
}
