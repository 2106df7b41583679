/* liborch-conformance: the behavioural suite behind `orch-plugin check`
 * and `orch-plugin test`, as a library so a plugin's own CTest can run it.
 * Every case runs in a child process with a deadline: a crash or a hang is
 * a failed case, never a dead runner. Not part of the plugin ABI: test
 * programs link it, plugins never do. */
#ifndef ORCH_CONFORMANCE_H
#define ORCH_CONFORMANCE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ORCH_CONFORMANCE_PASS 0   /* every case passed or was skipped */
#define ORCH_CONFORMANCE_FAIL 1   /* at least one case failed */
#define ORCH_CONFORMANCE_USAGE 2  /* bad arguments, config, or an unloadable plugin */

struct orch_conformance_opts {
    uint32_t struct_size;      /* sizeof(struct orch_conformance_opts) */
    const char *config_path;   /* conformance.yaml; NULL = defaults */
    const char *filter;        /* POSIX extended regex over case names; NULL = all */
    int32_t torture;           /* also fail every host allocation in turn */
    int32_t verbose;           /* print the plugin's log lines to stderr as cases run */
    int64_t case_timeout_ms;   /* 0 = the config's case_timeout, else 120 s */
    const char *tap_path;      /* write TAP here ("-" = stdout instead of text) */
    const char *junit_path;    /* write JUnit XML here */
};

/* orch-plugin test: the behavioural suite for the plugin's kind. */
int orch_conformance_run(const char *plugin_path,
                         const struct orch_conformance_opts *opts);
/* orch-plugin check: static and load-time checks. */
int orch_conformance_check(const char *plugin_path,
                           const struct orch_conformance_opts *opts);
/* orch-plugin info: plugin is a .so path or a name on the search path. */
int orch_conformance_info(const char *plugin, int32_t json);

#ifdef __cplusplus
}
#endif
#endif
