/* The retention rule (core/retention.h): what is old enough to go, by how
 * a run ended and when, and that a live run never is; and the config
 * section read with file:line:col errors (cancelled falling back to
 * failed). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config.h"
#include "retention.h"

#define MS 1000000LL
#define DAY (86400000LL * MS)
static const int64_t now = 1800000000LL * 1000000000LL; /* 2027 */

static void t_judge(void **state)
{
    (void)state;
    struct oc_retention r = {.set = 1, .succeeded_ms = 30 * 86400000LL,
                             .failed_ms = 90 * 86400000LL, .cancelled_ms = 90 * 86400000LL,
                             .artifacts_ms = 7 * 86400000LL};
    assert_int_equal(oc_retention_judge(&r, ORCH_RUN_SUCCEEDED, now - 31 * DAY, now), OC_RET_DELETE);
    assert_int_equal(oc_retention_judge(&r, ORCH_RUN_SUCCEEDED, now - 29 * DAY, now),
                     OC_RET_EXPIRE_ARTIFACTS);
    assert_int_equal(oc_retention_judge(&r, ORCH_RUN_SUCCEEDED, now - 6 * DAY, now), OC_RET_KEEP);
    assert_int_equal(oc_retention_judge(&r, ORCH_RUN_FAILED, now - 31 * DAY, now),
                     OC_RET_EXPIRE_ARTIFACTS);
    assert_int_equal(oc_retention_judge(&r, ORCH_RUN_FAILED, now - 91 * DAY, now), OC_RET_DELETE);
    assert_int_equal(oc_retention_judge(&r, ORCH_RUN_CANCELLED, now - 91 * DAY, now), OC_RET_DELETE);
    /* Exactly at the limit stays: only older than it goes. */
    assert_int_equal(oc_retention_judge(&r, ORCH_RUN_SUCCEEDED, now - 30 * DAY, now),
                     OC_RET_EXPIRE_ARTIFACTS);
    /* A live run is never touched, however old. */
    uint32_t live[] = {ORCH_RUN_QUEUED, ORCH_RUN_RUNNING, ORCH_RUN_WAITING, 0, 99};
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++) {
        assert_int_equal(oc_retention_judge(&r, live[i], 1, now), OC_RET_KEEP);
        assert_int_equal(oc_retention_cutoff_ns(&r, live[i], now), 0);
    }
    assert_int_equal(oc_retention_cutoff_ns(&r, ORCH_RUN_SUCCEEDED, now), now - 30 * DAY);
    assert_int_equal(oc_retention_artifacts_cutoff_ns(&r, now), now - 7 * DAY);
}

static void t_forever(void **state)
{
    (void)state;
    struct oc_retention none = {0};
    assert_int_equal(oc_retention_judge(&none, ORCH_RUN_SUCCEEDED, 1, now), OC_RET_KEEP);
    assert_int_equal(oc_retention_judge(NULL, ORCH_RUN_FAILED, 1, now), OC_RET_KEEP);
    struct oc_retention only_ok = {.set = 1, .succeeded_ms = 1000};
    assert_int_equal(oc_retention_judge(&only_ok, ORCH_RUN_FAILED, 1, now), OC_RET_KEEP);
    assert_int_equal(oc_retention_judge(&only_ok, ORCH_RUN_SUCCEEDED, now - 2000 * MS, now),
                     OC_RET_DELETE);
    /* A limit longer than the clock has run: nothing is that old, and no
     * cutoff wraps below zero. */
    struct oc_retention huge = {.set = 1, .succeeded_ms = INT64_MAX / 2};
    assert_int_equal(oc_retention_cutoff_ns(&huge, ORCH_RUN_SUCCEEDED, now), 0);
    assert_int_equal(oc_retention_judge(&huge, ORCH_RUN_SUCCEEDED, INT64_MIN, now), OC_RET_KEEP);
}

static struct oc_config *parse(const char *text, struct oc_diag *d)
{
    memset(d, 0, sizeof *d);
    return oc_config_parse_string(text, "r.yaml", d);
}

static void t_config(void **state)
{
    (void)state;
    struct oc_diag d;
    struct oc_config *c = parse("version: 1\nretention: {succeeded: 30d, failed: 12h}\n"
                                "workflows: {w: {steps: [{id: a, uses: exec}]}}\n", &d);
    assert_non_null(c);
    assert_true(c->retention.set);
    assert_int_equal(c->retention.succeeded_ms, 30 * 86400000LL);
    assert_int_equal(c->retention.failed_ms, 12 * 3600000LL);
    assert_int_equal(c->retention.cancelled_ms, 12 * 3600000LL); /* as failed */
    assert_int_equal(c->retention.artifacts_ms, 0);
    oc_config_free(c);
    oc_diag_free(&d);
    static const char *const bad[][2] = {
        {"retention: {succeeded: 0}\n", "r.yaml:2:24: retention: succeeded: a duration greater than 0"},
        {"retention: {failed: -1d}\n", "r.yaml:2:21: retention: failed: '-1d' is not a duration"},
        {"retention: {artifact: 1d}\n", "did you mean 'artifacts'"},
        {"retention: 30d\n", "retention must be a mapping"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[256];
        snprintf(text, sizeof text, "version: 1\n%sworkflows: {w: {steps: [{id: a, uses: exec}]}}\n",
                 bad[i][0]);
        c = parse(text, &d);
        assert_null(c);
        assert_true(d.n > 0);
        int found = 0;
        for (size_t j = 0; j < d.n; j++)
            found |= strstr(d.msgs[j], bad[i][1]) != NULL;
        if (!found)
            fail_msg("'%s': got '%s', want '%s'", bad[i][0], d.msgs[0], bad[i][1]);
        oc_diag_free(&d);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_judge),
        cmocka_unit_test(t_forever),
        cmocka_unit_test(t_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
