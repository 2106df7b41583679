/* The executor protocol (core/exec/request.h): every operation built by
 * its builder, sent as JSON text and decoded as orch-exec decodes it comes
 * back with the same fields; unknown operations and requests missing a
 * required field are refused with a protocol error naming what. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "exec/request.h"
#include "host.h"
#include "registry.h"

static struct oc_plugin t_step_plugin = {.id = "step-exec", .path = "/p/step-exec.so"};
static struct oc_plugin t_local_plugin = {.id = "backend-local", .path = "builtin", .builtin = 1};
static struct oc_plugin_ref t_local = {.name = "loc\"al", .plugin = &t_local_plugin};
static const struct oc_req_site t_site = {"/tmp/orch-t", "/state", "/bin/orch-exec"};
/* A quote and a backslash in every id: the wire must carry them intact. */
static const struct oc_req_instance t_inst = {"i-\"1\\", "b-\"1", "h\"1"};

/* What orch-exec receives: the request as JSON text, parsed again. */
static json_t *t_wire(json_t *req)
{
    assert_non_null(req);
    char *text = json_dumps(req, JSON_COMPACT);
    json_decref(req);
    assert_non_null(text);
    json_t *back = json_loads(text, 0, NULL);
    free(text);
    assert_non_null(back);
    return back;
}

static json_t *t_ctx(void)
{
    struct oc_req_ctx c = {.timeout_ms = 1234};
    return oc_req_ctx(&t_site, &c);
}

static void t_decode_ok(json_t *req, struct oc_req *out)
{
    struct orch_error err;
    oc_error_init(&err);
    orch_status rc = oc_req_decode(req, out, &err);
    if (rc != ORCH_OK)
        fail_msg("decode refused: %s", oc_error_text(&err));
    oc_error_clear(&err);
}

static void t_decode_refused(json_t *req, const char *needle)
{
    struct oc_req out;
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(oc_req_decode(req, &out, &err), ORCH_E_PROTOCOL);
    if (!strstr(oc_error_text(&err), needle))
        fail_msg("message '%s' does not name '%s'", oc_error_text(&err), needle);
    oc_error_clear(&err);
    json_decref(req);
}

static void t_instance_is(const struct oc_req *rq, const struct oc_req_instance *in)
{
    assert_true(rq->has_instance);
    assert_string_equal(rq->instance.id, in->id);
    assert_string_equal(rq->instance.backend_id, in->backend_id);
    assert_string_equal(rq->instance.handle, in->handle);
}

static void t_backend_is_local(const struct oc_req *rq)
{
    assert_true(rq->has_backend);
    assert_string_equal(rq->backend.name, "loc\"al");
    assert_string_equal(rq->backend.id, "backend-local");
    assert_null(rq->backend.path);
    /* The core adds no option for a plugin by its name: the local backend
     * finds its work dirs from ctx state_dir itself. */
    assert_null(json_object_get(rq->backend.with, "root"));
}

static void test_op_table(void **state)
{
    (void)state;
    for (unsigned i = 0; i < OC_REQ_N_OPS; i++) {
        const char *name = oc_req_op_name((enum oc_req_op)i);
        assert_non_null(name);
        enum oc_req_op op;
        assert_int_equal(oc_req_op_parse(name, &op), 0);
        assert_int_equal(op, i);
        for (unsigned j = 0; j < i; j++)
            assert_string_not_equal(name, oc_req_op_name((enum oc_req_op)j));
    }
    enum oc_req_op op;
    assert_int_equal(oc_req_op_parse("step.plan", &op), -1);
    assert_int_equal(oc_req_op_parse("", &op), -1);
    assert_int_equal(oc_req_op_parse(NULL, &op), -1);
    assert_null(oc_req_op_name(OC_REQ_N_OPS));
}

