/* Time zones read from their TZif files (RFC 8536; Debian's tzdata under
 * /usr/share/zoneinfo), so orchd's threads convert times without setenv
 * ("TZ") and tzset(), which change the whole process's environment under
 * the other threads' getenv. The transitions in the file, then the POSIX
 * TZ rule in its footer for times after the last one. Leap seconds are
 * not applied (the posix/ zones, which Debian installs as the default,
 * have none). */
#ifndef OC_TZIF_H
#define OC_TZIF_H

#include <stddef.h>
#include <time.h>

struct oc_tz;

/* The zone named (a file under /usr/share/zoneinfo, "UTC", or NULL/"" for
 * UTC), loaded once and kept for the process; thread-safe. NULL with *err
 * (malloc'd, when err is not NULL) when the name is unsafe, the file is
 * missing or not a valid TZif file. */
const struct oc_tz *oc_tz_get(const char *name, char **err);

/* Seconds east of UTC in force at t. */
long oc_tz_offset(const struct oc_tz *z, time_t t);

/* Like localtime_r in that zone: the fields of t's wall-clock time
 * (tm_gmtoff set, tm_zone NULL, tm_isdst 0 or 1). */
void oc_tz_localtime(const struct oc_tz *z, time_t t, struct tm *out);

/* Parse a TZif image (for tests): NULL with *err. Freed with oc_tz_free. */
struct oc_tz *oc_tz_parse(const unsigned char *data, size_t len, char **err);
void oc_tz_free(struct oc_tz *z);

#endif
