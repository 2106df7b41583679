/* core/api_json.c: the API's times read back exactly, null for what has not
 * happened, and the records' JSON with no integer time left in it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "api_json.h"

/* 2026-12-03T14:00:00Z plus 42 ns: as a double it would be ...000000000. */
#define T0 (1796306400LL * 1000000000 + 42)

static void test_time_round_trip(void **state)
{
    (void)state;
    json_t *t = oc_api_time(T0);
    assert_string_equal(json_string_value(t), "2026-12-03T14:00:00.000000042Z");
    int64_t back = 0;
    assert_int_equal(oc_api_time_ns(t, &back), 0);
    assert_true(back == T0);
    json_decref(t);
    /* Every nanosecond of a second keeps its place. */
    for (int64_t ns = T0 - 42; ns < T0 - 42 + 1000000000; ns += 99999989) {
        t = oc_api_time(ns);
        assert_int_equal(oc_api_time_ns(t, &back), 0);
        assert_true(back == ns);
        json_decref(t);
    }
}

static void test_time_null_and_bad(void **state)
{
    (void)state;
    json_t *t = oc_api_time(0);
    assert_true(json_is_null(t));
    int64_t back = 5;
    assert_int_equal(oc_api_time_ns(t, &back), 0);
    assert_true(back == 0);
    json_decref(t);
    json_t *bad[] = {json_integer(T0), json_string("yesterday"), json_true(), NULL};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(oc_api_time_ns(bad[i], &back), -1);
        json_decref(bad[i]);
    }
}

static void test_rename(void **state)
{
    (void)state;
    json_t *row = json_pack("{s:s,s:I,s:I}", "id", "i-1", "created_ns", (json_int_t)T0,
                            "last_used_ns", (json_int_t)0);
    oc_api_time_rename(row, "created_ns", "created");
    oc_api_time_rename(row, "last_used_ns", "last_used");
    oc_api_time_rename(row, "updated_ns", "updated"); /* absent: nothing */
    assert_null(json_object_get(row, "created_ns"));
    assert_null(json_object_get(row, "last_used_ns"));
    assert_null(json_object_get(row, "updated"));
    assert_string_equal(json_string_value(json_object_get(row, "created")),
                        "2026-12-03T14:00:00.000000042Z");
    assert_true(json_is_null(json_object_get(row, "last_used")));
    json_decref(row);
}

static void test_run_and_attempt(void **state)
{
    (void)state;
    struct orch_run_rec r = {.struct_size = sizeof r, .id = "r-1", .workflow = "w",
                             .state = ORCH_RUN_RUNNING, .inputs_json = "{\"a\":\"1\"}",
                             .created_ns = T0, .updated_ns = T0 + 1};
    json_t *j = oc_api_run(&r);
    assert_string_equal(json_string_value(json_object_get(j, "created")),
                        "2026-12-03T14:00:00.000000042Z");
    assert_string_equal(json_string_value(json_object_get(j, "updated")),
                        "2026-12-03T14:00:00.000000043Z");
    assert_null(json_object_get(j, "created_ns"));
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "inputs"), "a")), "1");
    json_decref(j);

    struct orch_attempt_rec a = {.struct_size = sizeof a, .step_id = "s", .attempt = 1,
                                 .state = ORCH_STEP_RUNNING, .exit_code = -1,
                                 .started_ns = T0};
    j = oc_api_attempt(&a);
    assert_true(json_is_null(json_object_get(j, "finished")));
    assert_null(json_object_get(j, "duration_ms"));
    assert_null(json_object_get(j, "exit_code"));
    json_decref(j);
    a.state = ORCH_STEP_SUCCEEDED;
    a.exit_code = 0;
    a.finished_ns = T0 + 1500000000;
    j = oc_api_attempt(&a);
    assert_string_equal(json_string_value(json_object_get(j, "finished")),
                        "2026-12-03T14:00:01.500000042Z");
    assert_int_equal(json_integer_value(json_object_get(j, "duration_ms")), 1500);
    assert_int_equal(json_integer_value(json_object_get(j, "exit_code")), 0);
    json_decref(j);
}

static void test_event_deadlines(void **state)
{
    (void)state;
    char data[128];
    snprintf(data, sizeof data, "{\"step\":\"gate\",\"deadline_ns\":%lld}", (long long)T0);
    struct orch_event_rec e = {.struct_size = sizeof e, .seq = 7, .type = "approval.waiting",
                               .data_json = data, .ts_ns = T0};
    json_t *j = oc_api_event(&e);
    json_t *d = json_object_get(j, "data");
    assert_string_equal(json_string_value(json_object_get(j, "ts")),
                        "2026-12-03T14:00:00.000000042Z");
    assert_string_equal(json_string_value(json_object_get(d, "deadline")),
                        "2026-12-03T14:00:00.000000042Z");
    assert_null(json_object_get(d, "deadline_ns"));
    json_decref(j);
    e.type = "run.waiting";
    e.data_json = "{\"steps\":[],\"deadline_ns\":0}";
    j = oc_api_event(&e);
    assert_true(json_is_null(json_object_get(json_object_get(j, "data"), "deadline")));
    json_decref(j);
    /* A plugin's data is its own: shown as written. */
    e.type = "plugin.waiting";
    e.data_json = "{\"deadline_ns\":5}";
    j = oc_api_event(&e);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "data"),
                                                        "deadline_ns")), 5);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_time_round_trip),
        cmocka_unit_test(test_time_null_and_bad),
        cmocka_unit_test(test_rename),
        cmocka_unit_test(test_run_and_attempt),
        cmocka_unit_test(test_event_deadlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
