/* orch --server URL runs ...: the runs commands against a daemon's API,
 * printing what the local commands print. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "util.h"

static const char cli_runs_remote_usage[] =
    "usage: orch --server URL runs COMMAND\n"
    "  list [--state S] [--workflow W] [--limit N]\n"
    "  show RUN_ID\n"
    "  start WORKFLOW [--input K=V]... [--idempotency-key K] [--wait] [--follow]\n"
    "  logs RUN_ID STEP [--attempt N] [--follow]\n"
    "  logs RUN_ID --follow   (the whole run, as orch run shows it, until it ends)\n"
    "  events RUN_ID\n"
    "  cancel RUN_ID | requeue RUN_ID | discard RUN_ID [--reason TEXT]\n"
    "  approve|reject RUN_ID STEP [--input K=V]... [--comment TEXT]\n";

static int cli_remote_usage(void)
{
    fputs(cli_runs_remote_usage, stderr);
    return CLI_EXIT_USAGE;
}

static int cli_remote_list(struct cli *c, int argc, char **argv)
{
    struct oc_buf q = {0};
    static const char *const flags[] = {"--state", "--workflow", "--limit"};
    for (int i = 0; i < argc; i++) {
        size_t k = 0;
        while (k < 3 && strcmp(argv[i], flags[k]))
            k++;
        if (k == 3 || i + 1 >= argc) {
            oc_buf_free(&q);
            return cli_remote_usage();
        }
        char *v = cli_seg(argv[++i]);
        oc_buf_addf(&q, "%c%s=%s", q.len ? '&' : '?', flags[k] + 2, v);
        free(v);
    }
    char *path = oc_xasprintf("/v1/runs%s", q.data ? q.data : "");
    oc_buf_free(&q);
    json_t *out;
    int rc = cli_http_call(c, "GET", path, NULL, &out);
    free(path);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (c->json)
        cli_print_json(json_incref(json_object_get(out, "runs")));
    else
        cli_print_runs(json_object_get(out, "runs"));
    json_decref(out);
    return CLI_EXIT_OK;
}

static json_t *cli_remote_run(struct cli *c, const char *id, int *rc)
{
    char *seg = cli_seg(id);
    char *path = oc_xasprintf("/v1/runs/%s", seg);
    json_t *out;
    *rc = cli_http_call(c, "GET", path, NULL, &out);
    free(path);
    free(seg);
    return out;
}

static int cli_remote_show(struct cli *c, const char *id)
{
    int rc;
    json_t *out = cli_remote_run(c, id, &rc);
    if (!out)
        return rc;
    json_t *run = json_object_get(out, "run");
    if (c->json) {
        cli_print_json(json_incref(run));
    } else {
        /* The API groups attempts by step; the table lists them flat. */
        json_t *flat = json_array();
        size_t i, k;
        json_t *s, *a;
        json_array_foreach(json_object_get(run, "steps"), i, s) {
            json_array_foreach(json_object_get(s, "attempts"), k, a) {
                json_t *row = json_copy(a);
                json_object_set(row, "step", json_object_get(s, "id"));
                json_array_append_new(flat, row);
            }
        }
        json_object_set_new(run, "attempts", flat);
        cli_print_run(run);
    }
    json_decref(out);
    return CLI_EXIT_OK;
}

static int cli_remote_follow(struct cli *c, const char *id);
static int cli_remote_wait(struct cli *c, const char *id);

static int cli_remote_start(struct cli *c, int argc, char **argv)
{
    json_t *inputs = json_object();
    json_t *body = json_pack("{s:s,s:O}", "workflow", argv[0], "inputs", inputs);
    json_decref(inputs);
    int wait = 0, follow = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--input") && i + 1 < argc) {
            if (cli_input_kv(json_object_get(body, "inputs"), argv[++i]) != 0) {
                json_decref(body);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(argv[i], "--idempotency-key") && i + 1 < argc) {
            json_object_set_new(body, "idempotency_key", json_string(argv[++i]));
        } else if (!strcmp(argv[i], "--wait")) {
            wait = 1;
        } else if (!strcmp(argv[i], "--follow")) {
            follow = 1;
        } else {
            json_decref(body);
            return cli_remote_usage();
        }
    }
    json_t *out;
    int rc = cli_http_call(c, "POST", "/v1/runs", body, &out);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *run = json_object_get(out, "run");
    if (c->json && !wait && !follow)
        cli_print_json(json_incref(out));
    else if (!c->json)
        printf("run %s: %s%s\n", json_string_value(json_object_get(run, "id")),
               json_string_value(json_object_get(run, "state")),
               json_is_true(json_object_get(out, "existing"))
                   ? " (an earlier run with this idempotency key)"
                   : "");
    fflush(stdout);
    const char *id = json_string_value(json_object_get(run, "id"));
    if (follow) /* --follow waits too */
        rc = cli_remote_follow(c, id);
    else if (wait)
        rc = cli_remote_wait(c, id);
    json_decref(out);
    return rc;
}

