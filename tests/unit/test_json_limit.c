/* The nesting scan run before jansson: the limit exactly, brackets inside
 * strings and escapes, the position of the bracket that goes too deep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "json_limit.h"
#include "util.h"

/* n '[' then n ']' (malloc'd). */
static char *t_nested(size_t n)
{
    char *s = malloc(2 * n + 1);
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = 0;
    return s;
}

static void t_limit_exactly(void **state)
{
    (void)state;
    json_error_t e;
    char *ok = t_nested(OC_MAX_NESTING), *deep = t_nested(OC_MAX_NESTING + 1);
    assert_int_equal(oc_json_nesting_check(ok, strlen(ok), OC_MAX_NESTING, &e), 0);
    json_t *j = oc_json_loads_bounded(ok, 0, &e);
    assert_non_null(j);
    json_decref(j);
    assert_int_equal(oc_json_nesting_check(deep, strlen(deep), OC_MAX_NESTING, &e), -1);
    assert_int_equal(e.line, 1);
    assert_int_equal(e.column, OC_MAX_NESTING + 1);
    assert_int_equal(e.position, OC_MAX_NESTING);
    assert_non_null(strstr(e.text, "deeper than 64 levels"));
    assert_null(oc_json_loads_bounded(deep, 0, &e));
    assert_null(oc_json_loads_bounded(deep, 0, NULL));
    free(ok);
    free(deep);
}

static void t_strings_do_not_count(void **state)
{
    (void)state;
    json_error_t e;
    /* Brackets in strings, escaped quotes and backslashes before them. */
    const char *s = "{\"a\":\"[[[[{{{{\\\"[[[[\",\"b\\\\\":[\"\\\\\"],\"c\":\"\\u005b\"}";
    assert_int_equal(oc_json_nesting_check(s, strlen(s), 2, &e), 0);
    json_t *j = oc_json_loads_bounded(s, 0, &e);
    assert_non_null(j);
    json_decref(j);
    /* An escaped quote does not end the string: the bracket after it is
     * text, the one after the real end counts. */
    const char *t = "[\"\\\"[\",[[]]]";
    assert_int_equal(oc_json_nesting_check(t, strlen(t), 2, &e), -1);
    assert_int_equal(e.column, 9);
}

static void t_position_on_later_lines(void **state)
{
    (void)state;
    json_error_t e;
    const char *s = "{\n  \"a\": [\n    [[1]]]}";
    assert_int_equal(oc_json_nesting_check(s, strlen(s), 3, &e), -1);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 6);
}

static void t_deep_text_is_refused_without_recursing(void **state)
{
    (void)state;
    /* A million levels: the scan is a loop, and jansson never sees it. */
    char *deep = t_nested(1000000);
    json_error_t e;
    assert_null(oc_json_loadb_bounded(deep, strlen(deep), 0, &e));
    assert_int_equal(e.column, OC_MAX_NESTING + 1);
    free(deep);
    /* Unbalanced closers do not underflow into a larger allowance. */
    const char *s = "]]]]]]]][[[";
    assert_int_equal(oc_json_nesting_check(s, strlen(s), 2, &e), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_limit_exactly),
        cmocka_unit_test(t_strings_do_not_count),
        cmocka_unit_test(t_position_on_later_lines),
        cmocka_unit_test(t_deep_text_is_refused_without_recursing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
