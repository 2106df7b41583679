/* The loader refuses each broken plugin with a message naming the file,
 * the plugin, both ABIs and the reason; a good plugin loads. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "host.h"
#include "registry.h"
#include "util.h"

static char *refusal(const char *file)
{
    const char *dir = getenv("ORCH_TEST_PLUGIN_DIR");
    assert_non_null(dir);
    char *path = oc_xasprintf("%s/%s", dir, file);
    struct oc_registry *r = oc_registry_new(NULL, 0);
    struct orch_error err;
    oc_error_init(&err);
    const struct oc_plugin *p = oc_registry_load_file(r, path, &err);
    assert_null(p);
    assert_int_equal(err.code, ORCH_E_ABI);
    /* every refusal names the file and the core's ABI */
    assert_non_null(strstr(err.message, path));
    assert_non_null(strstr(err.message, "refused by orch (ABI 1." ORCH_STR(ORCH_ABI_MINOR) ")"));
    char *msg = oc_xstrdup(err.message);
    oc_error_clear(&err);
    oc_registry_free(r);
    free(path);
    return msg;
}

static void test_wrong_major(void **state)
{
    (void)state;
    char *m = refusal("step-badmajor.so");
    assert_non_null(strstr(m, "plugin step-badmajor (ABI 2.0)"));
    free(m);
}

static void test_newer_minor(void **state)
{
    (void)state;
    char *m = refusal("step-newminor.so");
    assert_non_null(strstr(m, "(ABI 1.7)"));
    assert_non_null(strstr(m, "newer"));
    free(m);
}

static void test_missing_slot(void **state)
{
    (void)state;
    char *m = refusal("step-nullslot.so");
    assert_non_null(strstr(m, "run"));
    free(m);
}

static void test_bad_option_table(void **state)
{
    (void)state;
    char *m = refusal("step-badopts.so");
    assert_non_null(strstr(m, "declared twice"));
    free(m);
}

static void test_good_plugin_loads_and_lookup_by_name(void **state)
{
    (void)state;
    struct oc_registry *r = oc_registry_new(NULL, 0);
    oc_registry_add_path(r, getenv("ORCH_TEST_PLUGIN_DIR"));
    struct orch_error err;
    oc_error_init(&err);
    const struct oc_plugin *p = oc_registry_get(r, ORCH_KIND_STEP, "crash", &err);
    assert_non_null(p);
    assert_string_equal(p->id, "step-crash");
    assert_int_equal(p->desc->option_count, 1);
    assert_null(oc_registry_get(r, ORCH_KIND_STEP, "nosuch", &err));
    assert_int_equal(err.code, ORCH_E_NOT_FOUND);
    assert_non_null(strstr(err.message, getenv("ORCH_TEST_PLUGIN_DIR")));
    oc_error_clear(&err);
    p = oc_registry_get(r, ORCH_KIND_STEP, "exec", &err);
    assert_non_null(p);
    assert_true(p->builtin);
    oc_registry_free(r);
}

/* Compatibility the other way: a plugin built for 1.1 that uses 1.1 slots
 * (tests/abi/abi11-plugin) loads here and is refused by a 1.0 core, whose
 * check is the same comparison with ORCH_ABI_MINOR 0 (simulated: a 1.0
 * core cannot be built from today's sources). */
static void test_abi11_plugin_refused_by_a_1_0_core(void **state)
{
    (void)state;
    const char *dir = getenv("ORCH_TEST_PLUGIN_DIR");
    assert_non_null(dir);
    char *path = oc_xasprintf("%s/step-abi11.so", dir);
    struct orch_error err;
    oc_error_init(&err);
    struct oc_registry *r = oc_registry_new(NULL, 0);
    const struct oc_plugin *p = oc_registry_load_file(r, path, &err);
    assert_non_null(p);
    assert_int_equal(p->desc->abi_minor, 1);
    oc_registry_free(r);

    oc_registry_pretend_abi_minor(0);
    r = oc_registry_new(NULL, 0);
    p = oc_registry_load_file(r, path, &err);
    oc_registry_pretend_abi_minor(ORCH_ABI_MINOR);
    assert_null(p);
    assert_int_equal(err.code, ORCH_E_ABI);
    assert_non_null(strstr(err.message, "plugin step-abi11 (ABI 1.1) refused by orch (ABI 1.0)"));
    assert_non_null(strstr(err.message, "built for a newer minor (1.1 > 1.0)"));
    oc_error_clear(&err);
    oc_registry_free(r);
    free(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_major),
        cmocka_unit_test(test_newer_minor),
        cmocka_unit_test(test_missing_slot),
        cmocka_unit_test(test_bad_option_table),
        cmocka_unit_test(test_good_plugin_loads_and_lookup_by_name),
        cmocka_unit_test(test_abi11_plugin_refused_by_a_1_0_core),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