static int cli_print_log_event(void *ud, const char *event, json_t *data)
{
    int *end_state_failed = ud;
    if (!strcmp(event, "log")) {
        const char *text = json_string_value(json_object_get(data, "data"));
        const char *stream = json_string_value(json_object_get(data, "stream"));
        FILE *f = stream && !strcmp(stream, "stderr") ? stderr : stdout;
        if (text)
            fputs(text, f);
        fflush(f);
    } else if (!strcmp(event, "end")) {
        const char *s = json_string_value(json_object_get(data, "state"));
        *end_state_failed = !s || strcmp(s, "succeeded");
    }
    return 0;
}

static int cli_state_ended(const char *s)
{
    return s && (!strcmp(s, "succeeded") || !strcmp(s, "failed") || !strcmp(s, "cancelled"));
}

/* --follow: the run's ledger as orch run prints a run (follow.c), until it
 * ends, through its approvals. The run's steps are the area's total. */
static int cli_remote_follow(struct cli *c, const char *id)
{
    int rc;
    json_t *out = cli_remote_run(c, id, &rc);
    if (!out)
        return rc;
    size_t total = json_array_size(json_object_get(json_object_get(out, "run"), "steps"));
    json_decref(out);
    return cli_follow_api(c, id, total);
}

/* --wait: until the run ends (or parks for a decision), reading it again
 * every 0.5 s. The exit status is the run's, as orch run's is. */
static int cli_remote_wait(struct cli *c, const char *id)
{
    int rc = CLI_EXIT_FAILED;
    const char *state = NULL;
    json_t *out = NULL;
    for (;;) {
        json_decref(out);
        out = cli_remote_run(c, id, &rc);
        if (!out)
            return rc;
        state = json_string_value(json_object_get(json_object_get(out, "run"), "state"));
        if (cli_state_ended(state) || (state && !strcmp(state, "waiting")))
            break;
        usleep(500000);
    }
    json_t *run = json_object_get(out, "run");
    if (c->json) {
        cli_print_json(json_incref(run));
    } else {
        const char *e = json_string_value(json_object_get(run, "error"));
        printf("run %s %s%s%s\n", id, state ? state : "?", e ? ": " : "", e ? e : "");
        cli_print_outputs_of(run);
    }
    if (state && !strcmp(state, "waiting"))
        fprintf(stderr, "orch: run %s waits for a decision: orch --server %s runs approve "
                        "%s STEP (or reject)\n", id, c->server, id);
    rc = state && (!strcmp(state, "succeeded") || !strcmp(state, "waiting")) ? CLI_EXIT_OK
                                                                              : CLI_EXIT_FAILED;
    json_decref(out);
    return rc;
}

static int cli_remote_logs(struct cli *c, int argc, char **argv)
{
    const char *attempt = NULL;
    int follow = 0, first = argc >= 2 && strncmp(argv[1], "-", 1) ? 2 : 1;
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--attempt") && i + 1 < argc)
            attempt = argv[++i];
        else if (!strcmp(argv[i], "--follow") || !strcmp(argv[i], "-f"))
            follow = 1;
        else
            return cli_remote_usage();
    }
    if (first == 1 && follow && !attempt)
        return cli_remote_follow(c, argv[0]); /* the whole run */
    if (first == 1)
        return cli_remote_usage();
    char *run = cli_seg(argv[0]), *step = cli_seg(argv[1]);
    struct oc_buf path = {0};
    oc_buf_addf(&path, "/v1/runs/%s/steps/%s/logs?follow=%s", run, step,
                follow ? "true" : "false");
    if (attempt) {
        char *a = cli_seg(attempt);
        oc_buf_addf(&path, "&attempt=%s", a);
        free(a);
    }
    free(run);
    free(step);
    struct cli_http_res res;
    int failed = 0;
    int rc = follow ? cli_http_events(c, "GET", path.data, NULL, cli_print_log_event, &failed,
                                      &res)
                    : cli_http_to(c, path.data, stdout, &res);
    oc_buf_free(&path);
    if (rc != 0)
        return CLI_EXIT_USAGE;
    if (res.status != 200) {
        rc = cli_http_fail(c, &res);
    } else {
        rc = failed ? CLI_EXIT_FAILED : CLI_EXIT_OK;
    }
    cli_http_res_free(&res);
    return rc;
}

