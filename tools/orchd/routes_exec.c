/* /v1/instances/{id}/exec and its executions: a command on an instance,
 * answered when it ends (with a timeout) or at once with an execution id
 * to poll, stream or cancel. */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "instances.h"
#include "util.h"

#define ORCHD_EXEC_SYNC_TIMEOUT_MS (60 * 1000)
#define ORCHD_EXEC_ASYNC_TIMEOUT_MS (60 * 60 * 1000)

/* The command of the executor request from the body, borrowing b's
 * values except x->argv (owned); -1 after a 400 answer. */
static int orchd_exec_block(struct orchd_req *rq, json_t *b, json_t **shown,
                            struct oc_req_exec *x)
{
    static const char *const fields[] = {"command", "argv", "env",   "cwd",
                                         "stdin",   "timeout", "async", NULL};
    if (orchd_body_fields(rq, b, fields) || orchd_body_strings(rq, b, "env"))
        return -1;
    json_t *cmd = json_object_get(b, "command");
    json_t *argv = json_object_get(b, "argv");
    if (!!cmd == !!argv) {
        orchd_fail(rq, 400, "invalid", "give either 'command' (a shell command line) or "
                   "'argv' (an array of strings)");
        return -1;
    }
    if (cmd && (!json_is_string(cmd) || !*json_string_value(cmd))) {
        orchd_fail(rq, 400, "invalid", "command must be a non-empty string");
        return -1;
    }
    size_t i;
    json_t *a;
    if (argv && (!json_is_array(argv) || !json_array_size(argv))) {
        orchd_fail(rq, 400, "invalid", "argv must be a non-empty array of strings");
        return -1;
    }
    json_array_foreach(argv, i, a) {
        if (!json_is_string(a)) {
            orchd_fail(rq, 400, "invalid", "argv[%zu] must be a string", i);
            return -1;
        }
    }
    static const char *const texts[] = {"cwd", "stdin"};
    for (i = 0; i < 2; i++) {
        json_t *v = json_object_get(b, texts[i]);
        if (v && !json_is_string(v)) {
            orchd_fail(rq, 400, "invalid", "%s must be a string", texts[i]);
            return -1;
        }
    }
    json_t *async = json_object_get(b, "async");
    if (async && !json_is_boolean(async)) {
        orchd_fail(rq, 400, "invalid", "async must be true or false");
        return -1;
    }
    *shown = cmd ? json_pack("{s:O}", "shell", cmd) : json_pack("{s:O}", "argv", argv);
    *x = (struct oc_req_exec){.argv = cmd ? json_pack("[O]", cmd) : json_incref(argv),
                              .shell = cmd != NULL,
                              .env = json_object_get(b, "env"),
                              .cwd = json_object_get(b, "cwd"),
                              .stdin_text = json_object_get(b, "stdin")};
    return 0;
}

void orchd_instances_exec(struct orchd_req *rq)
{
    struct orchd *d = rq->d;
    json_t *b = orchd_body_object(rq);
    if (!b)
        return;
    json_t *shown = NULL, *row = NULL, *be = NULL;
    struct oc_req_exec x_req = {0};
    int bad = orchd_exec_block(rq, b, &shown, &x_req);
    int async = json_is_true(json_object_get(b, "async"));
    int64_t timeout = async ? ORCHD_EXEC_ASYNC_TIMEOUT_MS : ORCHD_EXEC_SYNC_TIMEOUT_MS;
    if (bad || orchd_body_duration(rq, b, "timeout", &timeout) ||
        !(row = orchd_inst_of_path(rq)) || !(be = orchd_live_backend(rq, row, 1)))
        goto out;
    if (!json_object_get(row, "backend_id")) {
        orchd_fail(rq, 409, "conflict", "instance %s is still being created", rq->params[0]);
        goto out;
    }
    x_req.timeout_ms = timeout;
    const char *refused = NULL;
    struct orchd_exec *x =
        orchd_exec_new(d, row, shown, rq->token ? rq->token->name : "anonymous", &refused);
    if (!x) {
        orchd_fail(rq, strstr(refused, "stopping") ? 503 : 429, "unavailable", "%s", refused);
        goto out;
    }
    orchd_inst_touch(d, rq->params[0]);
    struct oc_req_instance ref = orchd_inst_ref(row);
    json_t *req = oc_req_instance_exec(orchd_job_ctx(d, 0), json_incref(be), &ref, &x_req);
    if (orchd_exec_start(x, req, timeout, async) != 0)
        orchd_fail(rq, 500, "internal", "cannot start the execution");
    else
        orchd_reply(rq, async ? 202 : 200,
                    json_pack("{s:o}", "execution", orchd_exec_json(x, !async)));
    orchd_exec_unref(x);
out:
    json_decref(be);
    json_decref(row);
    json_decref(shown);
    json_decref(x_req.argv);
    json_decref(b);
}

void orchd_executions_list(struct orchd_req *rq)
{
    json_t *row = orchd_inst_of_path(rq);
    if (!row)
        return;
    json_decref(row);
    orchd_reply(rq, 200, json_pack("{s:o}", "executions", orchd_execs_of(rq->d, rq->params[0])));
}

/* The path's execution, held; NULL after a 404 answer. */
static struct orchd_exec *orchd_exec_of_path(struct orchd_req *rq)
{
    struct orchd_exec *x = orchd_exec_find(rq->d, rq->params[0], rq->params[1]);
    if (!x)
        orchd_fail(rq, 404, "not_found", "no execution %s on instance %s (executions are kept "
                   "in the daemon's memory for an hour after they end)",
                   rq->params[1], rq->params[0]);
    return x;
}

void orchd_executions_get(struct orchd_req *rq)
{
    struct orchd_exec *x = orchd_exec_of_path(rq);
    if (!x)
        return;
    int output;
    if (orchd_query_bool(rq, "output", 1, &output) == 0)
        orchd_reply(rq, 200, json_pack("{s:o}", "execution", orchd_exec_json(x, output)));
    orchd_exec_unref(x);
}

void orchd_executions_output(struct orchd_req *rq)
{
    struct orchd_exec *x = orchd_exec_of_path(rq);
    if (!x)
        return;
    int follow;
    if (orchd_query_bool(rq, "follow", 0, &follow)) {
        orchd_exec_unref(x);
        return;
    }
    rq->status = 200;
    if (follow) {
        rq->stream = orchd_exec_stream(x);
        return;
    }
    rq->text = orchd_exec_text(x);
    orchd_exec_unref(x);
}

void orchd_executions_cancel(struct orchd_req *rq)
{
    struct orchd_exec *x = orchd_exec_of_path(rq);
    if (!x)
        return;
    orchd_exec_cancel(x);
    orchd_reply(rq, 202, json_pack("{s:o}", "execution", orchd_exec_json(x, 0)));
    orchd_exec_unref(x);
}
