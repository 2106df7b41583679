#define _GNU_SOURCE
/* orch run / orch resume: drive one run to its end in this process. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "engine.h"
#include "host.h"
#include "inputs.h"
#include "orchd_cfg.h" /* worker.lease_ttl: the lease this run is held by */
#include "run_outputs.h"
#include "util.h"

static volatile sig_atomic_t cli_cancel;
static volatile sig_atomic_t cli_signal; /* the one that cancelled */

/* The first SIGINT/SIGTERM cancels gracefully (steps are stopped, instances
 * torn down, state recorded) and orch then exits 128 + the signal, as a
 * shell expects of a command it interrupted; a second one kills orch at
 * once and leaves the run for `orch resume`. */
static void cli_on_signal(int sig)
{
    if (cli_cancel) {
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    cli_signal = sig;
    cli_cancel = 1;
}

static void cli_trap_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = cli_on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int cli_usage_run(FILE *f, int rc)
{
    fputs("usage: orch run FILE WORKFLOW [options]\n"
          "  --input K=V            a workflow input (repeatable)\n"
          "  --idempotency-key K    a second run with the same key and inputs runs\n"
          "                         nothing and exits as the first did; other\n"
          "                         inputs with the key are refused (exit 2)\n"
          "  --dry-run              show what each step would do; change nothing\n"
          "  --concurrency N        executor processes (default: the config's)\n",
          f);
    return rc;
}

struct cli_drive {
    struct oc_registry *reg;
    struct oc_config *cfg;
    struct oc_store *store;
    struct oc_engine *eng;
    struct cli_progress *prog;
};

static int cli_drive_open(struct cli *c, struct cli_drive *d, uint32_t conc,
                          int dry_run)
{
    d->store = cli_open_store(c, d->reg, d->cfg);
    if (!d->store)
        return -1;
    d->prog = cli_progress_new(c);
    struct oc_engine_opts o = {
        .concurrency = conc ? conc : d->cfg ? d->cfg->concurrency : 0,
        .dry_run = dry_run,
        .state_dir = c->state_dir ? c->state_dir : d->cfg ? d->cfg->state_dir : NULL,
        .cancel_flag = &cli_cancel,
        /* The lease on the run this process drives (worker.lease_ttl). */
        .lease_ttl_ms = d->cfg ? orchd_cfg_of(d->cfg)->lease_ttl_ms : 0,
        .env_passthrough = d->cfg ? d->cfg->env_passthrough : NULL,
        .n_env_passthrough = d->cfg ? d->cfg->n_env_passthrough : 0,
        .telemetry = d->cfg ? &d->cfg->telemetry : NULL,
        .on_progress = cli_progress_cb,
        .ud = d->prog,
    };
    struct orch_error err;
    oc_error_init(&err);
    d->eng = oc_engine_new(d->reg, d->store, &o, &err);
    if (!d->eng) {
        cli_err("%s", oc_error_text(&err));
        oc_error_clear(&err);
        return -1;
    }
    cli_trap_signals();
    return 0;
}

static int32_t cli_state_cb(void *ud, const struct orch_run_rec *r)
{
    *(uint32_t *)ud = r->state;
    return 0;
}

/* The run a decision is for: run_id itself, or the child run its call
 * step waits on (and that one's, down to the run whose approval waits). */
static char *cli_decision_run(struct oc_store *st, const char *run_id)
{
    char *at = oc_xstrdup(run_id);
    for (int depth = 0; depth <= OC_CALL_MAX_DEPTH; depth++) {
        json_t *links = NULL;
        struct orch_error err;
        oc_error_init(&err);
        oc_run_links_read(st, at, &links, &err);
        oc_error_clear(&err);
        const char *next = NULL;
        size_t i;
        json_t *c;
        json_array_foreach(json_object_get(links, "children"), i, c) {
            const char *id = json_string_value(json_object_get(c, "run"));
            uint32_t state = 0;
            if (id && st->vt->run_get(st->h, id, cli_state_cb, &state, &err) == ORCH_OK &&
                state == ORCH_RUN_WAITING)
                next = id;
            oc_error_clear(&err);
        }
        if (next) {
            free(at);
            at = oc_xstrdup(next);
        }
        json_decref(links);
        if (!next)
            break;
    }
    return at;
}

static int cli_drive_finish(struct cli_drive *d, const char *run_id)
{
    oc_engine_loop(d->eng);
    cli_progress_end(d->prog);
    uint32_t st = oc_engine_run_state(d->eng, run_id);
    if (cli_signal && st != ORCH_RUN_SUCCEEDED)
        return 128 + cli_signal;
    if (st == ORCH_RUN_WAITING) {
        /* Parked, not failed: a decision and `orch resume` continue it. */
        char *decide = cli_decision_run(d->store, run_id);
        if (strcmp(decide, run_id))
            fprintf(stderr, "orch: run %s waits for its child run %s, which waits for a "
                            "decision: orch runs approve %s STEP (or reject), then orch "
                            "resume %s\n", run_id, decide, decide, run_id);
        else
            fprintf(stderr, "orch: run %s waits for a decision: orch runs approve %s STEP "
                            "(or reject), then orch resume %s\n", run_id, run_id, run_id);
        free(decide);
        return CLI_EXIT_OK;
    }
    return st == ORCH_RUN_SUCCEEDED ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

static void cli_drive_close(struct cli_drive *d)
{
    oc_engine_free(d->eng);
    cli_progress_free(d->prog);
    oc_store_close(d->store);
    oc_config_free(d->cfg);
    oc_registry_free(d->reg);
}

static int cli_parse_input(json_t *inputs, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        cli_err("--input wants NAME=VALUE, got '%s'", kv);
        return -1;
    }
    char *name = oc_xstrndup(kv, (size_t)(eq - kv));
    /* Unchecked: the inputs' check says what is wrong with the bytes. */
    json_object_set_new(inputs, name, json_stringn_nocheck(eq + 1, strlen(eq + 1)));
    free(name);
    return 0;
}

/* The text of each --input read by its declared type (a workflow not
 * found is reported by the start). */
static json_t *cli_typed_inputs(const struct oc_config *cfg, const char *workflow,
                                json_t *text)
{
    const struct oc_workflow *wf = oc_config_workflow(cfg, workflow);
    if (!wf)
        return json_incref(text);
    json_t *typed = NULL;
    struct orch_error err;
    oc_error_init(&err);
    if (oc_inputs_from_text(wf, text, &typed, &err) != ORCH_OK)
        cli_err("%s", oc_error_text(&err));
    oc_error_clear(&err);
    return typed;
}

struct cli_earlier {
    uint32_t state;
    char *error;
};

static int32_t cli_earlier_cb(void *ud, const struct orch_run_rec *r)
{
    struct cli_earlier *e = ud;
    e->state = r->state;
    free(e->error);
    e->error = r->error ? oc_xstrdup(r->error) : NULL;
    return 0;
}

/* An idempotency key that matched: nothing runs, and orch exits as the
 * earlier run did, so a script that retries `orch run --idempotency-key K`
 * after a failure does not read the failure as success. */
static int cli_report_earlier(struct cli *c, struct oc_store *st, const char *run_id,
                              const char *key)
{
    struct cli_earlier e = {0};
    struct orch_error err;
    oc_error_init(&err);
    orch_status rs = st->vt->run_get(st->h, run_id, cli_earlier_cb, &e, &err);
    if (rs != ORCH_OK || !e.state) {
        cli_err("run %s holds idempotency key '%s' but cannot be read: %s", run_id, key,
                rs != ORCH_OK ? oc_error_text(&err) : "not found");
        oc_error_clear(&err);
        free(e.error);
        return CLI_EXIT_USAGE;
    }
    oc_error_clear(&err);
    const char *state = orch_run_state_name(e.state);
    int rc = e.state == ORCH_RUN_FAILED || e.state == ORCH_RUN_CANCELLED ? CLI_EXIT_FAILED
                                                                         : CLI_EXIT_OK;
    if (c->json) {
        cli_print_json(json_pack("{s:s,s:b,s:s,s:s?}", "run_id", run_id, "existing", 1,
                                 "state", state, "error", e.error));
    } else {
        printf("run %s already exists for idempotency key '%s' (state %s)\n", run_id, key,
               state);
    }
    if (rc != CLI_EXIT_OK)
        cli_err("the earlier run %s with idempotency key '%s' %s%s%s; nothing was run now "
                "(orch runs show %s)", run_id, key, state, e.error ? ": " : "",
                e.error ? e.error : "", run_id);
    free(e.error);
    return rc;
}

int cmd_run(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv))
        return cli_usage_run(stdout, CLI_EXIT_OK);
    const char *pos[2] = {0};
    size_t npos = 0;
    const char *key = NULL;
    int dry_run = 0;
    uint32_t conc = 0;
    json_t *inputs = json_object();
    int rc = CLI_EXIT_USAGE;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--input") && i + 1 < argc) {
            if (cli_parse_input(inputs, argv[++i]) != 0)
                goto out;
        } else if (!strcmp(a, "--idempotency-key") && i + 1 < argc) {
            key = argv[++i];
        } else if (!strcmp(a, "--dry-run")) {
            dry_run = 1;
        } else if (!strcmp(a, "--concurrency") && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 1 || v > 1024) {
                cli_err("--concurrency wants 1..1024, got '%s'", argv[i]);
                goto out;
            }
            conc = (uint32_t)v;
        } else if (a[0] == '-') {
            cli_err("run: unknown option '%s'", a);
            cli_usage_run(stderr, 0);
            goto out;
        } else if (npos < 2) {
            pos[npos++] = a;
        } else {
            cli_err("run: unexpected argument '%s'", a);
            goto out;
        }
    }
    if (npos != 2) {
        cli_usage_run(stderr, 0);
        goto out;
    }
    struct cli_drive d = {0};
    d.reg = cli_registry(NULL);
    d.cfg = cli_load_config(pos[0], d.reg);
    if (!d.cfg || cli_drive_open(c, &d, conc, dry_run) != 0) {
        cli_drive_close(&d);
        goto out;
    }
    json_t *typed = cli_typed_inputs(d.cfg, pos[1], inputs);
    if (!typed) {
        cli_drive_close(&d);
        goto out;
    }
    struct orch_error err;
    oc_error_init(&err);
    char *run_id = NULL;
    const struct oc_workflow *wf = oc_config_workflow(d.cfg, pos[1]);
    if (wf)
        cli_progress_total(d.prog, wf->n_steps);
    /* What a CI system (or a step of another run) sets: the run becomes a
     * child of that span. */
    orch_status st = oc_engine_start(d.eng, d.cfg, pos[1], typed, key, getenv("TRACEPARENT"),
                                     &run_id, &err);
    json_decref(typed);
    if (st != ORCH_OK)
        cli_progress_end(d.prog);
    if (st == ORCH_E_EXISTS && run_id) {
        /* Idempotent re-submission: report the existing run, run nothing. */
        rc = cli_report_earlier(c, d.store, run_id, key);
    } else if (st != ORCH_OK) {
        cli_err("%s", oc_error_text(&err));
    } else {
        rc = cli_drive_finish(&d, run_id);
    }
    free(run_id);
    oc_error_clear(&err);
    cli_drive_close(&d);