static void test_step_run(void **state)
{
    (void)state;
    json_t *secrets = json_pack("{s:s}", "TOKEN", "s\"3cret");
    json_t *env = json_pack("{s:s}", "A", "1");
    json_t *senv = json_pack("{s:s}", "ORCH_SECRET_TOKEN", "s\"3cret");
    struct oc_req_ctx c = {.run_id = "r-\"1", .step_id = "build", .attempt = 3,
                           .workflow = "ci", .dry_run = 1, .timeout_ms = 5000,
                           .host_paths = "/a\n/b", .secrets = secrets, .env = env,
                           .secret_env = senv};
    json_t *req = t_wire(oc_req_step_run(
        oc_req_ctx(&t_site, &c), oc_req_plugin("build", &t_step_plugin,
                                               json_pack("{s:s}", "run", "echo \"hi\"")),
        oc_req_plugin(NULL, &t_step_plugin, NULL), oc_req_backend(&t_site, &t_local), &t_inst));
    json_decref(secrets);
    json_decref(env);
    json_decref(senv);
    struct oc_req rq;
    t_decode_ok(req, &rq);
    assert_int_equal(rq.op, OC_REQ_STEP_RUN);
    assert_string_equal(rq.ctx.run_id, "r-\"1");
    assert_string_equal(rq.ctx.step_id, "build");
    assert_int_equal(rq.ctx.attempt, 3);
    assert_string_equal(rq.ctx.workflow, "ci");
    assert_true(rq.ctx.dry_run);
    assert_int_equal(rq.ctx.timeout_ms, 5000);
    assert_string_equal(rq.ctx.host_paths, "/a\n/b");
    assert_string_equal(rq.tmpdir, "/tmp/orch-t");
    assert_string_equal(rq.state_dir, "/state");
    assert_string_equal(json_string_value(json_object_get(rq.ctx.secrets, "TOKEN")), "s\"3cret");
    assert_string_equal(json_string_value(json_object_get(rq.ctx.env, "A")), "1");
    assert_non_null(json_object_get(rq.ctx.secret_env, "ORCH_SECRET_TOKEN"));
    assert_true(rq.has_step);
    assert_string_equal(rq.step.name, "build");
    assert_string_equal(rq.step.id, "step-exec");
    assert_string_equal(rq.step.path, "/p/step-exec.so");
    assert_string_equal(json_string_value(json_object_get(rq.step.with, "run")), "echo \"hi\"");
    assert_true(rq.has_artifacts);
    assert_null(rq.artifacts.name);
    assert_string_equal(rq.artifacts.id, "step-exec");
    t_backend_is_local(&rq);
    t_instance_is(&rq, &t_inst);
    json_decref(req);

    /* A step on no instance: no backend, no instance, no artifacts. */
    struct oc_req_ctx bare = {0};
    req = t_wire(oc_req_step_run(oc_req_ctx(&t_site, &bare),
                                 oc_req_plugin("s", &t_step_plugin, NULL), NULL, NULL, NULL));
    t_decode_ok(req, &rq);
    assert_string_equal(rq.ctx.run_id, "");
    assert_null(rq.ctx.step_id);
    assert_int_equal(rq.ctx.attempt, 0);
    assert_null(rq.ctx.secrets);
    assert_false(rq.has_backend || rq.has_instance || rq.has_artifacts);
    json_decref(req);
}

static void test_instance_create(void **state)
{
    (void)state;
    json_t *labels = json_pack("{s:s}", "orch.instance", "i-\"1\\");
    json_t *image = json_string("alpine:3");
    struct oc_req_spec spec = {.instance_id = "i-\"1\\", .run_id = "r-1", .image = image,
                               .labels = labels};
    json_t *req = t_wire(oc_req_instance_create(t_ctx(), oc_req_backend(&t_site, &t_local),
                                                &spec));
    json_decref(labels);
    json_decref(image);
    struct oc_req rq;
    t_decode_ok(req, &rq);
    assert_int_equal(rq.op, OC_REQ_INSTANCE_CREATE);
    assert_int_equal(rq.ctx.timeout_ms, 1234);
    t_backend_is_local(&rq);
    assert_false(rq.has_instance);
    assert_string_equal(json_string_value(json_object_get(rq.spec, "instance_id")), "i-\"1\\");
    assert_string_equal(json_string_value(json_object_get(rq.spec, "run_id")), "r-1");
    assert_string_equal(json_string_value(json_object_get(rq.spec, "image")), "alpine:3");
    assert_true(json_is_object(json_object_get(rq.spec, "env")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(rq.spec, "labels"), "orch.instance")),
        "i-\"1\\");
    json_decref(req);
}

