/* Where the orch-exec helper is: beside the running binary in the build
 * tree and the install tree alike. */
#define _GNU_SOURCE
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../util.h"
#include "pool.h"

#ifndef ORCH_LIBEXEC_SUBDIR
#define ORCH_LIBEXEC_SUBDIR "libexec/orch"
#endif
#ifndef ORCH_INSTALL_LIBEXEC_DIR
#define ORCH_INSTALL_LIBEXEC_DIR "/usr/local/libexec/orch"
#endif

char *oc_exec_find(void)
{
    const char *env = getenv("ORCH_EXEC");
    if (env && *env)
        return access(env, X_OK) == 0 ? oc_xstrdup(env) : NULL;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *slash = strrchr(exe, '/');
        if (slash)
            *slash = 0;
        const char *rel[] = {"/../" ORCH_LIBEXEC_SUBDIR "/orch-exec", "/orch-exec"};
        for (size_t i = 0; i < 2; i++) {
            char *cand = oc_xasprintf("%s%s", exe, rel[i]);
            if (access(cand, X_OK) == 0)
                return cand;
            free(cand);
        }
    }
    if (access(ORCH_INSTALL_LIBEXEC_DIR "/orch-exec", X_OK) == 0)
        return oc_xstrdup(ORCH_INSTALL_LIBEXEC_DIR "/orch-exec");
    return NULL;
}
