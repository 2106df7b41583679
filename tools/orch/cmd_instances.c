/* orch --server URL instances ...: backend instances without a workflow,
 * through a daemon (instances live in its ownership ledger and are reaped
 * by it). `exec` behaves like ssh: the command's output on ours, its exit
 * status as ours (124 when it timed out, as timeout(1) has it). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "util.h"

#define CLI_EXIT_TIMED_OUT 124
#define CLI_EXIT_CANCELLED 130

static const char cli_instances_usage[] =
    "usage: orch --server URL instances COMMAND\n"
    "  create BACKEND [--image I] [--size S] [--region R] [--label K=V]...\n"
    "                 [--env K=V]... [--timeout D]    prints the instance id\n"
    "  list [--all] [--backend B]\n"
    "  show ID\n"
    "  exec ID [--async] [--timeout D] [--env K=V]... [--cwd DIR] [--stdin-file F]\n"
    "          (--shell 'COMMAND LINE' | -- PROGRAM [ARGS...])\n"
    "  executions ID\n"
    "  output ID EXECUTION [--follow]\n"
    "  cancel ID EXECUTION\n"
    "  destroy ID\n"
    "the token comes from $ORCH_TOKEN or --token-file FILE.\n";

static int cli_inst_usage(void)
{
    fputs(cli_instances_usage, stderr);
    return CLI_EXIT_USAGE;
}

/* K=V into obj; -1 (printed) when malformed. */
static int cli_kv(json_t *obj, const char *what, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv) {
        cli_err("%s wants K=V, got '%s'", what, kv);
        return -1;
    }
    char *k = oc_xstrndup(kv, (size_t)(eq - kv));
    json_object_set_new(obj, k, json_string(eq + 1));
    free(k);
    return 0;
}

static int cli_inst_create(struct cli *c, int argc, char **argv)
{
    json_t *b = json_pack("{s:s,s:{},s:{}}", "backend", argv[0], "env", "labels");
    static const char *const texts[] = {"--image", "--size", "--region", "--timeout"};
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        while (k < 4 && strcmp(argv[i], texts[k]))
            k++;
        if (i + 1 >= argc) {
            json_decref(b);
            return cli_inst_usage();
        }
        if (k < 4) {
            json_object_set_new(b, texts[k] + 2, json_string(argv[++i]));
        } else if (!strcmp(argv[i], "--label") || !strcmp(argv[i], "--env")) {
            int env = !strcmp(argv[i], "--env");
            if (cli_kv(json_object_get(b, env ? "env" : "labels"), argv[i], argv[i + 1])) {
                json_decref(b);
                return CLI_EXIT_USAGE;
            }
            i++;
        } else {
            json_decref(b);
            return cli_inst_usage();
        }
    }
    json_t *out;
    int rc = cli_http_call(c, "POST", "/v1/instances", b, &out);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (c->json)
        cli_print_json(json_incref(json_object_get(out, "instance")));
    else
        printf("%s\n", json_string_value(json_object_get(json_object_get(out, "instance"), "id")));
    json_decref(out);
    return CLI_EXIT_OK;
}

static int cli_inst_list(struct cli *c, int argc, char **argv)
{
    struct oc_buf path = {0};
    oc_buf_adds(&path, "/v1/instances?status=true");
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--all")) {
            oc_buf_adds(&path, "&all=true");
        } else if (!strcmp(argv[i], "--backend") && i + 1 < argc) {
            char *v = cli_seg(argv[++i]);
            oc_buf_addf(&path, "&backend=%s", v);
            free(v);
        } else {
            oc_buf_free(&path);
            return cli_inst_usage();
        }
    }
    json_t *out;
    int rc = cli_http_call(c, "GET", path.data, NULL, &out);
    oc_buf_free(&path);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *list = json_object_get(out, "instances");
    if (c->json) {
        cli_print_json(json_incref(list));
    } else {
        printf("%-24s %-12s %-10s %-10s %-24s %s\n", "INSTANCE", "BACKEND", "STATE", "BACKEND",
               "RUN", "LAST USED");
        size_t i;
        json_t *x;
        json_array_foreach(list, i, x) {
            char when[32];
            cli_fmt_time(when, sizeof when, json_object_get(x, "last_used"));
            const char *run = json_string_value(json_object_get(x, "run_id"));
            const char *bs = json_string_value(json_object_get(x, "backend_state"));
            printf("%-24s %-12s %-10s %-10s %-24s %s\n",
                   json_string_value(json_object_get(x, "id")),
                   json_string_value(json_object_get(x, "backend")),
                   json_string_value(json_object_get(x, "state")), bs ? bs : "-",
                   run ? run : "-", when);
        }
    }
    json_decref(out);
    return CLI_EXIT_OK;
}

