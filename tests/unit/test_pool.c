/* The executor pool against the real orch-exec: crashes and hangs fail one
 * job and the pool goes on; executors are reused; output streams. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "exec/pool.h"
#include "exec/request.h"
#include "registry.h"
#include "util.h"

struct t_job {
    int done;
    orch_status status;
    char *message;
    json_t *result;
    struct oc_buf out;
    json_t *outputs;
};

static void t_stream(void *ud, uint32_t stream, const char *data, size_t len)
{
    struct t_job *j = ud;
    if (stream == ORCH_STREAM_STDOUT)
        oc_buf_add(&j->out, data, len);
}

static void t_output(void *ud, const char *k, const char *v)
{
    struct t_job *j = ud;
    json_object_set_new(j->outputs, k, json_string(v));
}

static void t_done(void *ud, orch_status st, const char *msg, json_t *result)
{
    struct t_job *j = ud;
    j->done = 1;
    j->status = st;
    j->message = msg ? oc_xstrdup(msg) : NULL;
    j->result = json_incref(result);
}

static const struct oc_job_cbs t_cbs = {.on_stream = t_stream, .on_output = t_output,
                                        .on_done = t_done};

static char *t_plugin_path(void)
{
    const char *d = getenv("ORCH_TEST_PLUGIN_DIR");
    assert_non_null(d);
    return oc_xasprintf("%s/step-crash.so", d);
}

static const struct oc_req_site t_site = {"/tmp", "/tmp", NULL};
static struct oc_plugin t_local = {.id = "backend-local", .path = "builtin", .builtin = 1};
static struct oc_plugin t_exec = {.id = "step-exec", .path = "builtin", .builtin = 1};

static json_t *t_bare_ctx(void)
{
    struct oc_req_ctx c = {0};
    return oc_req_ctx(&t_site, &c);
}

static json_t *t_crash_req(const char *mode, int64_t timeout_ms)
{
    char *path = t_plugin_path();
    struct oc_plugin crash = {.id = "step-crash", .path = path};
    struct oc_req_ctx c = {.run_id = "r", .step_id = "s", .attempt = 1,
                           .timeout_ms = timeout_ms};
    json_t *r = oc_req_step_run(oc_req_ctx(&t_site, &c),
                                oc_req_plugin("s", &crash, json_pack("{s:s}", "mode", mode)),
                                NULL, NULL, NULL);
    free(path);
    return r;
}

static void t_run(struct oc_pool *p, json_t *req, int64_t deadline_ns, struct t_job *j)
{
    memset(j, 0, sizeof *j);
    j->outputs = json_object();
    uint64_t id;
    assert_int_equal(oc_pool_submit(p, req, deadline_ns, &t_cbs, j, &id), 0);
    while (!j->done)
        oc_pool_poll(p, 1000);
}

static void t_free(struct t_job *j)
{
    free(j->message);
    json_decref(j->result);
    json_decref(j->outputs);
    oc_buf_free(&j->out);
}

static struct oc_pool *t_pool(uint32_t n)
{
    char *exec = oc_exec_find();
    assert_non_null(exec);
    struct oc_pool *p = oc_pool_new(exec, n);
    free(exec);
    return p;
}

static void test_crash_fails_one_job_and_the_pool_goes_on(void **state)
{
    (void)state;
    struct oc_pool *p = t_pool(1);
    struct t_job j;
    t_run(p, t_crash_req("segv", 0), 0, &j);
    assert_int_equal(j.status, ORCH_E_PLUGIN_CRASHED);
    assert_non_null(strstr(j.message, "SIGSEGV"));
    assert_non_null(strstr(j.message, "step-crash"));
    t_free(&j);
    t_run(p, t_crash_req("exit", 0), 0, &j);
    assert_int_equal(j.status, ORCH_E_PLUGIN_CRASHED);
    assert_non_null(strstr(j.message, "exited with status 3"));
    t_free(&j);
    t_run(p, t_crash_req("ok", 0), 0, &j);
    assert_int_equal(j.status, ORCH_OK);
    assert_non_null(json_object_get(j.outputs, "pid"));
    t_free(&j);
    oc_pool_free(p);
}

static void test_executor_reused(void **state)
{
    (void)state;
    struct oc_pool *p = t_pool(1);
    struct t_job a, b;
    t_run(p, t_crash_req("ok", 0), 0, &a);
    t_run(p, t_crash_req("ok", 0), 0, &b);
    assert_string_equal(json_string_value(json_object_get(a.outputs, "pid")),
                        json_string_value(json_object_get(b.outputs, "pid")));
    t_free(&a);
    t_free(&b);
    oc_pool_free(p);
}

static void test_hang_deadline_and_cancel(void **state)
{
    (void)state;
    struct oc_pool *p = t_pool(2);
    struct t_job j;
    t_run(p, t_crash_req("hang", 0), oc_now_mono_ns() + 300000000LL, &j);
    assert_int_equal(j.status, ORCH_E_TIMEOUT);
    assert_non_null(strstr(j.message, "deadline"));
    t_free(&j);
    memset(&j, 0, sizeof j);
    j.outputs = json_object();
    uint64_t id;
    assert_int_equal(oc_pool_submit(p, t_crash_req("hang", 0), 0, &t_cbs, &j, &id), 0);
    oc_pool_poll(p, 50);
    oc_pool_cancel(p, id, 200);
    while (!j.done)
        oc_pool_poll(p, 1000);
    assert_int_equal(j.status, ORCH_E_CANCELLED);
    t_free(&j);
    oc_pool_free(p);
}

static void test_capacity(void **state)
{
    (void)state;
    struct oc_pool *p = t_pool(2);
    struct t_job j[3];
    memset(j, 0, sizeof j);
    uint64_t id;
    for (int i = 0; i < 2; i++) {
        j[i].outputs = json_object();
        assert_int_equal(oc_pool_submit(p, t_crash_req("ok", 0), 0, &t_cbs, &j[i], &id), 0);
    }
    assert_int_equal(oc_pool_busy(p), 2);
    /* full: the request is refused (and freed), not queued */
    assert_int_equal(oc_pool_submit(p, t_crash_req("ok", 0), 0, &t_cbs, &j[2], &id), -1);
    while (!j[0].done || !j[1].done)
        oc_pool_poll(p, 1000);
    assert_int_equal(oc_pool_busy(p), 0);
    t_free(&j[0]);
    t_free(&j[1]);
    oc_pool_free(p);
}

