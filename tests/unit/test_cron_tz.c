/* Cron in a time zone without setenv("TZ"): core/tzif.c against glibc's
 * localtime over two and a half centuries in zones with odd rules
 * (southern summers, negative DST, 30/45-minute offsets, footers past
 * 2037), Europe/Berlin's spring-forward and fall-back by the second and
 * through oc_cron_next, hostile TZif images, and a reader thread that must
 * never see TZ change while schedules are computed. */
#define _GNU_SOURCE
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cron.h"
#include "tzif.h"

static const char *const zones[] = {
    "Europe/Berlin",   "America/New_York", "Australia/Sydney",  "America/Sao_Paulo",
    "Asia/Kolkata",    "Pacific/Chatham",  "Europe/Dublin",     "Africa/Casablanca",
    "America/St_Johns", "Australia/Lord_Howe", "Pacific/Apia",   "America/Santiago",
    "Asia/Tehran",     "Etc/GMT+5",        "Antarctica/Troll",
};

static long glibc_offset(time_t t)
{
    struct tm tm;
    localtime_r(&t, &tm);
    return tm.tm_gmtoff;
}

static void check_at(const char *name, const struct oc_tz *z, time_t t)
{
    long want = glibc_offset(t), got = oc_tz_offset(z, t);
    if (want != got)
        fail_msg("%s at %lld: offset %ld, glibc says %ld", name, (long long)t, got, want);
    struct tm a, b;
    localtime_r(&t, &a);
    oc_tz_localtime(z, t, &b);
    if (a.tm_year != b.tm_year || a.tm_mon != b.tm_mon || a.tm_mday != b.tm_mday ||
        a.tm_hour != b.tm_hour || a.tm_min != b.tm_min || a.tm_sec != b.tm_sec ||
        a.tm_wday != b.tm_wday || a.tm_isdst != b.tm_isdst)
        fail_msg("%s at %lld: wall clock differs from glibc's", name, (long long)t);
}

/* Single-threaded here, so glibc's TZ is a fair reference. */
static void t_matches_glibc(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof zones / sizeof *zones; i++) {
        const struct oc_tz *z = oc_tz_get(zones[i], NULL);
        assert_non_null(z);
        setenv("TZ", zones[i], 1);
        tzset();
        time_t from = -2208988800LL /* 1900 */, to = 4102444800LL + 100LL * 31556952 /* 2200 */;
        for (time_t t = from; t < to; t += 3 * 86400 + 3607)
            check_at(zones[i], z, t);
        /* Every change glibc makes, to the second, found by bisection of
         * day-long steps (so the footer's years past 2037 are covered). */
        for (time_t t = from; t < to; t += 86400) {
            if (glibc_offset(t) == glibc_offset(t + 86400))
                continue;
            time_t lo = t, hi = t + 86400;
            while (hi - lo > 1) {
                time_t mid = lo + (hi - lo) / 2;
                if (glibc_offset(mid) == glibc_offset(lo))
                    lo = mid;
                else
                    hi = mid;
            }
            check_at(zones[i], z, lo);
            check_at(zones[i], z, hi);
        }
    }
    unsetenv("TZ");
    tzset();
}

static void t_berlin_edges(void **state)
{
    (void)state;
    const struct oc_tz *z = oc_tz_get("Europe/Berlin", NULL);
    assert_non_null(z);
    /* 2026-03-29 01:59:59 CET, then 03:00:00 CEST. */
    assert_int_equal(oc_tz_offset(z, 1774745999), 3600);
    assert_int_equal(oc_tz_offset(z, 1774746000), 7200);
    /* 2026-10-25 02:59:59 CEST, then 02:00:00 CET. */
    assert_int_equal(oc_tz_offset(z, 1792889999), 7200);
    assert_int_equal(oc_tz_offset(z, 1792890000), 3600);
    struct tm tm;
    oc_tz_localtime(z, 1774746000, &tm);
    assert_int_equal(tm.tm_hour, 3);
    assert_int_equal(tm.tm_isdst, 1);

    char *err = NULL;
    struct oc_cron *daily = oc_cron_parse("30 2 * * *", &err);
    struct oc_cron *hourly = oc_cron_parse("0 * * * *", &err);
    assert_non_null(daily);
    assert_non_null(hourly);
    /* Spring forward: 02:30 does not exist on 29 March; the next is 02:30
     * CEST on the 30th (00:30 UTC). */
    assert_int_equal(oc_cron_next(daily, 1774699200, "Europe/Berlin"), 1774830600);
    /* Hourly from 01:30 CET: the next full hour is 03:00 CEST, 01:00 UTC. */
    assert_int_equal(oc_cron_next(hourly, 1774744200, "Europe/Berlin"), 1774746000);
    /* Fall back: 02:30 happens twice, once in CEST (00:30 UTC) and once in
     * CET (01:30 UTC); the wall-clock walk matches both, as localtime's did. */
    assert_int_equal(oc_cron_next(daily, 1792843200, "Europe/Berlin"), 1792888200);
    assert_int_equal(oc_cron_next(daily, 1792888200, "Europe/Berlin"), 1792891800);
    /* UTC: no shift at all. */
    assert_int_equal(oc_cron_next(daily, 1774699200, NULL), 1774751400);
    assert_int_equal(oc_cron_next(daily, 1774699200, "UTC"), 1774751400);
    oc_cron_free(daily);
    oc_cron_free(hourly);
}

