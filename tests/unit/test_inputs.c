/* core/inputs.c: each type's text form and JSON values, the limits, and
 * the pattern rules (whole value, back-references refused). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "inputs.h"
#include "json_limit.h"

/* NULL when the text is taken, with *out's compact JSON in got. */
static char *text(struct oc_input_decl *d, const char *t, char **got)
{
    json_t *v = NULL;
    char *why = oc_input_text(d, t, strlen(t), &v);
    *got = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    return why;
}

static void ok_text(struct oc_input_decl *d, const char *t, const char *want)
{
    char *got;
    char *why = text(d, t, &got);
    if (why)
        fail_msg("'%s' refused: %s", t, why);
    assert_string_equal(got, want);
    free(got);
}

static void bad_text(struct oc_input_decl *d, const char *t, const char *reason)
{
    char *got;
    char *why = text(d, t, &got);
    if (!why)
        fail_msg("'%s' taken as %s", t, got);
    if (!strstr(why, reason))
        fail_msg("'%s': '%s' lacks '%s'", t, why, reason);
    free(why);
}

static void bad_json(struct oc_input_decl *d, const char *j, const char *reason)
{
    json_t *v = json_loads(j, JSON_DECODE_ANY, NULL), *out = NULL;
    assert_non_null(v);
    char *why = oc_input_value(d, v, &out);
    if (!why)
        fail_msg("%s taken", j);
    if (!strstr(why, reason))
        fail_msg("%s: '%s' lacks '%s'", j, why, reason);
    assert_null(out);
    free(why);
    json_decref(v);
}

static void test_number(void **state)
{
    (void)state;
    struct oc_input_decl d = {.name = "n", .type = OC_INPUT_NUMBER};
    ok_text(&d, "42", "42");
    ok_text(&d, "-1.5", "-1.5");
    ok_text(&d, "1e3", "1000.0");
    ok_text(&d, "9223372036854775807", "9223372036854775807");
    bad_text(&d, "", "must be a number");
    bad_text(&d, "5x", "must be a number");
    bad_text(&d, "+5", "must be a number");
    bad_text(&d, " 5", "must be a number");
    bad_text(&d, "0x10", "must be a number");
    bad_text(&d, "NaN", "must be a number");
    bad_text(&d, "1e999", "out of range");
    bad_text(&d, "9223372036854775808", "out of range");
    bad_json(&d, "\"5\"", "must be a number, not a string");
    bad_json(&d, "true", "not a boolean");
    bad_json(&d, "null", "not null");
}

static void test_boolean(void **state)
{
    (void)state;
    struct oc_input_decl d = {.name = "b", .type = OC_INPUT_BOOLEAN};
    ok_text(&d, "true", "true");
    ok_text(&d, "false", "false");
    bad_text(&d, "True", "must be true or false");
    bad_text(&d, "1", "must be true or false");
    bad_text(&d, "yes", "must be true or false");
    bad_json(&d, "\"true\"", "must be a boolean, not a string");
    bad_json(&d, "0", "not a number");
}

static void test_choice(void **state)
{
    (void)state;
    char *opts[] = {"red", "green"};
    struct oc_input_decl d = {.name = "c", .type = OC_INPUT_CHOICE, .options = opts,
                              .n_options = 2};
    ok_text(&d, "green", "\"green\"");
    bad_text(&d, "Green", "must be one of red, green (got 'Green')");
    bad_text(&d, "", "must be one of red, green");
    bad_json(&d, "[\"red\"]", "must be a choice, not an array");
}

static void test_json(void **state)
{
    (void)state;
    struct oc_input_decl d = {.name = "j", .type = OC_INPUT_JSON};
    ok_text(&d, "{\"a\": [1, null]}", "{\"a\":[1,null]}");
    ok_text(&d, "\"s\"", "\"s\"");
    ok_text(&d, "3", "3");
    bad_text(&d, "{", "is not JSON");
    bad_text(&d, "{\"a\":1,\"a\":2}", "duplicate object key");
    bad_text(&d, "\"\xff\"", "is not valid UTF-8");
}

