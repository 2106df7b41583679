/* PATH_KIND values: the kind comes from the literal text, a template only
 * fills the rest, which is cleaned and confined (core/path_kind.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "path_kind.h"

static void t_kind(void **state)
{
    (void)state;
    char k[32];
    assert_int_equal(oc_path_kind("host:/etc/x", k, sizeof k), 5);
    assert_string_equal(k, "host");
    assert_int_equal(oc_path_kind("artifact:a/b", k, sizeof k), 9);
    assert_string_equal(k, "artifact");
    assert_int_equal(oc_path_kind("dir/host:x", k, sizeof k), 0);
    assert_string_equal(k, "");
    assert_int_equal(oc_path_kind("${{ inputs.k }}:x", k, sizeof k), 0);
    assert_int_equal(oc_path_kind("Host:x", k, sizeof k), 0);
    assert_int_equal(oc_path_kind("", k, sizeof k), 0);
    /* A word longer than the buffer is shown cut but measured whole. */
    char small[4];
    assert_int_equal(oc_path_kind("artifact:x", small, sizeof small), 9);
    assert_string_equal(small, "art");
}

/* out (malloc'd) or NULL; *why says why. */
static char *t_confine(const char *lit, const char *got, char **why)
{
    return oc_path_kind_confine(lit, got, why);
}

static void t_refused(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"${{ inputs.name }}", "host:/etc/hostname"},
        {"${{ inputs.name }}", "artifact:x"},
        {"${{ inputs.k }}:x", "host:x"},
        {"artifact:${{ inputs.n }}", "host:/etc/x"},       /* literal kind kept */
        {"out/${{ inputs.n }}", "out/../../etc/passwd"},
        {"${{ inputs.n }}", "x/.."},
        {"${{ inputs.n }}", "/etc/passwd"},
        {"host:${{ inputs.n }}", "host:/etc/passwd"},      /* absolute only if written */
        {"host:/srv/in/${{ inputs.n }}", "host:/srv/in/../../etc/passwd"},
        {"artifact:${{ inputs.n }}", "artifact:a/../../b"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *why = NULL;
        char *out = t_confine(cases[i][0], cases[i][1], &why);
        if (out)
            fail_msg("'%s' rendered '%s' was accepted as '%s'", cases[i][0], cases[i][1], out);
        assert_non_null(why);
        assert_null(strstr(why, cases[i][1])); /* the value may be a secret */
        free(why);
    }
}

static void t_accepted(void **state)
{
    (void)state;
    static const char *const cases[][3] = {
        {"${{ inputs.n }}", "a/./b//c/", "a/b/c"},
        {"out/${{ inputs.n }}", "out/report.txt", "out/report.txt"},
        {"host:/srv/in/${{ inputs.n }}", "host:/srv/in//x/./y", "host:/srv/in/x/y"},
        {"host:/srv/in/${{ inputs.n }}", "host:/srv/in//etc/passwd", "host:/srv/in/etc/passwd"},
        {"artifact:${{ inputs.n }}", "artifact:host:x", "artifact:host:x"},
        {"instance:${{ inputs.n }}", "instance:a", "instance:a"},
        {"${{ inputs.n }}", "a..b/..c", "a..b/..c"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *why = NULL;
        char *out = t_confine(cases[i][0], cases[i][1], &why);
        if (!out)
            fail_msg("'%s' rendered '%s' was refused: %s", cases[i][0], cases[i][1], why);
        assert_string_equal(out, cases[i][2]);
        free(out);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_kind),
        cmocka_unit_test(t_refused),
        cmocka_unit_test(t_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
