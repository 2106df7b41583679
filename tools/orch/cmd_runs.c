/* orch runs list|show|logs|events: read a store's record of runs. */
#include <stdlib.h>
#include <string.h>

#include "api_json.h"
#include "cli.h"
#include "host.h"
#include "logread.h"
#include "run_ledger.h"
#include "util.h"

static int cli_usage_runs(FILE *f, int rc)
{
    fputs("usage: orch runs list [--state S] [--workflow W] [--limit N]\n"
          "       orch runs show RUN_ID\n"
          "       orch runs logs RUN_ID [STEP] [--attempt N]\n"
          "       orch runs logs RUN_ID --follow   (the run as orch run shows it, until it ends)\n"
          "       orch runs events RUN_ID\n"
          "       orch runs artifacts RUN_ID   (name, size, sha256, step)\n"
          "       orch runs artifact RUN_ID NAME [-o|--output FILE]   (checked by sha256)\n"
          "       orch runs artifacts --namespace NS   (every version of a shared namespace)\n"
          "       orch runs artifact --namespace NS NAME[@VERSION] [-o|--output FILE]\n"
          "       orch runs approve RUN_ID STEP [--input K=V]... [--comment TEXT]\n"
          "       orch runs reject RUN_ID STEP [--comment TEXT]\n"
          "       orch runs cancel RUN_ID\n"
          "       orch runs requeue RUN_ID   (a failed or cancelled run)\n"
          "       orch runs discard RUN_ID [--reason TEXT]   (a dead letter, for good)\n",
          f);
    return rc;
}

static uint32_t cli_run_state_from_name(const char *s)
{
    for (uint32_t i = ORCH_RUN_QUEUED; i <= ORCH_RUN_CANCELLED; i++)
        if (!strcmp(s, orch_run_state_name(i)))
            return i;
    return 0;
}

static int32_t cli_collect_run(void *ud, const struct orch_run_rec *r)
{
    json_array_append_new(ud, oc_api_run(r));
    return 0;
}

/* Flat, each attempt naming its step: the API nests them under steps. */
static int32_t cli_collect_attempt(void *ud, const struct orch_attempt_rec *a)
{
    json_t *j = json_pack("{s:s}", "step", a->step_id); /* first, as it was */
    json_object_update_new(j, oc_api_attempt(a));
    json_array_append_new(ud, j);
    return 0;
}

static int32_t cli_collect_instance(void *ud, const struct orch_instance_rec *i)
{
    json_array_append_new(ud, json_pack("{s:s,s:s,s:s?,s:s?,s:i}", "id", i->id,
                                        "backend", i->backend, "backend_id",
                                        i->backend_id, "handle", i->handle,
                                        "state", (json_int_t)i->state));
    return 0;
}

static int32_t cli_collect_event(void *ud, const struct orch_event_rec *e)
{
    json_array_append_new(ud, oc_api_event(e));
    return 0;
}

void cli_print_runs(json_t *runs)
{
    printf("%-24s %-20s %-10s %s\n", "RUN", "WORKFLOW", "STATE", "CREATED");
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r) {
        char when[32];
        cli_fmt_time(when, sizeof when, json_object_get(r, "created"));
        printf("%-24s %-20s %-10s %s\n", json_string_value(json_object_get(r, "id")),
               json_string_value(json_object_get(r, "workflow")),
               json_string_value(json_object_get(r, "state")), when);
    }
}

static int cli_runs_list(struct cli *c, struct oc_store *st, int argc, char **argv)
{
    struct orch_run_filter f = {.struct_size = sizeof f, .limit = 50};
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--state") && i + 1 < argc) {
            f.state = cli_run_state_from_name(argv[++i]);
            if (!f.state) {
                cli_err("unknown run state '%s' (queued, running, waiting, "
                        "succeeded, failed, cancelled)", argv[i]);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--workflow") && i + 1 < argc) {
            f.workflow = argv[++i];
        } else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
            f.limit = (uint32_t)strtoul(argv[++i], NULL, 10);
        } else {
            return cli_usage_runs(stderr, CLI_EXIT_USAGE);
        }
    }
    struct orch_error err;
    oc_error_init(&err);
    json_t *runs = json_array();
    if (st->vt->run_list(st->h, &f, cli_collect_run, runs, &err) != ORCH_OK) {
        cli_err("cannot list runs: %s", oc_error_text(&err));
        oc_error_clear(&err);
        json_decref(runs);
        return CLI_EXIT_FAILED;
    }
    if (c->json) {
        cli_print_json(runs);
        return CLI_EXIT_OK;
    }
    cli_print_runs(runs);
    json_decref(runs);
    return CLI_EXIT_OK;
}