static void test_string(void **state)
{
    (void)state;
    struct oc_input_decl d = {.name = "s", .type = OC_INPUT_STRING};
    ok_text(&d, "", "\"\"");
    ok_text(&d, "any text", "\"any text\"");
    bad_text(&d, "a\xc3", "is not valid UTF-8");
    json_t *out = NULL;
    json_t *num = json_integer(7);
    assert_null(oc_input_value(&d, num, &out)); /* a number as its text, as before types */
    assert_string_equal(json_string_value(out), "7");
    json_decref(out);
    json_decref(num);
    bad_json(&d, "{}", "must be a string, not an object");
    json_t *nul = json_stringn("a\0b", 3);
    char *why = oc_input_value(&d, nul, &out);
    assert_non_null(why);
    assert_non_null(strstr(why, "contains a NUL byte"));
    free(why);
    json_decref(nul);
    size_t big = OC_INPUT_MAX_BYTES + 1;
    char *t = malloc(big);
    memset(t, 'a', big);
    why = oc_input_text(&d, t, big, &out);
    assert_non_null(why);
    assert_non_null(strstr(why, "the limit is 262144"));
    free(why);
    free(t);
}

static void test_pattern(void **state)
{
    (void)state;
    struct oc_input_decl d = {.name = "s", .type = OC_INPUT_STRING, .pattern = "[a-z]+"};
    assert_null(oc_input_pattern_compile(d.pattern, &d.re));
    ok_text(&d, "abc", "\"abc\"");
    bad_text(&d, "abc1", "does not match the pattern '[a-z]+' (got 'abc1')"); /* whole value */
    bad_text(&d, "1abc", "does not match");
    regfree(d.re);
    free(d.re);
    regex_t *re = NULL;
    char *why = oc_input_pattern_compile("(a*)\\1", &re);
    assert_non_null(why);
    assert_non_null(strstr(why, "back-references"));
    assert_null(re);
    free(why);
    assert_null(oc_input_pattern_compile("a\\\\1", &re)); /* an escaped backslash, then 1 */
    regfree(re);
    free(re);
    why = oc_input_pattern_compile("(", &re);
    assert_non_null(why);
    assert_non_null(strstr(why, "POSIX extended"));
    free(why);
    /* Unbalanced, it would close the wrapper's group and match anything. */
    why = oc_input_pattern_compile("[a-z]+)|(.*", &re);
    assert_non_null(why);
    assert_null(re);
    free(why);
}

/* A json input given as text is held to the nesting limit every JSON
 * value entering orch has (json_limit.h), however the run was started. */
/* depth arrays around a 1: "[[1]]" for 2. malloc'd. */
static char *nested(int depth)
{
    char *t = malloc(2 * (size_t)depth + 2);
    memset(t, '[', (size_t)depth);
    t[depth] = '1';
    memset(t + depth + 1, ']', (size_t)depth);
    t[2 * depth + 1] = 0;
    return t;
}

static void test_json_nesting(void **state)
{
    (void)state;
    struct oc_input_decl d = {.name = "j", .type = OC_INPUT_JSON};
    char *deep = nested(OC_MAX_NESTING + 1), *fine = nested(OC_MAX_NESTING), *got;
    bad_text(&d, deep, "is not JSON");
    char *why = text(&d, fine, &got);
    if (why)
        fail_msg("%d levels refused: %s", OC_MAX_NESTING, why);
    free(got);
    free(deep);
    free(fine);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number), cmocka_unit_test(test_boolean),
        cmocka_unit_test(test_choice), cmocka_unit_test(test_json),
        cmocka_unit_test(test_string), cmocka_unit_test(test_pattern),
        cmocka_unit_test(test_json_nesting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