static void test_exec_step_streams_on_a_local_instance(void **state)
{
    (void)state;
    char dir[] = "/tmp/orch-pool-XXXXXX";
    assert_non_null(mkdtemp(dir));
    struct oc_pool *p = t_pool(1);
    json_t *backend = oc_req_plugin("local", &t_local, json_pack("{s:s}", "root", dir));
    struct t_job j;
    struct oc_req_spec spec = {.instance_id = "i-1", .run_id = "r"};
    t_run(p, oc_req_instance_create(t_bare_ctx(), json_incref(backend), &spec), 0, &j);
    assert_int_equal(j.status, ORCH_OK);
    const char *bid = json_string_value(json_object_get(j.result, "backend_id"));
    assert_string_equal(bid, "i-1");
    t_free(&j);
    struct oc_req_instance ref = {.id = "i-1", .backend_id = "i-1"};
    t_run(p, oc_req_step_run(t_bare_ctx(),
                             oc_req_plugin("echo", &t_exec,
                                           json_pack("{s:s,s:b}", "run", "echo hi; echo err >&2",
                                                     "capture", 1)),
                             NULL, json_incref(backend), &ref),
          0, &j);
    assert_int_equal(j.status, ORCH_OK);
    assert_string_equal(j.out.data, "hi\n");
    assert_string_equal(json_string_value(json_object_get(j.outputs, "stdout")), "hi");
    assert_string_equal(json_string_value(json_object_get(j.outputs, "exit_code")), "0");
    t_free(&j);
    t_run(p, oc_req_instance_release(t_bare_ctx(), json_incref(backend), &ref), 0, &j);
    assert_int_equal(j.status, ORCH_OK);
    t_free(&j);
    char *inst = oc_xasprintf("%s/i-1", dir);
    assert_int_equal(access(inst, F_OK), -1);
    free(inst);
    json_decref(backend);
    oc_pool_free(p);
    oc_rm_rf(dir);
}

/* orch-exec decodes before it dispatches: an operation outside the table
 * and a reap that would match everything are protocol errors, and the
 * executor goes on serving. */
static void test_executor_refuses_malformed_requests(void **state)
{
    (void)state;
    struct oc_pool *p = t_pool(1);
    struct t_job j;
    t_run(p, json_pack("{s:s,s:{}}", "op", "instance.nuke", "ctx"), 0, &j);
    assert_int_equal(j.status, ORCH_E_PROTOCOL);
    assert_non_null(strstr(j.message, "unknown op 'instance.nuke'"));
    t_free(&j);
    json_t *reap_all = oc_req_instance_list_owned(
        t_bare_ctx(), oc_req_plugin("local", &t_local, NULL), NULL);
    json_object_set_new(reap_all, "op", json_string("instance.reap"));
    t_run(p, reap_all, 0, &j);
    assert_int_equal(j.status, ORCH_E_PROTOCOL);
    assert_non_null(strstr(j.message, "no 'match'"));
    t_free(&j);
    t_run(p, t_crash_req("ok", 0), 0, &j);
    assert_int_equal(j.status, ORCH_OK);
    t_free(&j);
    oc_pool_free(p);
}

int main(void)
{
    /* Under AddressSanitizer a SIGSEGV would be reported as an abort. */
    const char *asan = getenv("ASAN_OPTIONS");
    char *opts = oc_xasprintf("%s%shandle_segv=0", asan ? asan : "", asan && *asan ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
    free(opts);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crash_fails_one_job_and_the_pool_goes_on),
        cmocka_unit_test(test_executor_reused),
        cmocka_unit_test(test_hang_deadline_and_cancel),
        cmocka_unit_test(test_capacity),
        cmocka_unit_test(test_exec_step_streams_on_a_local_instance),
        cmocka_unit_test(test_executor_refuses_malformed_requests),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