static int cli_remote_events(struct cli *c, const char *id)
{
    char *seg = cli_seg(id);
    char *path = oc_xasprintf("/v1/runs/%s/events", seg);
    free(seg);
    json_t *out;
    int rc = cli_http_call(c, "GET", path, NULL, &out);
    free(path);
    if (rc != CLI_EXIT_OK)
        return rc;
    cli_print_json(json_incref(json_object_get(out, "events")));
    json_decref(out);
    return CLI_EXIT_OK;
}

/* One request that changes a run: the answer as JSON with --json, else
 * the line said. body taken. */
static int cli_remote_change(struct cli *c, const char *method, const char *path, json_t *body,
                             const char *said)
{
    json_t *out;
    int rc = cli_http_call(c, method, path, body, &out);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (c->json) {
        cli_print_json(out);
    } else {
        printf("%s\n", said);
        json_decref(out);
    }
    return CLI_EXIT_OK;
}

/* cancel, requeue, approve, reject: one POST each. */
static int cli_remote_request(struct cli *c, const char *sub, int argc, char **argv)
{
    int decision = !strcmp(sub, "approve") || !strcmp(sub, "reject");
    if (decision && argc < 2)
        return cli_remote_usage();
    json_t *body = NULL;
    char *run = cli_seg(argv[0]), *path;
    if (decision) {
        json_t *input = json_object();
        const char *comment = NULL;
        if (cli_decision_args(argc - 2, argv + 2, input, &comment) != 0) {
            json_decref(input);
            free(run);
            return CLI_EXIT_USAGE;
        }
        body = json_pack("{s:o,s:s*}", "input", input, "comment", comment);
        char *step = cli_seg(argv[1]);
        path = oc_xasprintf("/v1/runs/%s/steps/%s/%s", run, step, sub);
        free(step);
    } else {
        path = oc_xasprintf("/v1/runs/%s/%s", run,
                            !strcmp(sub, "requeue") ? "resume" : "cancel");
    }
    free(run);
    char *said = oc_xasprintf("run %s: %s accepted", argv[0], sub);
    int rc = cli_remote_change(c, "POST", path, body, said);
    free(said);
    free(path);
    return rc;
}

/* discard: DELETE /v1/dead-letters/RUN[?reason=TEXT]. */
static int cli_remote_discard(struct cli *c, int argc, char **argv)
{
    const char *reason = NULL;
    if (cli_discard_args(argc - 1, argv + 1, &reason) != 0)
        return CLI_EXIT_USAGE;
    char *run = cli_seg(argv[0]), *why = reason ? cli_seg(reason) : NULL;
    char *path = oc_xasprintf("/v1/dead-letters/%s%s%s", run, why ? "?reason=" : "",
                              why ? why : "");
    free(run);
    free(why);
    char *said = oc_xasprintf("run %s: discarded; it is cancelled and no longer a dead letter",
                              argv[0]);
    int rc = cli_remote_change(c, "DELETE", path, NULL, said);
    free(said);
    free(path);
    return rc;
}

int cmd_runs_remote(struct cli *c, int argc, char **argv)
{
    if (argc < 1 || cli_wants_help(argc, argv)) {
        fputs(cli_runs_remote_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *sub = argv[0];
    if (strcmp(sub, "list") && argc < 2)
        return cli_remote_usage();
    if (!strcmp(sub, "list"))
        return cli_remote_list(c, argc - 1, argv + 1);
    if (!strcmp(sub, "show") && argc == 2)
        return cli_remote_show(c, argv[1]);
    if (!strcmp(sub, "start"))
        return cli_remote_start(c, argc - 1, argv + 1);
    if (!strcmp(sub, "logs"))
        return cli_remote_logs(c, argc - 1, argv + 1);
    if (!strcmp(sub, "events") && argc == 2)
        return cli_remote_events(c, argv[1]);
    if ((!strcmp(sub, "cancel") || !strcmp(sub, "requeue")) && argc == 2)
        return cli_remote_request(c, sub, argc - 1, argv + 1);
    if (!strcmp(sub, "approve") || !strcmp(sub, "reject"))
        return cli_remote_request(c, sub, argc - 1, argv + 1);
    if (!strcmp(sub, "discard"))
        return cli_remote_discard(c, argc - 1, argv + 1);
    if (!strcmp(sub, "artifacts") || !strcmp(sub, "artifact"))
        return cli_remote_artifacts(c, argc, argv);
    cli_err("runs: unknown or incomplete subcommand '%s'", sub);
    return cli_remote_usage();
}
