/* TZif files (RFC 8536) and their POSIX TZ footer; see tzif.h. */
#define _GNU_SOURCE
#include "tzif.h"

#include <ctype.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

/* A file this large is no zone (Debian's biggest is a few KB). */
#define OC_TZIF_MAX (1 << 20)

/* One day of the year a POSIX rule names, and the time of day. */
struct oc_tzrule_day {
    char kind;                   /* 'J' (1..365, no Feb 29), 'D' (0..365), 'M' */
    int n, month, week, wday;
    long secs;                   /* local time of day the change happens */
};

struct oc_tz {
    size_t n_trans;
    int64_t *trans;              /* transition times, ascending */
    unsigned char *idx;          /* type in force from each transition */
    size_t n_types;
    long *utoff;                 /* per type: seconds east of UTC */
    unsigned char *isdst;
    /* The footer rule, for times after the last transition. */
    int has_rule, rule_dst;      /* rule_dst: the rule has a summer time */
    long std_off, dst_off;       /* seconds east of UTC */
    struct oc_tzrule_day start, end;
};

void oc_tz_free(struct oc_tz *z)
{
    if (!z)
        return;
    free(z->trans);
    free(z->idx);
    free(z->utoff);
    free(z->isdst);
    free(z);
}

static int64_t oc_be(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    if (n == 4)
        return (int32_t)(uint32_t)v;
    return (int64_t)v;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Hinnant's algorithm). */
static int64_t oc_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int oc_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* POSIX TZ pieces: a name ("CET" or "<+0330>"), an offset "[+-]h[:mm[:ss]]". */
static const char *oc_tz_name(const char *s)
{
    if (*s == '<') {
        const char *e = strchr(s, '>');
        return e && e - s >= 4 ? e + 1 : NULL;
    }
    const char *p = s;
    while (isalpha((unsigned char)*p))
        p++;
    return p - s >= 3 ? p : NULL;
}

static const char *oc_tz_hms(const char *s, long max_h, long *out)
{
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    if (!isdigit((unsigned char)*s))
        return NULL;
    long v[3] = {0, 0, 0};
    for (int k = 0; k < 3; k++) {
        if (k && *s != ':')
            break;
        if (k)
            s++;
        if (!isdigit((unsigned char)*s))
            return NULL;
        int digits = 0;
        while (isdigit((unsigned char)*s) && digits++ < 3)
            v[k] = v[k] * 10 + (*s++ - '0');
        if (isdigit((unsigned char)*s) || (k && v[k] > 59))
            return NULL;
    }
    if (v[0] > max_h)
        return NULL;
    *out = (neg ? -1 : 1) * (v[0] * 3600 + v[1] * 60 + v[2]);
    return s;
}

static const char *oc_tz_day(const char *s, struct oc_tzrule_day *d)
{
    char *e;
    if (*s == 'M') {
        d->kind = 'M';
        d->month = (int)strtol(s + 1, &e, 10);
        if (*e != '.' || d->month < 1 || d->month > 12)
            return NULL;
        d->week = (int)strtol(e + 1, &e, 10);
        if (*e != '.' || d->week < 1 || d->week > 5)
            return NULL;
        d->wday = (int)strtol(e + 1, &e, 10);
        if (d->wday < 0 || d->wday > 6)
            return NULL;
    } else {
        d->kind = *s == 'J' ? 'J' : 'D';
        if (*s == 'J')
            s++;
        if (!isdigit((unsigned char)*s))
            return NULL;
        d->n = (int)strtol(s, &e, 10);
        if (d->n > 365 || (d->kind == 'J' && d->n < 1))
            return NULL;
    }
    d->secs = 7200; /* 02:00 unless /time says otherwise */
    if (*e == '/')
        e = (char *)oc_tz_hms(e + 1, 167, &d->secs); /* RFC 8536: -167..167 hours */
    return e;
}

/* The footer's rule; 0, or -1 when it is not one this reads. */
static int oc_tz_rule(struct oc_tz *z, const char *s)
{
    long off;
    const char *p = oc_tz_name(s);
    if (!p || !(p = oc_tz_hms(p, 24, &off)))
        return -1;
    z->std_off = -off; /* POSIX counts west of Greenwich */
    z->has_rule = 1;
    if (!*p)
        return 0;
    if (!(p = oc_tz_name(p)))
        return -1;
    z->dst_off = z->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = oc_tz_hms(p, 24, &off)))
            return -1;
        z->dst_off = -off;
    }
    /* A summer time with no rule: POSIX leaves the dates to the
     * implementation; TZif footers always give them. */
    if (*p != ',' || !(p = oc_tz_day(p + 1, &z->start)) || *p != ',' ||
        !(p = oc_tz_day(p + 1, &z->end)) || *p)
        return -1;
    z->rule_dst = 1;
    return 0;
}

