/* Artifact names a step gives (core/run_artifacts.h): a run's own NAME,
 * another run's runs/RUN/NAME (read-only), and the names refused before
 * any could become a key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "run_artifacts.h"

static void t_name_ok(void **state)
{
    (void)state;
    assert_true(oc_artifact_name_ok("a"));
    assert_true(oc_artifact_name_ok("reports/junit.xml"));
    assert_true(oc_artifact_name_ok(".hidden/..x/x.."));
    const char *bad[] = {"", "/abs", "a//b", "a/", "./a", "a/./b", "../a", "a/..", "a\nb",
                         "a\tb"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(oc_artifact_name_ok(bad[i]));
    assert_false(oc_artifact_name_ok(NULL));
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_false(oc_artifact_name_ok(big));
    big[512] = 0;
    assert_true(oc_artifact_name_ok(big));
}

static void t_ref(void **state)
{
    (void)state;
    char *run;
    const char *rest;
    assert_int_equal(oc_artifact_ref_parse("out/x.txt", &run, &rest), OC_ART_OWN);
    assert_null(run);
    assert_string_equal(rest, "out/x.txt");
    /* "runs" alone or as a longer word is a name of the run's own. */
    assert_int_equal(oc_artifact_ref_parse("runsx/a", &run, &rest), OC_ART_OWN);
    assert_int_equal(oc_artifact_ref_parse("runs", &run, &rest), OC_ART_OWN);
    assert_int_equal(oc_artifact_ref_parse("runs/r-01abc/out/x.txt", &run, &rest),
                     OC_ART_OTHER_RUN);
    assert_string_equal(run, "r-01abc");
    assert_string_equal(rest, "out/x.txt");
    free(run);
    const char *bad[] = {"runs/r-1", "runs/r-1/", "runs//x", "runs/a b/x", "runs/a.b/x",
                         "runs/../x", "runs/r-1/../x", "runs/%2e%2e/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(oc_artifact_ref_parse(bad[i], &run, &rest), OC_ART_BAD);
        assert_null(run);
    }
    char id[80] = "runs/";
    memset(id + 5, 'a', 65);
    strcpy(id + 70, "/x");
    assert_int_equal(oc_artifact_ref_parse(id, &run, &rest), OC_ART_BAD);
    memmove(id + 69, id + 70, strlen(id + 70) + 1); /* 64 characters: an id */
    assert_int_equal(oc_artifact_ref_parse(id, &run, &rest), OC_ART_OTHER_RUN);
    assert_int_equal(strlen(run), 64);
    free(run);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_name_ok),
        cmocka_unit_test(t_ref),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
