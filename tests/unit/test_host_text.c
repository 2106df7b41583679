/* The ABI 1.1 text slots of the host table: strdup_printf and json_quote
 * return host memory (the live count says so), json_quote escapes every
 * byte JSON needs and refuses invalid UTF-8, and output_set_len records
 * exactly len bytes or refuses a NUL or invalid UTF-8 without recording. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctx.h"
#include "host.h"

static char last_key[64], last_value[256];
static int recorded;

static orch_status record_output(struct orch_ctx *ctx, const char *key, const char *value)
{
    (void)ctx;
    snprintf(last_key, sizeof last_key, "%s", key);
    snprintf(last_value, sizeof last_value, "%s", value);
    recorded++;
    return ORCH_OK;
}

static const struct oc_ctx_ops ops = {.output_set = record_output};

static void test_strdup_printf_is_host_memory(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    assert_true(ORCH_HAS(struct orch_host, h, strdup_printf));
    int64_t live = oc_host_live_allocs();
    char *s = h->strdup_printf("%s-%d", "a", 42);
    assert_string_equal(s, "a-42");
    assert_int_equal(oc_host_live_allocs(), live + 1);
    h->free(s);
    assert_int_equal(oc_host_live_allocs(), live);
    oc_host_fail_alloc_after(1);
    assert_null(h->strdup_printf("x"));
    oc_host_fail_alloc_after(0);
}

static void test_json_quote(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    char *q = h->json_quote("a\"b\\c\n\t\x01", 8);
    assert_string_equal(q, "\"a\\\"b\\\\c\\n\\t\\u0001\"");
    h->free(q);
    q = h->json_quote("x\0y", 3);
    assert_string_equal(q, "\"x\\u0000y\"");
    h->free(q);
    q = h->json_quote("", 0);
    assert_string_equal(q, "\"\"");
    h->free(q);
    q = h->json_quote("\xc3\xa9", 2); /* é stays as UTF-8 */
    assert_string_equal(q, "\"\xc3\xa9\"");
    h->free(q);
    assert_null(h->json_quote("\xc3", 1));    /* truncated sequence */
    assert_null(h->json_quote("\xff", 1));
    assert_null(h->json_quote(NULL, 3));
}

static void test_output_set_len(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    ctx.ops = &ops;
    recorded = 0;
    assert_int_equal(h->output_set_len(&ctx, "k", "value-and-more", 5), ORCH_OK);
    assert_int_equal(recorded, 1);
    assert_string_equal(last_key, "k");
    assert_string_equal(last_value, "value");
    assert_int_equal(h->output_set_len(&ctx, "k", "", 0), ORCH_OK);
    assert_string_equal(last_value, "");
    assert_int_equal(h->output_set_len(&ctx, "k", "a\0b", 3), ORCH_E_INVALID_ARG);
    assert_int_equal(h->output_set_len(&ctx, "k", "\xff", 1), ORCH_E_INVALID_ARG);
    assert_int_equal(h->output_set_len(&ctx, NULL, "x", 1), ORCH_E_INVALID_ARG);
    assert_int_equal(h->output_set_len(&ctx, "k", NULL, 1), ORCH_E_INVALID_ARG);
    assert_int_equal(recorded, 2);
}

static void test_state_dir_key(void **state)
{
    (void)state;
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    assert_null(oc_host()->ctx_get(&ctx, "state_dir"));
    ctx.state_dir = "/var/lib/orch";
    assert_string_equal(oc_host()->ctx_get(&ctx, "state_dir"), "/var/lib/orch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strdup_printf_is_host_memory),
        cmocka_unit_test(test_json_quote),
        cmocka_unit_test(test_output_set_len),
        cmocka_unit_test(test_state_dir_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