/* UTC seconds of a rule's change in year y, given the offset in force
 * before it. */
static int64_t oc_tz_change(const struct oc_tzrule_day *d, int64_t y, long off_before)
{
    int64_t day;
    if (d->kind == 'J')
        day = oc_days_from_civil(y, 1, 1) + d->n - 1 + (oc_leap(y) && d->n >= 60);
    else if (d->kind == 'D')
        day = oc_days_from_civil(y, 1, 1) + d->n;
    else {
        static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        int64_t first = oc_days_from_civil(y, d->month, 1);
        int wday_first = (int)(((first + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
        int md = mdays[d->month - 1] + (d->month == 2 && oc_leap(y));
        int mday = 1 + (d->wday - wday_first + 7) % 7 + (d->week - 1) * 7;
        while (mday > md)
            mday -= 7;
        day = first + mday - 1;
    }
    return day * 86400 + d->secs - off_before;
}

static long oc_tz_rule_offset(const struct oc_tz *z, int64_t t, int *isdst)
{
    *isdst = 0;
    if (!z->rule_dst)
        return z->std_off;
    int64_t local = t + z->std_off;
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    /* The year of that day (civil_from_days, year only). */
    int64_t zd = days + 719468;
    int64_t era = (zd >= 0 ? zd : zd - 146096) / 146097;
    int64_t doe = zd - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t y = yoe + era * 400 + (mp >= 10);
    int64_t start = oc_tz_change(&z->start, y, z->std_off);
    int64_t end = oc_tz_change(&z->end, y, z->dst_off);
    int in = start < end ? (t >= start && t < end) : (t >= start || t < end);
    *isdst = in;
    return in ? z->dst_off : z->std_off;
}

static long oc_tz_offset_dst(const struct oc_tz *z, time_t t, int *isdst)
{
    *isdst = 0;
    if (z->n_trans && (int64_t)t >= z->trans[z->n_trans - 1] && z->has_rule)
        return oc_tz_rule_offset(z, (int64_t)t, isdst);
    if (!z->n_trans && z->has_rule)
        return oc_tz_rule_offset(z, (int64_t)t, isdst);
    size_t type = 0;
    if (z->n_trans && (int64_t)t >= z->trans[0]) {
        size_t lo = 0, hi = z->n_trans; /* trans[lo] <= t < trans[hi] */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (z->trans[mid] <= (int64_t)t)
                lo = mid;
            else
                hi = mid;
        }
        type = z->idx[lo];
    }
    if (!z->n_types)
        return 0;
    *isdst = z->isdst[type];
    return z->utoff[type];
}

long oc_tz_offset(const struct oc_tz *z, time_t t)
{
    int isdst;
    return z ? oc_tz_offset_dst(z, t, &isdst) : 0;
}

void oc_tz_localtime(const struct oc_tz *z, time_t t, struct tm *out)
{
    int isdst = 0;
    long off = z ? oc_tz_offset_dst(z, t, &isdst) : 0;
    time_t local = t + off;
    gmtime_r(&local, out);
    out->tm_isdst = isdst;
    out->tm_gmtoff = off;
    out->tm_zone = NULL;
}

static char *oc_tz_fail(const char *why)
{
    return oc_xstrdup(why);
}

/* One TZif header's counts, and the size of the data block after it. */
struct oc_tzif_head {
    uint64_t timecnt, typecnt, body;
};

/* The header at p (checked against end); 0, or -1 with *err set. */
static int oc_tzif_head_read(const unsigned char *p, const unsigned char *end, int tsize,
                             struct oc_tzif_head *h, char **err)
{
    if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4)) {
        *err = oc_tz_fail("a TZif header is cut short");
        return -1;
    }
    uint64_t isutcnt = (uint64_t)oc_be(p + 20, 4), isstdcnt = (uint64_t)oc_be(p + 24, 4),
             leapcnt = (uint64_t)oc_be(p + 28, 4), timecnt = (uint64_t)oc_be(p + 32, 4),
             typecnt = (uint64_t)oc_be(p + 36, 4), charcnt = (uint64_t)oc_be(p + 40, 4);
    if (isutcnt > 256 || isstdcnt > 256 || leapcnt > 65536 || timecnt > 65536 ||
        typecnt == 0 || typecnt > 256 || charcnt > 65536) {
        *err = oc_tz_fail("a TZif header has impossible counts");
        return -1;
    }
    h->timecnt = timecnt;
    h->typecnt = typecnt;
    h->body = timecnt * (uint64_t)tsize + timecnt + typecnt * 6 + charcnt +
              leapcnt * (uint64_t)(tsize + 4) + isstdcnt + isutcnt;
    if ((uint64_t)(end - (p + 44)) < h->body) {
        *err = oc_tz_fail("the TZif data is cut short");
        return -1;
    }
    return 0;
}

