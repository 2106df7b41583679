/* oc_utf8_lossy: command output made fit for JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util.h"

static void expect(const char *in, size_t len, const char *want, size_t want_len)
{
    size_t n;
    char *out = oc_utf8_lossy(in, len, &n);
    assert_int_equal(n, want_len);
    assert_memory_equal(out, want, want_len);
    assert_int_equal(out[n], 0);
    free(out);
}

#define R "\xEF\xBF\xBD" /* U+FFFD */

static void test_valid_text_is_kept(void **state)
{
    (void)state;
    expect("", 0, "", 0);
    expect("plain", 5, "plain", 5);
    /* two, three and four byte sequences, and a NUL, which JSON can carry */
    expect("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9, "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80", 9);
    expect("a\0b", 3, "a\0b", 3);
}

static void test_invalid_bytes_are_replaced_one_by_one(void **state)
{
    (void)state;
    expect("\xFF\xFEok", 4, R R "ok", 8);
    expect("\x80", 1, R, 3);                       /* a lone continuation byte */
    expect("\xC0\xAF", 2, R R, 6);                 /* overlong '/' */
    expect("\xED\xA0\x80", 3, R R R, 9);           /* a UTF-16 surrogate */
    expect("\xF4\x90\x80\x80", 4, R R R R, 12);    /* above U+10FFFF */
    expect("x\xE2\x82", 3, "x" R R, 7);            /* cut short at the end */
    expect("\xE2\x82(", 3, R R "(", 7);            /* cut short by another char */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_text_is_kept),
        cmocka_unit_test(test_invalid_bytes_are_replaced_one_by_one),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
