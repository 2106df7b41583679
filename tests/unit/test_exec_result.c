/* core/exec/result: every result and message built as orch-exec builds
 * it, sent through the wire (dumped and parsed again, as the frame does),
 * and read back as the engine reads it; and what a reader makes of a
 * result that is missing, malformed or from a hostile executor. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "exec/result.h"

/* Through the wire: what the other side parses. Owned. */
static json_t *wire(json_t *j)
{
    assert_non_null(j);
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    assert_non_null(s);
    json_t *back = json_loads(s, 0, NULL);
    free(s);
    assert_non_null(back);
    return back;
}

static void test_step_results(void **state)
{
    (void)state;
    struct oc_res_step in = {.has_exit_code = 1, .exit_code = 7}, out;
    json_t *j = wire(oc_res_step(&in));
    oc_res_step_read(j, &out);
    assert_int_equal(out.has_exit_code, 1);
    assert_int_equal(out.exit_code, 7);
    assert_false(out.instance_gone);
    assert_null(out.plan);
    json_decref(j);

    /* No command ran: no exit code, which is not exit code 0. */
    j = wire(oc_res_step(&(struct oc_res_step){0}));
    oc_res_step_read(j, &out);
    assert_int_equal(out.has_exit_code, 0);
    json_decref(j);

    j = wire(oc_res_step(&(struct oc_res_step){.instance_gone = 1, .backend_id = "m-1"}));
    oc_res_step_read(j, &out);
    assert_true(out.instance_gone);
    assert_string_equal(out.backend_id, "m-1");
    assert_int_equal(out.has_exit_code, 0);
    json_decref(j);

    j = wire(oc_res_step(&(struct oc_res_step){.plan = "would run: make"}));
    oc_res_step_read(j, &out);
    assert_string_equal(out.plan, "would run: make");
    json_decref(j);
}

static void test_instance_results(void **state)
{
    (void)state;
    struct oc_res_created c;
    json_t *j = wire(oc_res_created(&(struct oc_res_created){"c-1", NULL}));
    oc_res_created_read(j, &c);
    assert_string_equal(c.backend_id, "c-1");
    assert_null(c.handle);
    json_decref(j);

    struct oc_res_status s;
    j = wire(oc_res_status(&(struct oc_res_status){ORCH_INST_STOPPED, "exited"}));
    oc_res_status_read(j, &s);
    assert_int_equal(s.state, ORCH_INST_STOPPED);
    assert_string_equal(s.detail, "exited");
    json_decref(j);

    struct oc_res_exec x;
    j = wire(oc_res_exec(&(struct oc_res_exec){.exit_code = 3, .signal = 9,
                                                .duration_ns = 5000000000LL}));
    oc_res_exec_read(j, &x);
    assert_int_equal(x.exit_code, 3);
    assert_int_equal(x.signal, 9);
    assert_int_equal(x.duration_ns, 5000000000LL);
    json_decref(j);

    json_t *list = json_array();
    struct orch_kv labels[] = {{"orch.instance", "i-1"}, {"orch.run", "r-1"}};
    oc_res_owned_add(list, "c-1", "h-1", ORCH_INST_RUNNING, labels, 2);
    oc_res_owned_add(list, "c-2", NULL, ORCH_INST_STOPPED, NULL, 0);
    j = wire(oc_res_owned(list));
    assert_int_equal(oc_res_owned_count(j), 2);
    struct oc_res_owned_item o;
    assert_int_equal(oc_res_owned_at(j, 0, &o), 1);
    assert_string_equal(o.id, "c-1");
    assert_string_equal(o.handle, "h-1");
    assert_int_equal(o.state, ORCH_INST_RUNNING);
    assert_string_equal(json_string_value(json_object_get(o.labels, "orch.instance")), "i-1");
    assert_int_equal(oc_res_owned_at(j, 1, &o), 1);
    assert_null(o.handle);
    assert_int_equal(json_object_size(o.labels), 0);
    assert_int_equal(oc_res_owned_at(j, 2, &o), 0);
    json_decref(j);

    j = wire(oc_res_reaped(4));
    assert_int_equal(oc_res_reaped_read(j), 4);
    json_decref(j);
    j = wire(oc_res_empty());
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
}