/* GET/DELETE on /v1/instances/ID[/executions[/EXEC]][SUFFIX], JSON out. */
static int cli_inst_simple(struct cli *c, const char *method, const char *id,
                           const char *exec, const char *key)
{
    char *sid = cli_seg(id), *sx = exec ? cli_seg(exec) : NULL;
    char *path = sx ? oc_xasprintf("/v1/instances/%s/executions/%s", sid, sx)
                 : !strcmp(key, "executions") ? oc_xasprintf("/v1/instances/%s/executions", sid)
                                              : oc_xasprintf("/v1/instances/%s", sid);
    free(sid);
    free(sx);
    json_t *out;
    int rc = cli_http_call(c, method, path, NULL, &out);
    free(path);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *v = json_object_get(out, key);
    if (c->json || strcmp(method, "DELETE")) {
        cli_print_json(json_incref(v));
    } else {
        const char *state = json_string_value(json_object_get(v, "state"));
        printf("%s %s: %s\n", exec ? "execution" : "instance", exec ? exec : id,
               state ? state : "done");
    }
    json_decref(out);
    return CLI_EXIT_OK;
}

/* The exit status an ended execution stands for. */
static int cli_exec_status(json_t *x)
{
    const char *state = json_string_value(json_object_get(x, "state"));
    const char *err = json_string_value(json_object_get(x, "error"));
    if (state && !strcmp(state, "exited")) {
        int code = (int)json_integer_value(json_object_get(x, "exit_code"));
        int sig = (int)json_integer_value(json_object_get(x, "signal"));
        return sig ? 128 + sig : code < 0 ? CLI_EXIT_FAILED : code;
    }
    cli_err("execution %s: %s", state ? state : "failed", err ? err : "no reason given");
    if (state && !strcmp(state, "timed_out"))
        return CLI_EXIT_TIMED_OUT;
    if (state && !strcmp(state, "cancelled"))
        return CLI_EXIT_CANCELLED;
    return CLI_EXIT_FAILED;
}

static int cli_inst_exec(struct cli *c, int argc, char **argv)
{
    json_t *b = json_pack("{s:{}}", "env");
    int i = 1, async = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (!strcmp(a, "--async")) {
            async = 1;
            continue;
        }
        if (i + 1 >= argc)
            goto usage;
        if (!strcmp(a, "--timeout") || !strcmp(a, "--cwd")) {
            json_object_set_new(b, a + 2, json_string(argv[++i]));
        } else if (!strcmp(a, "--shell")) {
            json_object_set_new(b, "command", json_string(argv[++i]));
        } else if (!strcmp(a, "--env")) {
            if (cli_kv(json_object_get(b, "env"), a, argv[++i])) {
                json_decref(b);
                return CLI_EXIT_USAGE;
            }
        } else if (!strcmp(a, "--stdin-file")) {
            size_t len;
            char *data = oc_read_file(argv[++i], &len);
            if (!data) {
                cli_err("cannot read %s", argv[i]);
                json_decref(b);
                return CLI_EXIT_USAGE;
            }
            json_object_set_new(b, "stdin", json_stringn(data, len));
            free(data);
        } else {
            goto usage;
        }
    }
    if (i < argc) {
        json_t *av = json_array();
        for (; i < argc; i++)
            json_array_append_new(av, json_string(argv[i]));
        json_object_set_new(b, "argv", av);
    }
    if (!json_object_get(b, "argv") == !json_object_get(b, "command"))
        goto usage;
    json_object_set_new(b, "async", json_boolean(async));
    char *sid = cli_seg(argv[0]);
    char *path = oc_xasprintf("/v1/instances/%s/exec", sid);
    free(sid);
    json_t *out;
    int rc = cli_http_call(c, "POST", path, b, &out);
    free(path);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *x = json_object_get(out, "execution");
    if (c->json) {
        cli_print_json(json_incref(x));
    } else if (async) {
        printf("%s\n", json_string_value(json_object_get(x, "id")));
    } else {
        fputs(json_string_value(json_object_get(x, "stdout")), stdout);
        fflush(stdout);
        fputs(json_string_value(json_object_get(x, "stderr")), stderr);
        if (json_is_true(json_object_get(x, "output_truncated")))
            cli_err("the output was longer than the daemon keeps; the rest was dropped");
    }
    rc = async ? CLI_EXIT_OK : cli_exec_status(x);
    json_decref(out);
    return rc;