/* The transitions and the local time types of the data block at q. NULL
 * with *err set when they are out of order or impossible. */
static struct oc_tz *oc_tzif_body_read(const unsigned char *q, const struct oc_tzif_head *h,
                                       int tsize, char **err)
{
    struct oc_tz *z = oc_xcalloc(1, sizeof *z);
    z->n_trans = (size_t)h->timecnt;
    z->n_types = (size_t)h->typecnt;
    z->trans = oc_xcalloc(h->timecnt + 1, sizeof *z->trans);
    z->idx = oc_xcalloc(h->timecnt + 1, 1);
    z->utoff = oc_xcalloc(h->typecnt, sizeof *z->utoff);
    z->isdst = oc_xcalloc(h->typecnt, 1);
    for (size_t i = 0; i < z->n_trans; i++, q += tsize) {
        z->trans[i] = oc_be(q, tsize);
        if (i && z->trans[i] <= z->trans[i - 1]) {
            *err = oc_tz_fail("the TZif transitions are not in order");
            goto bad;
        }
    }
    for (size_t i = 0; i < z->n_trans; i++, q++) {
        z->idx[i] = *q;
        if (*q >= h->typecnt) {
            *err = oc_tz_fail("a TZif transition names a type that does not exist");
            goto bad;
        }
    }
    for (size_t i = 0; i < z->n_types; i++, q += 6) {
        z->utoff[i] = (long)oc_be(q, 4);
        z->isdst[i] = q[4] != 0;
        if (z->utoff[i] <= -89999 || z->utoff[i] >= 93600) { /* RFC 8536: -25..26 h */
            *err = oc_tz_fail("a TZif type has an impossible UTC offset");
            goto bad;
        }
    }
    return z;
bad:
    oc_tz_free(z);
    return NULL;
}

/* The footer: "\nRULE\n" (version 2+); an empty or unreadable rule leaves
 * the last type in force after the last transition. */