static void test_destroy_or_reap(void **state)
{
    (void)state;
    json_t *req = t_wire(oc_req_instance_release(t_ctx(), oc_req_backend(&t_site, &t_local),
                                                 &t_inst));
    struct oc_req rq;
    t_decode_ok(req, &rq);
    assert_int_equal(rq.op, OC_REQ_INSTANCE_DESTROY);
    t_backend_is_local(&rq);
    t_instance_is(&rq, &t_inst);
    json_decref(req);

    /* No backend id: the create may not have happened; reap by label. */
    struct oc_req_instance never = {.id = t_inst.id};
    req = t_wire(oc_req_instance_release(t_ctx(), oc_req_backend(&t_site, &t_local), &never));
    t_decode_ok(req, &rq);
    assert_int_equal(rq.op, OC_REQ_INSTANCE_REAP);
    assert_false(rq.has_instance);
    assert_int_equal(json_object_size(rq.match), 1);
    assert_string_equal(json_string_value(json_object_get(rq.match, "orch.instance")),
                        t_inst.id);
    json_decref(req);

    /* Killing the commands an interrupted exec left: its own operation,
     * shaped like destroy. */
    req = t_wire(oc_req_instance_reap_commands(t_ctx(), oc_req_backend(&t_site, &t_local),
                                               &t_inst));
    t_decode_ok(req, &rq);
    assert_int_equal(rq.op, OC_REQ_INSTANCE_REAP_COMMANDS);
    t_backend_is_local(&rq);
    t_instance_is(&rq, &t_inst);
    json_decref(req);
    req = json_pack("{s:s,s:{},s:{s:s,s:n}}", "op", "instance.reap_commands", "ctx", "backend",
                    "id", "backend-local", "path");
    struct orch_error err;
    oc_error_init(&err);
    assert_int_not_equal(oc_req_decode(req, &rq, &err), ORCH_OK); /* no instance */
    oc_error_clear(&err);
    json_decref(req);
}

static void test_status_list_exec(void **state)
{
    (void)state;
    json_t *req = t_wire(oc_req_instance_status(t_ctx(), oc_req_backend(&t_site, &t_local),
                                                &t_inst));
    struct oc_req rq;
    t_decode_ok(req, &rq);
    assert_int_equal(rq.op, OC_REQ_INSTANCE_STATUS);
    t_instance_is(&rq, &t_inst);
    json_decref(req);

    json_t *match = json_pack("{s:s}", "orch.api", "instances");
    req = t_wire(oc_req_instance_list_owned(t_ctx(), oc_req_backend(&t_site, &t_local), match));
    json_decref(match);
    t_decode_ok(req, &rq);
    assert_int_equal(rq.op, OC_REQ_INSTANCE_LIST_OWNED);
    t_backend_is_local(&rq);
    assert_string_equal(json_string_value(json_object_get(rq.match, "orch.api")), "instances");
    json_decref(req);

    json_t *argv = json_pack("[s]", "echo \"$X\"");
    json_t *env = json_pack("{s:s}", "X", "1");
    json_t *cwd = json_string("/w");
    json_t *in = json_string("data");
    struct oc_req_exec x = {.argv = argv, .shell = 1, .env = env, .cwd = cwd,
                            .stdin_text = in, .timeout_ms = 60000};
    req = t_wire(oc_req_instance_exec(t_ctx(), oc_req_backend(&t_site, &t_local), &t_inst, &x));
    json_decref(argv);
    json_decref(env);
    json_decref(cwd);
    json_decref(in);
    t_decode_ok(req, &rq);
    assert_int_equal(rq.op, OC_REQ_INSTANCE_EXEC);
    t_instance_is(&rq, &t_inst);
    assert_string_equal(json_string_value(json_array_get(json_object_get(rq.exec, "argv"), 0)),
                        "echo \"$X\"");
    assert_true(json_is_true(json_object_get(rq.exec, "shell")));
    assert_string_equal(json_string_value(json_object_get(json_object_get(rq.exec, "env"), "X")),
                        "1");
    assert_string_equal(json_string_value(json_object_get(rq.exec, "cwd")), "/w");
    assert_string_equal(json_string_value(json_object_get(rq.exec, "stdin")), "data");
    assert_int_equal(json_integer_value(json_object_get(rq.exec, "timeout_ms")), 60000);
    json_decref(req);
}

