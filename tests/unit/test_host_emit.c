/* host->emit refuses what it cannot record (it returned OK and dropped an
 * event with a bad type, and wrapped invalid JSON as {"raw": ...}). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ctx.h"
#include "host.h"

static int emitted;

static orch_status count_emit(struct orch_ctx *ctx, const char *type, const char *json)
{
    (void)ctx;
    (void)type;
    (void)json;
    emitted++;
    return ORCH_OK;
}

static const struct oc_ctx_ops ops = {.emit = count_emit};

static void test_bad_events_are_refused(void **state)
{
    (void)state;
    const struct orch_host *h = oc_host();
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    ctx.ops = &ops;
    emitted = 0;
    assert_int_equal(h->emit(&ctx, NULL, "{}"), ORCH_E_INVALID_ARG);
    assert_int_equal(h->emit(&ctx, "", "{}"), ORCH_E_INVALID_ARG);
    assert_int_equal(h->emit(&ctx, "Upper", "{}"), ORCH_E_INVALID_ARG);
    assert_int_equal(h->emit(&ctx, "has space", "{}"), ORCH_E_INVALID_ARG);
    assert_int_equal(h->emit(&ctx, "quote\"", "{}"), ORCH_E_INVALID_ARG);
    char longname[80];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = 0;
    assert_int_equal(h->emit(&ctx, longname, "{}"), ORCH_E_INVALID_ARG);
    assert_int_equal(h->emit(&ctx, "deploy.done", "{not json"), ORCH_E_INVALID_ARG);
    assert_int_equal(h->emit(&ctx, "deploy.done", "[1,2]"), ORCH_E_INVALID_ARG);
    assert_int_equal(h->emit(&ctx, "deploy.done", "{} trailing"), ORCH_E_INVALID_ARG);
    assert_int_equal(emitted, 0);
    assert_int_equal(h->emit(&ctx, "deploy.done", "{\"n\":1}"), ORCH_OK);
    assert_int_equal(h->emit(&ctx, "deploy_2", NULL), ORCH_OK);
    assert_int_equal(emitted, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_events_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