static void oc_tzif_footer_read(struct oc_tz *z, const unsigned char *p,
                                const unsigned char *end)
{
    if (p >= end || *p != '\n')
        return;
    const unsigned char *nl = memchr(p + 1, '\n', (size_t)(end - p - 1));
    if (!nl || nl - p - 1 <= 0 || nl - p - 1 >= 256)
        return;
    char rule[256];
    memcpy(rule, p + 1, (size_t)(nl - p - 1));
    rule[nl - p - 1] = 0;
    struct oc_tz probe = *z;
    if (oc_tz_rule(&probe, rule) == 0)
        *z = probe;
}

struct oc_tz *oc_tz_parse(const unsigned char *p, size_t len, char **err)
{
    const unsigned char *end = p + len;
    *err = NULL;
    if (len < 44 || memcmp(p, "TZif", 4)) {
        *err = oc_tz_fail("not a TZif file");
        return NULL;
    }
    int version = p[4];
    int tsize = 4;
    struct oc_tzif_head h;
    if (oc_tzif_head_read(p, end, tsize, &h, err) != 0)
        return NULL;
    /* Version 2 and later repeat the data with 64-bit times: skip the
     * 32-bit block and read those. */
    if (version >= '2') {
        p += 44 + h.body;
        tsize = 8;
        if (oc_tzif_head_read(p, end, tsize, &h, err) != 0)
            return NULL;
    }
    p += 44;
    struct oc_tz *z = oc_tzif_body_read(p, &h, tsize, err);
    if (!z)
        return NULL;
    p += h.body;
    if (version >= '2')
        oc_tzif_footer_read(z, p, end);
    return z;
}

static int oc_tz_name_ok(const char *name)
{
    if (!*name || name[0] == '/' || strstr(name, ".."))
        return 0;
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/_+-", *p))
            return 0;
    return 1;
}

static struct oc_tz *oc_tz_read(const char *name, char **err)
{
    if (!oc_tz_name_ok(name)) {
        *err = oc_xasprintf("time zone '%s': not a zone name", name);
        return NULL;
    }
    char *path = oc_xasprintf("/usr/share/zoneinfo/%s", name);
    FILE *f = fopen(path, "rb");
    free(path);
    if (!f) {
        *err = oc_xasprintf("time zone '%s': not in /usr/share/zoneinfo (is tzdata installed?)",
                            name);
        return NULL;
    }
    unsigned char *buf = oc_xmalloc(OC_TZIF_MAX);
    size_t n = fread(buf, 1, OC_TZIF_MAX, f);
    fclose(f);
    char *why = NULL;
    struct oc_tz *z = n < OC_TZIF_MAX ? oc_tz_parse(buf, n, &why) : NULL;
    free(buf);
    if (!z)
        *err = oc_xasprintf("time zone '%s': %s", name, why ? why : "the file is too large");
    free(why);
    return z;
}

/* Zones loaded so far, kept for the life of the process: a daemon names a
 * handful, each a few KB. */
struct oc_tz_entry {
    char *name;
    struct oc_tz *z;
    struct oc_tz_entry *next;
};
static struct oc_tz_entry *oc_tz_cache;
static pthread_mutex_t oc_tz_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static const struct oc_tz oc_tz_utc = {0};

const struct oc_tz *oc_tz_get(const char *name, char **err)
{
    if (err)
        *err = NULL;
    if (!name || !*name || !strcmp(name, "UTC"))
        return &oc_tz_utc;
    pthread_mutex_lock(&oc_tz_cache_lock);
    struct oc_tz_entry *e = oc_tz_cache;
    while (e && strcmp(e->name, name))
        e = e->next;
    struct oc_tz *z = e ? e->z : NULL;
    char *why = NULL;
    if (!e && (z = oc_tz_read(name, &why))) {
        e = oc_xcalloc(1, sizeof *e);
        e->name = oc_xstrdup(name);
        e->z = z;
        e->next = oc_tz_cache;
        oc_tz_cache = e;
    }
    pthread_mutex_unlock(&oc_tz_cache_lock);
    if (err)
        *err = why;
    else
        free(why);
    return z;
}
