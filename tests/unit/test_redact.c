/* Secret redaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "template.h"

static char *red(struct oc_redactor *r, const char *in, size_t len, size_t *out_len)
{
    return oc_redact(r, in, len, out_len);
}

static void test_masks_every_occurrence(void **state)
{
    (void)state;
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "hunter22");
    size_t n;
    char *s = red(r, "a hunter22 b hunter22", 21, &n);
    assert_string_equal(s, "a *** b ***");
    assert_int_equal(n, strlen("a *** b ***"));
    free(s);
    s = red(r, "hunter22", 8, &n); /* whole buffer, both edges */
    assert_string_equal(s, "***");
    free(s);
    s = red(r, "hunter2", 7, &n); /* a prefix is not the secret */
    assert_string_equal(s, "hunter2");
    free(s);
    oc_redactor_free(r);
}

static void test_longest_first_and_short_ignored(void **state)
{
    (void)state;
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "abcd");
    oc_redactor_add(r, "abcdefgh");
    oc_redactor_add(r, "xyz"); /* too short: would mask too much */
    size_t n;
    char *s = red(r, "abcdefgh abcd xyz", 17, &n);
    assert_string_equal(s, "*** *** xyz");
    free(s);
    oc_redactor_free(r);
}

static void test_binary_and_null_redactor(void **state)
{
    (void)state;
    struct oc_redactor *r = oc_redactor_new();
    oc_redactor_add(r, "s3cr3t");
    const char in[] = {'x', 0, 's', '3', 'c', 'r', '3', 't', 0, 'y'};
    size_t n;
    char *s = red(r, in, sizeof in, &n);
    const char want[] = {'x', 0, '*', '*', '*', 0, 'y'};
    assert_int_equal(n, sizeof want);
    assert_memory_equal(s, want, sizeof want);
    free(s);
    oc_redactor_free(r);
    s = oc_redact(NULL, "plain", 5, &n);
    assert_string_equal(s, "plain");
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_masks_every_occurrence),
        cmocka_unit_test(test_longest_first_and_short_ignored),
        cmocka_unit_test(test_binary_and_null_redactor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
