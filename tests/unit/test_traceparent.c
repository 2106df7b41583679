/* The W3C traceparent as orch reads it from a caller (core/trace/context.c)
 * and the samplers' verdicts (sampler.c): what is accepted, what is
 * ignored as malformed, and what a parent-based sampler does with a
 * caller's sampled flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "trace/internal.h"
#include "trace/trace.h"

#define TID "4bf92f3577b34da6a3ce929d0e0e4736"
#define SID "00f067aa0ba902b7"

static void test_valid(void **state)
{
    (void)state;
    struct oc_trace_parent p;
    assert_int_equal(oc_traceparent_parse("00-" TID "-" SID "-01", &p), 0);
    assert_int_equal(p.trace_id[0], 0x4b);
    assert_int_equal(p.trace_id[15], 0x36);
    assert_int_equal(p.span_id[7], 0xb7);
    assert_true(p.sampled);
    assert_int_equal(oc_traceparent_parse("00-" TID "-" SID "-00", &p), 0);
    assert_false(p.sampled);
    /* Flags other than sampled are read past, and not passed on. */
    assert_int_equal(oc_traceparent_parse("00-" TID "-" SID "-09", &p), 0);
    assert_true(p.sampled);
    char out[OC_TRACEPARENT_LEN + 1];
    oc_traceparent_format(p.trace_id, p.span_id, p.sampled, out);
    assert_string_equal(out, "00-" TID "-" SID "-01");
    /* A later version: its first four fields, the rest after a dash dropped. */
    assert_int_equal(oc_traceparent_parse("01-" TID "-" SID "-01", &p), 0);
    assert_int_equal(oc_traceparent_parse("cc-" TID "-" SID "-01-what-comes-later", &p), 0);
    oc_traceparent_format(p.trace_id, p.span_id, p.sampled, out);
    assert_string_equal(out, "00-" TID "-" SID "-01");
}

static void test_malformed(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "00",
        "00-" TID "-" SID "-01-",                      /* version 00 is 55 characters */
        "00-" TID "-" SID "-01 ",
        " 00-" TID "-" SID "-01",
        "ff-" TID "-" SID "-01",                       /* version ff is invalid */
        "0g-" TID "-" SID "-01",
        "cc-" TID "-" SID "-01x",                      /* a later version goes on after a dash */
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-" SID "-01", /* upper case */
        "00-" TID "-00F067AA0BA902B7-01",
        "00-00000000000000000000000000000000-" SID "-01", /* all zeros */
        "00-" TID "-0000000000000000-01",
        "00-" TID "-" SID "-0x",
        "00_" TID "-" SID "-01",
        "00-" TID "_" SID "-01",
        "00-" TID "-" SID "_01",
        "00-4bf92f3577b34da6a3ce929d0e0e473-" SID "-011", /* a short trace id */
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba90 b7-01",
        NULL};
    struct oc_trace_parent p;
    for (size_t i = 0; bad[i]; i++) {
        if (oc_traceparent_parse(bad[i], &p) != 0)
            continue;
        fail_msg("accepted a malformed traceparent: '%s'", bad[i]);
    }
    assert_int_equal(oc_traceparent_parse(NULL, &p), -1);
    assert_int_equal(oc_traceparent_take(NULL, "TRACEPARENT", &p), -1);
    assert_int_equal(oc_traceparent_take("nonsense\n\x01", "TRACEPARENT", &p), -1);
}

static void test_samplers(void **state)
{
    (void)state;
    struct oc_sampler s;
    struct oc_trace_parent on, off;
    assert_int_equal(oc_traceparent_parse("00-" TID "-" SID "-01", &on), 0);
    assert_int_equal(oc_traceparent_parse("00-" TID "-" SID "-00", &off), 0);
    uint8_t tid[16] = {1};
    assert_null(oc_sampler_parse("parentbased_always_on", NULL, &s));
    assert_true(oc_sampler_keeps(&s, tid, NULL));
    assert_true(oc_sampler_keeps(&s, tid, &on));
    assert_false(oc_sampler_keeps(&s, tid, &off));
    assert_null(oc_sampler_parse("parentbased_always_off", NULL, &s));
    assert_true(oc_sampler_keeps_any(&s)); /* a sampled caller's runs still are */
    assert_false(oc_sampler_keeps(&s, tid, NULL));
    assert_true(oc_sampler_keeps(&s, tid, &on));
    assert_null(oc_sampler_parse("always_on", NULL, &s));
    assert_true(oc_sampler_keeps(&s, tid, &off)); /* not parent-based: the flag is not read */
    assert_null(oc_sampler_parse("always_off", NULL, &s));
    assert_false(oc_sampler_keeps_any(&s));
    assert_null(oc_sampler_parse("traceidratio", "0", &s));
    assert_false(oc_sampler_keeps_any(&s));
    assert_null(oc_sampler_parse("traceidratio", "0.5", &s));
    uint8_t low[16] = {0}, high[16];
    memset(high, 0xff, sizeof high);
    assert_true(oc_sampler_keeps(&s, low, NULL));
    assert_false(oc_sampler_keeps(&s, high, NULL));
    assert_null(oc_sampler_parse("always_on", "junk", &s)); /* arg read by the ratio ones only */
    static const char *const bad_args[] = {"", "1.5", "-0.1", "nan", "0.5x", NULL};
    for (size_t i = 0; bad_args[i]; i++) {
        char *why = oc_sampler_parse("parentbased_traceidratio", bad_args[i], &s);
        if (!why)
            fail_msg("accepted the ratio '%s'", bad_args[i]);
        free(why);
    }
    char *why = oc_sampler_parse("sometimes", NULL, &s);
    assert_non_null(why);
    assert_non_null(strstr(why, "parentbased_traceidratio"));
    free(why);
    assert_int_equal(oc_otlp_protocol("http/json"), 1);
    assert_int_equal(oc_otlp_protocol("http/protobuf"), 0);
    assert_int_equal(oc_otlp_protocol("grpc"), -1);
}

/* Without a tracer a step gets the caller's context as it came, and none
 * when there is no caller. */
static void test_step_traceparent_untraced(void **state)
{
    (void)state;
    struct oc_trace_parent p;
    char out[OC_TRACEPARENT_LEN + 1];
    assert_int_equal(oc_traceparent_parse("00-" TID "-" SID "-00", &p), 0);
    assert_int_equal(oc_tracer_traceparent(NULL, &p, -1, "r-1", "s", 1, out), 0);
    assert_string_equal(out, "00-" TID "-" SID "-00");
    assert_int_equal(oc_tracer_traceparent(NULL, NULL, -1, "r-1", "s", 1, out), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_samplers),
        cmocka_unit_test(test_step_traceparent_untraced),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