/* Each attempt's log_bytes_dropped and log_limit: what the engine cut from
 * its stored log (docs/security.md, "Bounded logs"). */
static void cli_note_log_truncations(json_t *cuts, json_t *attempts)
{
    size_t i;
    json_t *a;
    json_array_foreach(attempts, i, a) {
        json_t *cut = oc_log_truncation_of(
            cuts, json_string_value(json_object_get(a, "step")),
            (uint32_t)json_integer_value(json_object_get(a, "attempt")));
        json_object_set_new(a, "log_bytes_dropped",
                            json_integer(json_integer_value(json_object_get(cut, "dropped"))));
        if (cut)
            json_object_set(a, "log_limit", json_object_get(cut, "log_limit"));
    }
}

/* The run, its attempts and instances as one JSON document; NULL (with a
 * message printed) when the run does not exist. */
static json_t *cli_run_doc(struct oc_store *st, const char *id)
{
    struct orch_error err;
    oc_error_init(&err);
    json_t *one = json_array();
    orch_status rc = st->vt->run_get(st->h, id, cli_collect_run, one, &err);
    if (rc != ORCH_OK || json_array_size(one) == 0) {
        if (rc == ORCH_OK)
            cli_fail_code("not_found");
        else
            cli_fail_err(&err);
        cli_err("no run %s in the store%s%s", id, rc != ORCH_OK ? ": " : "",
                rc != ORCH_OK ? oc_error_text(&err) : "");
        oc_error_clear(&err);
        json_decref(one);
        return NULL;
    }
    json_t *doc = json_incref(json_array_get(one, 0));
    json_decref(one);
    json_t *att = json_array(), *inst = json_array();
    st->vt->attempt_list(st->h, id, cli_collect_attempt, att, &err);
    oc_error_clear(&err);
    st->vt->instance_list(st->h, id, cli_collect_instance, inst, &err);
    oc_error_clear(&err);
    json_object_set_new(doc, "attempts", att);
    json_object_set_new(doc, "instances", inst);
    /* Outputs, links, its concurrency group and cut logs: one walk. */
    struct oc_run_ledger led;
    if (oc_run_ledger_read(st, id, &led, &err) != ORCH_OK) {
        cli_err("run %s: cannot read its ledger: %s", id, oc_error_text(&err));
        oc_error_clear(&err);
        json_decref(doc);
        return NULL;
    }
    cli_note_log_truncations(led.cuts, att);
    json_object_set(doc, "outputs", led.outputs ? led.outputs : json_null());
    json_object_update(doc, led.links);
    if (led.concurrency)
        json_object_set(doc, "concurrency_group", led.concurrency);
    oc_run_ledger_clear(&led);
    return doc;
}

/* The run that called this one, and the runs it called (call steps). */
static void cli_print_links(json_t *doc)
{
    json_t *p = json_object_get(doc, "parent");
    if (json_is_object(p))
        printf("parent    %s (step %s, attempt %lld)\n",
               json_string_value(json_object_get(p, "run")),
               json_string_value(json_object_get(p, "step")),
               (long long)json_integer_value(json_object_get(p, "attempt")));
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(doc, "children"), i, c)
        printf("child     %s (step %s, attempt %lld, workflow %s)\n",
               json_string_value(json_object_get(c, "run")),
               json_string_value(json_object_get(c, "step")),
               (long long)json_integer_value(json_object_get(c, "attempt")),
               json_string_value(json_object_get(c, "workflow")));
}

/* Why the run waits, or which group it is in: one line. The key is
 * already shown escaped and cut short (core/concurrency_key.c). */