static void test_retry_advice(void **state)
{
    (void)state;
    json_t *r = NULL;
    oc_res_set_retry_after(&r, 1500); /* no result yet: one is made */
    json_t *j = wire(r);
    assert_int_equal(oc_res_retry_after(j), 1500);
    json_decref(j);
    r = oc_res_created(&(struct oc_res_created){"c-1", "h"});
    oc_res_set_retry_after(&r, 20);
    j = wire(r);
    assert_int_equal(oc_res_retry_after(j), 20);
    struct oc_res_created c;
    oc_res_created_read(j, &c);
    assert_string_equal(c.backend_id, "c-1"); /* the advice does not hide the result */
    json_decref(j);
    assert_int_equal(oc_res_retry_after(NULL), 0);
}

static void test_messages(void **state)
{
    (void)state;
    struct oc_msg m;
    json_t *j = wire(oc_msg_at("backend.exec"));
    oc_msg_read(j, &m);
    assert_int_equal(m.type, OC_MSG_AT);
    assert_string_equal(m.at, "backend.exec");
    json_decref(j);

    j = wire(oc_msg_output("sha", NULL));
    oc_msg_read(j, &m);
    assert_int_equal(m.type, OC_MSG_OUTPUT);
    assert_string_equal(m.key, "sha");
    assert_string_equal(m.value, "");
    json_decref(j);

    j = wire(oc_msg_event("artifact.stored", "{\"name\":\"a\"}"));
    oc_msg_read(j, &m);
    assert_int_equal(m.type, OC_MSG_EVENT);
    assert_string_equal(m.event, "artifact.stored");
    assert_string_equal(m.data, "{\"name\":\"a\"}");
    assert_int_equal(m.core, 0); /* a plugin's emit: plugin.artifact.stored in the ledger */
    json_decref(j);
    j = wire(oc_msg_event_core("artifact.stored", "{\"name\":\"a\"}"));
    oc_msg_read(j, &m);
    assert_int_equal(m.type, OC_MSG_EVENT);
    assert_int_equal(m.core, 1); /* the executor's own: what orch runs artifacts lists */
    json_decref(j);

    j = wire(oc_msg_done(ORCH_E_TIMEOUT, "too slow", oc_res_reaped(1)));
    oc_msg_read(j, &m);
    assert_int_equal(m.type, OC_MSG_DONE);
    assert_int_equal(m.status, ORCH_E_TIMEOUT);
    assert_string_equal(m.message, "too slow");
    assert_int_equal(oc_res_reaped_read(m.result), 1);
    json_decref(j);

    j = wire(oc_msg_done(ORCH_OK, NULL, NULL));
    oc_msg_read(j, &m);
    assert_int_equal(m.type, OC_MSG_DONE);
    assert_int_equal(m.status, ORCH_OK);
    assert_null(m.message);
    assert_null(m.result);
    json_decref(j);
}

/* An executor is plugin code's process: what it sends is read, never
 * trusted. Wrong types read as "nothing said", never as a crash. */
static void test_hostile_results(void **state)
{
    (void)state;
    static const char *bad[] = {
        "{}", "[]", "{\"exit_code\":\"0\"}", "{\"instance_gone\":1,\"backend_id\":7}",
        "{\"instances\":{}}", "{\"instances\":[1,{\"id\":5},{\"handle\":\"h\"}]}",
        "{\"retry_after_ms\":-5}", "{\"retry_after_ms\":\"10\"}", "{\"state\":\"x\"}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_non_null(j);
        struct oc_res_step st;
        oc_res_step_read(j, &st);
        assert_int_equal(st.has_exit_code, 0);
        assert_null(st.backend_id);
        struct oc_res_created c;
        oc_res_created_read(j, &c);
        assert_null(c.backend_id);
        struct oc_res_status s;
        oc_res_status_read(j, &s);
        assert_int_equal(s.state, 0);
        struct oc_res_owned_item o;
        for (size_t k = 0, n = oc_res_owned_count(j); k < n; k++)
            assert_int_equal(oc_res_owned_at(j, k, &o), 0);
        assert_int_equal(oc_res_retry_after(j), 0);
        struct oc_msg m;
        oc_msg_read(j, &m);
        assert_int_equal(m.type, OC_MSG_INVALID);
        json_decref(j);
    }
    struct oc_msg m;
    oc_msg_read(NULL, &m);
    assert_int_equal(m.type, OC_MSG_INVALID);
    json_t *j = json_loads("{\"output\":5,\"at\":[],\"event\":{}}", 0, NULL);
    oc_msg_read(j, &m);
    assert_int_equal(m.type, OC_MSG_INVALID);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_step_results), cmocka_unit_test(test_instance_results),
        cmocka_unit_test(test_retry_advice), cmocka_unit_test(test_messages),
        cmocka_unit_test(test_hostile_results),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