static void t_zone_names(void **state)
{
    (void)state;
    assert_int_equal(oc_tz_valid("Europe/Berlin"), 0);
    assert_int_equal(oc_tz_valid("UTC"), 0);
    assert_int_equal(oc_tz_valid("Nope/Zone"), -1);
    assert_int_equal(oc_tz_valid("../../etc/passwd"), -1);
    assert_int_equal(oc_tz_valid("/etc/localtime"), -1);
    assert_int_equal(oc_tz_valid("Europe/Berlin\n"), -1);
    assert_int_equal(oc_tz_valid(""), -1);
    /* Files in the zone directory that are no zone. */
    assert_int_equal(oc_tz_valid("zone.tab"), -1);
    assert_int_equal(oc_tz_valid("Europe"), -1);
    char *err = NULL;
    assert_null(oc_tz_get("zone.tab", &err));
    assert_non_null(strstr(err, "zone.tab"));
    free(err);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    unsigned char *buf = malloc(1 << 20);
    assert_non_null(buf);
    *len = fread(buf, 1, 1 << 20, f);
    fclose(f);
    return buf;
}

static void t_hostile_tzif(void **state)
{
    (void)state;
    size_t len;
    unsigned char *buf = slurp("/usr/share/zoneinfo/Europe/Berlin", &len);
    char *err = NULL;
    struct oc_tz *z = oc_tz_parse(buf, len, &err);
    assert_non_null(z);
    oc_tz_free(z);
    /* Every cut: refused or a zone, never a read past the end (ASan). */
    for (size_t n = 0; n < len; n++) {
        unsigned char *cut = malloc(n ? n : 1);
        memcpy(cut, buf, n);
        z = oc_tz_parse(cut, n, &err);
        if (n < 44)
            assert_null(z);
        oc_tz_free(z);
        free(err);
        err = NULL;
        free(cut);
    }
    /* Counts that promise more than there is. */
    unsigned char *bad = malloc(len);
    memcpy(bad, buf, len);
    bad[32] = bad[33] = 0x7f; /* timecnt */
    assert_null(oc_tz_parse(bad, len, &err));
    assert_non_null(err);
    free(err);
    memcpy(bad, buf, len);
    bad[39] = 0; /* typecnt 0 */
    bad[38] = 0;
    assert_null(oc_tz_parse(bad, len, &err));
    free(err);
    memcpy(bad, buf, len);
    bad[0] = 'X';
    assert_null(oc_tz_parse(bad, len, &err));
    assert_string_equal(err, "not a TZif file");
    free(err);
    free(bad);
    free(buf);
}

static volatile int stop_reader;
static volatile int tz_changed;

static void *tz_reader(void *ud)
{
    (void)ud;
    while (!stop_reader) {
        const char *v = getenv("TZ");
        if (!v || strcmp(v, "Asia/Tokyo"))
            tz_changed = 1;
    }
    return NULL;
}

/* orchd computes schedules while other threads read the environment: the
 * environment must not change under them. */
static void t_environment_untouched(void **state)
{
    (void)state;
    setenv("TZ", "Asia/Tokyo", 1);
    char *err = NULL;
    struct oc_cron *c = oc_cron_parse("*/7 3 * * 1-5", &err);
    assert_non_null(c);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, tz_reader, NULL), 0);
    time_t t = 1774699200;
    for (int i = 0; i < 20000; i++)
        t = oc_cron_next(c, t, i % 2 ? "Europe/Berlin" : "America/New_York");
    stop_reader = 1;
    pthread_join(th, NULL);
    oc_cron_free(c);
    assert_false(tz_changed);
    assert_string_equal(getenv("TZ"), "Asia/Tokyo");
    unsetenv("TZ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_matches_glibc),        cmocka_unit_test(t_berlin_edges),
        cmocka_unit_test(t_zone_names),           cmocka_unit_test(t_hostile_tzif),
        cmocka_unit_test(t_environment_untouched),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