usage:
    json_decref(b);
    return cli_inst_usage();
}

struct cli_exec_tail {
    int status;
};

static int cli_exec_event(void *ud, const char *event, json_t *data)
{
    struct cli_exec_tail *t = ud;
    if (!strcmp(event, "output")) {
        const char *s = json_string_value(json_object_get(data, "stream"));
        FILE *f = s && !strcmp(s, "stderr") ? stderr : stdout;
        fputs(json_string_value(json_object_get(data, "data")), f);
        fflush(f);
    } else if (!strcmp(event, "end")) {
        t->status = cli_exec_status(data);
    }
    return 0;
}

static int cli_inst_output(struct cli *c, int argc, char **argv)
{
    int follow = argc > 2 && (!strcmp(argv[2], "--follow") || !strcmp(argv[2], "-f"));
    if (argc > 2 + follow)
        return cli_inst_usage();
    char *sid = cli_seg(argv[0]), *sx = cli_seg(argv[1]);
    char *path = oc_xasprintf("/v1/instances/%s/executions/%s/output?follow=%s", sid, sx,
                              follow ? "true" : "false");
    free(sid);
    free(sx);
    struct cli_http_res res;
    struct cli_exec_tail t = {CLI_EXIT_OK};
    int rc = follow ? cli_http_events(c, "GET", path, NULL, cli_exec_event, &t, &res)
                    : cli_http(c, "GET", path, NULL, &res);
    free(path);
    if (rc != 0)
        return CLI_EXIT_USAGE;
    if (res.status != 200) {
        rc = cli_http_fail(c, &res);
    } else {
        if (!follow)
            fwrite(res.body, 1, res.len, stdout);
        rc = t.status;
    }
    cli_http_res_free(&res);
    return rc;
}

int cmd_instances(struct cli *c, int argc, char **argv)
{
    if (argc < 1 || cli_wants_help(argc, argv)) {
        fputs(cli_instances_usage, argc < 1 ? stderr : stdout);
        return argc < 1 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    if (!c->server) {
        cli_err("instances are kept by a daemon: give --server URL or set ORCH_SERVER");
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[0];
    argc--;
    argv++;
    if (!strcmp(sub, "list"))
        return cli_inst_list(c, argc, argv);
    if (argc < 1)
        return cli_inst_usage();
    if (!strcmp(sub, "create"))
        return cli_inst_create(c, argc, argv);
    if (!strcmp(sub, "exec"))
        return cli_inst_exec(c, argc, argv);
    if (!strcmp(sub, "show") && argc == 1)
        return cli_inst_simple(c, "GET", argv[0], NULL, "instance");
    if (!strcmp(sub, "destroy") && argc == 1)
        return cli_inst_simple(c, "DELETE", argv[0], NULL, "instance");
    if (!strcmp(sub, "executions") && argc == 1)
        return cli_inst_simple(c, "GET", argv[0], NULL, "executions");
    if (!strcmp(sub, "cancel") && argc == 2)
        return cli_inst_simple(c, "DELETE", argv[0], argv[1], "execution");
    if (!strcmp(sub, "output") && argc >= 2)
        return cli_inst_output(c, argc, argv);
    cli_err("instances: unknown or incomplete subcommand '%s'", sub);
    return cli_inst_usage();
}