static json_t *t_destroy(void)
{
    return t_wire(oc_req_instance_release(t_ctx(), oc_req_backend(&t_site, &t_local), &t_inst));
}

static void test_refusals(void **state)
{
    (void)state;
    t_decode_refused(json_pack("[]"), "not a JSON object");
    t_decode_refused(json_pack("{s:{}}", "ctx"), "without an op");
    t_decode_refused(json_pack("{s:s,s:{}}", "op", "step.plan", "ctx"), "unknown op 'step.plan'");
    t_decode_refused(json_pack("{s:s,s:{}}", "op", "instance.nuke", "ctx"), "instance.nuke");

    json_t *r = t_destroy();
    json_object_del(r, "ctx");
    t_decode_refused(r, "'ctx'");
    r = t_destroy();
    json_object_set_new(json_object_get(r, "ctx"), "run_id", json_integer(1));
    t_decode_refused(r, "ctx field");
    r = t_destroy();
    json_object_del(r, "backend");
    t_decode_refused(r, "no 'backend'");
    r = t_destroy();
    json_object_del(json_object_get(r, "backend"), "id");
    json_object_del(json_object_get(r, "backend"), "path");
    t_decode_refused(r, "'backend' must be a plugin spec");
    r = t_destroy();
    json_object_del(r, "instance");
    t_decode_refused(r, "'instance'");
    r = t_destroy();
    json_object_del(json_object_get(r, "instance"), "backend_id");
    t_decode_refused(r, "backend_id");

    struct oc_req_ctx bare = {0};
    r = t_wire(oc_req_step_run(oc_req_ctx(&t_site, &bare),
                               oc_req_plugin("s", &t_step_plugin, NULL), NULL, NULL, NULL));
    json_object_del(r, "step");
    t_decode_refused(r, "no 'step'");
    r = t_wire(oc_req_step_run(oc_req_ctx(&t_site, &bare),
                               oc_req_plugin("s", &t_step_plugin, NULL), NULL, NULL, NULL));
    json_object_set_new(json_object_get(r, "step"), "with", json_string("x"));
    t_decode_refused(r, "'step' must be a plugin spec");
    r = t_wire(oc_req_step_run(oc_req_ctx(&t_site, &bare),
                               oc_req_plugin("s", &t_step_plugin, NULL), NULL,
                               oc_req_backend(&t_site, &t_local), &t_inst));
    json_object_del(r, "instance");
    t_decode_refused(r, "'instance'");

    struct oc_req_spec spec = {.instance_id = "i-1"};
    r = t_wire(oc_req_instance_create(t_ctx(), oc_req_backend(&t_site, &t_local), &spec));
    json_object_del(json_object_get(r, "spec"), "instance_id");
    t_decode_refused(r, "instance_id");

    struct oc_req_instance never = {.id = "i-1"};
    r = t_wire(oc_req_instance_release(t_ctx(), oc_req_backend(&t_site, &t_local), &never));
    json_object_set_new(r, "match", json_object());
    t_decode_refused(r, "no 'match'");

    json_t *argv = json_pack("[s]", "true");
    struct oc_req_exec x = {.argv = argv};
    r = t_wire(oc_req_instance_exec(t_ctx(), oc_req_backend(&t_site, &t_local), &t_inst, &x));
    json_decref(argv);
    json_array_clear(json_object_get(json_object_get(r, "exec"), "argv"));
    t_decode_refused(r, "without a command");

    /* Builders refuse what a request cannot do without. */
    assert_null(oc_req_instance_release(t_ctx(), oc_req_backend(&t_site, &t_local), NULL));
    assert_null(oc_req_instance_status(t_ctx(), NULL, &t_inst));
    assert_null(oc_req_step_run(t_ctx(), NULL, NULL, NULL, NULL));
    assert_null(oc_req_ctx(NULL, &bare));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_op_table),         cmocka_unit_test(test_step_run),
        cmocka_unit_test(test_instance_create),  cmocka_unit_test(test_destroy_or_reap),
        cmocka_unit_test(test_status_list_exec),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