out:
    json_decref(inputs);
    return rc;
}

int cmd_resume(struct cli *c, int argc, char **argv)
{
    if (cli_wants_help(argc, argv) || argc != 1) {
        fputs("usage: orch resume RUN_ID\n"
              "Continue a run from the store, with the run's own snapshot of\n"
              "the workflow file. A failed or cancelled run: succeeded steps\n"
              "keep their outputs, every other step runs again. A run whose\n"
              "process died, or that waited for a decision: finished steps keep\n"
              "their outcome; a step that was in flight follows its on_unknown.\n",
              argc == 1 ? stdout : stderr);
        return argc == 1 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    }
    struct cli_drive d = {0};
    d.reg = cli_registry(NULL);
    int failed;
    d.cfg = cli_global_config(c, d.reg, &failed);
    if (failed || cli_drive_open(c, &d, 0, 0) != 0) {
        cli_drive_close(&d);
        return CLI_EXIT_USAGE;
    }
    struct orch_error err;
    oc_error_init(&err);
    int rc = CLI_EXIT_USAGE;
    if (oc_engine_resume(d.eng, argv[0], &err) != ORCH_OK) {
        cli_progress_end(d.prog);
        cli_err("%s", oc_error_text(&err));
    }
    else
        rc = cli_drive_finish(&d, argv[0]);
    oc_error_clear(&err);
    cli_drive_close(&d);
    return rc;
}
