/* Cron parsing and next-fire computation. */
#define _GNU_SOURCE
#include "cron.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tzif.h"
#include "util.h"

struct oc_cron {
    uint64_t minute;   /* bit n = value n */
    uint32_t hour, dom, month;
    uint8_t dow;       /* 0 = Sunday */
    int dom_star, dow_star;
};

static const char *const oc_months[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                        "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const oc_days[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

static int oc_cron_value(const char **p, int lo, const char *const *names, int n_names,
                         int *out)
{
    if (names && isalpha((unsigned char)**p)) {
        for (int i = 0; i < n_names; i++)
            if (!strncasecmp(*p, names[i], 3)) {
                *p += 3;
                *out = i + lo;
                return 0;
            }
        return -1;
    }
    if (!isdigit((unsigned char)**p))
        return -1;
    char *end;
    long v = strtol(*p, &end, 10);
    *p = end;
    *out = (int)v;
    return 0;
}

/* One field: "*", "*\/n", "a", "a-b", "a-b/n", "a/n", comma-separated. */
static int oc_cron_field(const char *f, int lo, int hi, const char *const *names,
                         int n_names, uint64_t *bits, int *star)
{
    *bits = 0;
    *star = !strcmp(f, "*") || !strncmp(f, "*/", 2);
    const char *p = f;
    for (;;) {
        int a, b, step = 1, ranged = 1;
        if (*p == '*') {
            a = lo;
            b = hi;
            p++;
        } else {
            ranged = 0;
            if (oc_cron_value(&p, names == oc_months ? 1 : 0, names, n_names, &a) != 0)
                return -1;
            b = a;
            if (*p == '-') {
                p++;
                ranged = 1;
                if (oc_cron_value(&p, names == oc_months ? 1 : 0, names, n_names, &b) != 0)
                    return -1;
            }
        }
        if (*p == '/') {
            p++;
            if (oc_cron_value(&p, 0, NULL, 0, &step) != 0 || step < 1)
                return -1;
            if (!ranged)
                b = hi; /* "5/15": from 5 to the end */
        }
        if (a < lo || b > hi || a > b)
            return -1;
        for (int v = a; v <= b; v += step)
            *bits |= 1ull << (hi == 7 && v == 7 ? 0 : v); /* day 7 is Sunday too */
        if (*p == ',') {
            p++;
            continue;
        }
        return *p ? -1 : 0;
    }
}

struct oc_cron *oc_cron_parse(const char *expr, char **err)
{
    static const struct { const char *name, *expr; } macros[] = {
        {"@hourly", "0 * * * *"}, {"@daily", "0 0 * * *"}, {"@midnight", "0 0 * * *"},
        {"@weekly", "0 0 * * 0"}, {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
        {"@annually", "0 0 1 1 *"},
    };
    for (size_t i = 0; i < sizeof macros / sizeof macros[0]; i++)
        if (!strcmp(expr, macros[i].name))
            expr = macros[i].expr;
    char *copy = oc_xstrdup(expr);
    char *fields[6];
    int n = 0;
    for (char *save, *t = strtok_r(copy, " \t", &save); t; t = strtok_r(NULL, " \t", &save))
        if (n < 6)
            fields[n++] = t;
    static const char *const what[] = {"minute", "hour", "day of month", "month",
                                       "day of week"};
    static const int lo[] = {0, 0, 1, 1, 0}, hi[] = {59, 23, 31, 12, 7};
    if (n != 5) {
        *err = oc_xasprintf("cron '%s' has %d fields; it needs 5 (minute hour "
                            "day-of-month month day-of-week) or a macro like @daily",
                            expr, n);
        free(copy);
        return NULL;
    }
    struct oc_cron *c = oc_xcalloc(1, sizeof *c);
    uint64_t bits[5];
    int star[5];
    for (int i = 0; i < 5; i++) {
        const char *const *names = i == 3 ? oc_months : i == 4 ? oc_days : NULL;
        if (oc_cron_field(fields[i], lo[i], hi[i], names, i == 3 ? 12 : 7, &bits[i],
                          &star[i]) != 0) {
            *err = oc_xasprintf("cron '%s': bad %s field '%s' (allowed %d-%d)", expr,
                                what[i], fields[i], lo[i], hi[i] == 7 ? 6 : hi[i]);
            free(copy);
            free(c);
            return NULL;
        }
    }
    c->minute = bits[0];
    c->hour = (uint32_t)bits[1];
    c->dom = (uint32_t)bits[2];
    c->month = (uint32_t)bits[3];
    c->dow = (uint8_t)bits[4];
    c->dom_star = star[2];
    c->dow_star = star[4];
    free(copy);
    return c;
}

void oc_cron_free(struct oc_cron *c)
{
    free(c);
}

static int oc_cron_day_ok(const struct oc_cron *c, const struct tm *t)
{
    int dom = (c->dom >> t->tm_mday) & 1, dow = (c->dow >> t->tm_wday) & 1;
    if (c->dom_star || c->dow_star)
        return dom && dow;
    return dom || dow;
}

time_t oc_cron_next(const struct oc_cron *c, time_t after, const char *tz)
{
    /* The zone's own rules (tzif.c), not setenv("TZ"): orchd converts in
     * several threads. A zone that cannot be read counts as UTC, as
     * glibc's localtime has it; config validation refused it already. */
    const struct oc_tz *zone = oc_tz_get(tz, NULL);
    /* Walk minutes in local time; skip whole hours and days that cannot
     * match, so a year ahead costs at most a few thousand steps. */
    time_t t = after - after % 60 + 60;
    time_t limit = after + 5LL * 366 * 86400;
    time_t found = 0;
    while (t <= limit) {
        struct tm tm;
        oc_tz_localtime(zone, t, &tm);
        if (!((c->month >> (tm.tm_mon + 1)) & 1) || !oc_cron_day_ok(c, &tm)) {
            /* Hour by hour, not day by day: days are not all 24 hours. */
            t += (time_t)(3600 - tm.tm_min * 60 - tm.tm_sec);
            continue;
        }
        if (!((c->hour >> tm.tm_hour) & 1)) {
            t += (time_t)(3600 - tm.tm_min * 60 - tm.tm_sec);
            continue;
        }
        if (!((c->minute >> tm.tm_min) & 1)) {
            t += 60 - tm.tm_sec;
            continue;
        }
        found = t;
        break;
    }
    return found;
}

int oc_tz_valid(const char *tz)
{
    if (!tz || !*tz)
        return -1;
    return oc_tz_get(tz, NULL) ? 0 : -1;
}