static void cli_print_concurrency(json_t *cg)
{
    if (!cg)
        return;
    const char *state = json_string_value(json_object_get(cg, "state"));
    printf("group     %s (limit %lld, on_conflict %s): %s",
           json_string_value(json_object_get(cg, "key")),
           (long long)json_integer_value(json_object_get(cg, "limit")),
           json_string_value(json_object_get(cg, "on_conflict")), state ? state : "?");
    json_t *holders = json_object_get(cg, "holders");
    if (state && !strcmp(state, "waiting") && json_array_size(holders)) {
        size_t i;
        json_t *h;
        printf(", held by");
        json_array_foreach(holders, i, h)
            printf("%s %s", i ? "," : "", json_string_value(h));
    }
    printf("\n");
}

void cli_print_run(json_t *doc)
{
    char when[32];
    cli_fmt_time(when, sizeof when, json_object_get(doc, "created"));
    printf("run       %s\nworkflow  %s\nstate     %s\ncreated   %s\n",
           json_string_value(json_object_get(doc, "id")),
           json_string_value(json_object_get(doc, "workflow")),
           json_string_value(json_object_get(doc, "state")), when);
    const char *e = json_string_value(json_object_get(doc, "error"));
    if (e)
        printf("error     %s\n", e);
    cli_print_links(doc);
    cli_print_concurrency(json_object_get(doc, "concurrency_group"));
    cli_print_outputs_of(doc);
    printf("\n%-20s %-7s %-10s %-6s %-9s %s\n", "STEP", "ATTEMPT", "STATE", "EXIT",
           "DURATION", "OUTPUTS / ERROR");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "attempts"), i, a) {
        char dur[32] = "-", exitc[16] = "-";
        int64_t s0 = 0, s1 = 0;
        oc_api_time_ns(json_object_get(a, "started"), &s0);
        oc_api_time_ns(json_object_get(a, "finished"), &s1);
        if (s1 > s0 && s0 > 0)
            cli_fmt_duration(dur, sizeof dur, s1 - s0);
        if (json_object_get(a, "exit_code"))
            snprintf(exitc, sizeof exitc, "%lld",
                     (long long)json_integer_value(json_object_get(a, "exit_code")));
        const char *err = json_string_value(json_object_get(a, "error"));
        char *outs = NULL;
        json_t *o = json_object_get(a, "outputs");
        if (json_is_object(o) && json_object_size(o))
            outs = json_dumps(o, JSON_COMPACT);
        printf("%-20s %-7lld %-10s %-6s %-9s %s\n",
               json_string_value(json_object_get(a, "step")),
               (long long)json_integer_value(json_object_get(a, "attempt")),
               json_string_value(json_object_get(a, "state")), exitc, dur,
               err ? err : outs ? outs : "");
        free(outs);
    }
    json_array_foreach(json_object_get(doc, "attempts"), i, a) {
        json_int_t dropped = json_integer_value(json_object_get(a, "log_bytes_dropped"));
        if (dropped > 0)
            printf("note: the log of %s (attempt %lld) was cut at its log_limit of %lld bytes: "
                   "%lld bytes dropped\n",
                   json_string_value(json_object_get(a, "step")),
                   (long long)json_integer_value(json_object_get(a, "attempt")),
                   (long long)json_integer_value(json_object_get(a, "log_limit")),
                   (long long)dropped);
    }
}

static int cli_runs_show(struct cli *c, struct oc_store *st, const char *id)
{
    json_t *doc = cli_run_doc(st, id);
    if (!doc)
        return CLI_EXIT_FAILED;
    if (c->json) {
        cli_print_json(doc);
        return CLI_EXIT_OK;
    }
    cli_print_run(doc);
    json_decref(doc);
    return CLI_EXIT_OK;
}

struct cli_log_sink {
    int json;
    size_t n_json;           /* elements of the JSON array written so far */
    const char *step;
    uint32_t attempt;
};

/* One element of `orch --json runs logs`' array, written as it is read (a
 * log can be large): the text cli_print_json would give for the whole
 * array, each element dumped by jansson and indented one level. */
static void cli_print_log_json(struct cli_log_sink *k, json_t *j)
{
    char *text = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
    json_decref(j);
    cli_json_printed();
    fputs(k->n_json++ ? ",\n  " : "[\n  ", stdout);
    for (const char *p = text; p && *p; p++) {
        fputc(*p, stdout);
        if (*p == '\n') /* never inside a string: JSON escapes it there */
            fputs("  ", stdout);
    }
    free(text);
}

