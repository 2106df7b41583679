/* Cron schedules: the five standard fields (minute hour day-of-month month
 * day-of-week) with lists, ranges, steps and names, plus @hourly, @daily,
 * @weekly, @monthly, @yearly. Evaluated in a time zone. Day-of-month and
 * day-of-week combine as in Vixie cron: when both are restricted, either
 * matching is enough. */
#ifndef OC_CRON_H
#define OC_CRON_H

#include <stdint.h>
#include <time.h>

struct oc_cron;

/* NULL with *err (malloc'd) naming the bad field. */
struct oc_cron *oc_cron_parse(const char *expr, char **err);
void oc_cron_free(struct oc_cron *c);
/* The first fire time strictly after `after` (seconds since the epoch),
 * with wall-clock fields taken in tz (NULL = UTC); 0 if none within
 * five years. */
time_t oc_cron_next(const struct oc_cron *c, time_t after, const char *tz);
/* 0 when tz names a zone this system knows. */
int oc_tz_valid(const char *tz);

#endif
