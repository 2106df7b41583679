/* The control flags: keys of the store's flag table through which the CLI,
 * the daemon's API, its scheduler and engines signal each other. The one
 * place their names are spelled; writes go through core/runctl.h
 * (oc_flag_write) or, for a run an engine drives, core/engine/ledger.c. */
#ifndef OC_FLAGS_H
#define OC_FLAGS_H

/* Daemon-wide switches, value "1" or absent. */
#define OC_FLAG_PAUSED "paused"     /* claim no new runs, fire no schedules */
#define OC_FLAG_PROOF "proof"       /* runs started or claimed from now on plan only */
#define OC_FLAG_DRAINING "draining" /* like paused, until a daemon starts */

/* Per-run and per-schedule keys: the prefix, then the run id or name. */
#define OC_FLAG_CANCEL "cancel/"     /* value "1": cancel the run */
#define OC_FLAG_DEADLINE "deadline/" /* value ns: a parked approval times out */
#define OC_FLAG_SCHEDULE "schedule/" /* value s: the schedule's last slot */
/* A concurrency group's member: "cgroup/<sha256 of the key>/<run id>",
 * value "held" or "wait" (core/concurrency.h); "cgroup/<sha256>" alone is
 * the named lease that serializes the group's admissions. */
#define OC_FLAG_CGROUP "cgroup/"

/* Retention's artifacts pass: "NS ID", the (updated_ns, id) of the last
 * ended run whose artifacts it handled, so a sweep starts after it. */
#define OC_FLAG_RETENTION_ARTIFACTS "retention/artifacts"

/* One of the three switches above. */
int oc_flag_is_switch(const char *key);
/* prefix + name, malloc'd. */
char *oc_flag_key(const char *prefix, const char *name);
/* What follows prefix in key; NULL when key does not start with it. */
const char *oc_flag_name(const char *key, const char *prefix);

#endif