static int32_t cli_print_log(void *ud, const struct orch_log_rec *l)
{
    struct cli_log_sink *k = ud;
    if (k->json)
        cli_print_log_json(k, json_pack("{s:s,s:i,s:s,s:s%,s:o}", "step", k->step, "attempt",
                                        (json_int_t)k->attempt, "stream",
                                        l->stream == ORCH_STREAM_STDERR ? "stderr" : "stdout",
                                        "data", l->data, (size_t)l->len, "ts",
                                        oc_api_time(l->ts_ns)));
    else
        fwrite(l->data, 1, (size_t)l->len, stdout);
    return 0;
}

/* The steps of the run's workflow in the -c config, 0 without it. */
static size_t cli_run_total(const struct oc_config *cfg, json_t *doc)
{
    const char *wf = json_string_value(json_object_get(doc, "workflow"));
    const struct oc_workflow *w = cfg && wf ? oc_config_workflow(cfg, wf) : NULL;
    return w ? w->n_steps : 0;
}

static int cli_runs_logs(struct cli *c, struct oc_store *st, const struct oc_config *cfg,
                         int argc, char **argv)
{
    const char *id = NULL, *step = NULL;
    uint32_t only_attempt = 0;
    int follow = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--attempt") && i + 1 < argc)
            only_attempt = (uint32_t)strtoul(argv[++i], NULL, 10);
        else if (!strcmp(argv[i], "--follow"))
            follow = 1;
        else if (!id)
            id = argv[i];
        else if (!step)
            step = argv[i];
        else
            return cli_usage_runs(stderr, CLI_EXIT_USAGE);
    }
    if (!id || (follow && (step || only_attempt))) {
        if (follow)
            cli_err("runs logs --follow follows the whole run: no STEP, no --attempt");
        return cli_usage_runs(stderr, CLI_EXIT_USAGE);
    }
    json_t *doc = cli_run_doc(st, id);
    if (!doc)
        return CLI_EXIT_FAILED;
    if (follow) {
        size_t total = cli_run_total(cfg, doc);
        json_decref(doc);
        return cli_follow_store(c, st, id, total);
    }
    struct cli_log_sink k = {.json = c->json};
    struct orch_error err;
    oc_error_init(&err);
    int found = 0;
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(doc, "attempts"), i, a) {
        k.step = json_string_value(json_object_get(a, "step"));
        k.attempt = (uint32_t)json_integer_value(json_object_get(a, "attempt"));
        if ((step && strcmp(step, k.step)) || (only_attempt && only_attempt != k.attempt))
            continue;
        found = 1;
        if (!c->json && !step)
            printf("==> %s (attempt %u) <==\n", k.step, k.attempt);
        if (st->vt->log_read(st->h, id, k.step, k.attempt, 0, cli_print_log, &k,
                             &err) != ORCH_OK) {
            cli_err("cannot read logs of %s: %s", k.step, oc_error_text(&err));
            oc_error_clear(&err);
        }
    }
    json_decref(doc);
    if (c->json && (found || !step))
        fputs(k.n_json ? "\n]\n" : "[]\n", stdout);
    if (!found && step) {
        cli_err("run %s has no step '%s' with a recorded attempt", id, step);
        return CLI_EXIT_FAILED;
    }
    return CLI_EXIT_OK;
}

static int cli_runs_events(struct cli *c, struct oc_store *st, const char *id)
{
    struct orch_error err;
    oc_error_init(&err);
    json_t *evs = json_array();
    if (st->vt->event_list(st->h, id, 0, 0, cli_collect_event, evs, &err) != ORCH_OK) {
        cli_err("cannot list events: %s", oc_error_text(&err));
        oc_error_clear(&err);
        json_decref(evs);
        return CLI_EXIT_FAILED;
    }
    json_t *doc = json_array_size(evs) ? NULL : cli_run_doc(st, id);
    if (!json_array_size(evs) && !doc) { /* a run always has events: no such run (said) */
        json_decref(evs);
        return CLI_EXIT_FAILED;
    }
    json_decref(doc);
    if (c->json) {
        cli_print_json(evs);
        return CLI_EXIT_OK;
    }
    size_t i;
    json_t *e;
    json_array_foreach(evs, i, e) {
        char when[32];
        cli_fmt_time(when, sizeof when, json_object_get(e, "ts"));
        char *data = json_dumps(json_object_get(e, "data"), JSON_COMPACT | JSON_ENCODE_ANY);
        printf("%5lld %s %-18s %s\n", (long long)json_integer_value(json_object_get(e, "seq")),
               when, json_string_value(json_object_get(e, "type")), data ? data : "");
        free(data);
    }
    json_decref(evs);
    return CLI_EXIT_OK;
}

static int32_t cli_state_cb(void *ud, const struct orch_run_rec *r)
{
    *(uint32_t *)ud = r->state;
    return 0;
}

static uint32_t cli_run_state(struct oc_store *st, const char *id)
{
    uint32_t state = 0;
    struct orch_error err;
    oc_error_init(&err);
    st->vt->run_get(st->h, id, cli_state_cb, &state, &err);
    oc_error_clear(&err);
    return state;
}

/* A parked run has no process to see its cancel flag; a daemon sharing the
 * store would claim it, but with no daemon the run would sit queued and its
 * approval's attempt `waiting` until someone ran `orch resume`. So the CLI
 * finishes the cancel itself (the run's one-driver lease keeps a daemon
 * that claims it first, or at once, from driving it twice). */
static int cli_finish_parked_cancel(struct cli *c, const char *id)
{
    char *argv[] = {(char *)id};
    int rc = cmd_resume(c, 1, argv);
    if (rc == CLI_EXIT_USAGE)
        cli_err("run %s: the cancel is recorded; whoever drives the run next ends it", id);
    return CLI_EXIT_OK;
}

int cmd_runs(struct cli *c, int argc, char **argv)
{
    if (argc < 1 || cli_wants_help(argc, argv))
        return cli_usage_runs(argc < 1 ? stderr : stdout,
                              argc < 1 ? CLI_EXIT_USAGE : CLI_EXIT_OK);
    const char *sub = argv[0];
    int control = !strcmp(sub, "approve") || !strcmp(sub, "reject") ||
                  !strcmp(sub, "cancel") || !strcmp(sub, "requeue") || !strcmp(sub, "discard");
    int art = !strcmp(sub, "artifacts") || !strcmp(sub, "artifact");
    if (!control && !art && strcmp(sub, "list") && strcmp(sub, "show") && strcmp(sub, "logs") &&
        strcmp(sub, "events")) {
        cli_err("runs: unknown subcommand '%s'", sub);
        return cli_usage_runs(stderr, CLI_EXIT_USAGE);
    }
    if (strcmp(sub, "list") && argc < 2)
        return cli_usage_runs(stderr, CLI_EXIT_USAGE);
    struct oc_registry *reg = cli_registry(NULL);
    int failed;
    struct oc_config *cfg = cli_global_config(c, reg, &failed);
    struct oc_store *st = failed ? NULL : cli_open_store(c, reg, cfg);
    int rc = CLI_EXIT_USAGE;
    int parked_cancel = 0;
    if (st) {
        if (!strcmp(sub, "cancel"))
            parked_cancel = cli_run_state(st, argv[1]) == ORCH_RUN_WAITING;
        if (!strcmp(sub, "list"))
            rc = cli_runs_list(c, st, argc - 1, argv + 1);
        else if (!strcmp(sub, "show"))
            rc = cli_runs_show(c, st, argv[1]);
        else if (!strcmp(sub, "logs"))
            rc = cli_runs_logs(c, st, cfg, argc - 1, argv + 1);
        else if (control)
            rc = cli_runs_control(c, st, sub, argc - 1, argv + 1);
        else if (art)
            rc = cli_runs_artifacts(c, reg, st, cfg, argc, argv);
        else
            rc = cli_runs_events(c, st, argv[1]);
    }
    oc_store_close(st);
    oc_config_free(cfg);
    oc_registry_free(reg);
    if (rc == CLI_EXIT_OK && parked_cancel)
        rc = cli_finish_parked_cancel(c, argv[1]);
    return rc;
}
