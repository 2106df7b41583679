/* An LD_PRELOAD shim for the tests that need an engine killed -9 at one
 * precise point of what its executor does, not wherever a timed kill lands
 * (tests/e2e/test_destroy_killed.sh). In orch-exec, an rmdir() of a path
 * that matches ORCH_TEST_DIE_AT_RMDIR (fnmatch with FNM_PATHNAME: a * does
 * not cross a /) kills the executor's parent, the engine driving it, and
 * then waits for its own death signal (PR_SET_PDEATHSIG) without removing
 * anything: the state an engine killed at that moment leaves, every time.
 * Other processes and other paths go through unchanged. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fnmatch.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *die_pattern;

/* Read before main: an executor confines its environment (clearenv)
 * before any plugin code runs. */
__attribute__((constructor)) static void die_init(void)
{
    const char *pat = getenv("ORCH_TEST_DIE_AT_RMDIR");
    if (pat && *pat && !strcmp(program_invocation_short_name, "orch-exec"))
        die_pattern = strdup(pat);
}

int rmdir(const char *path)
{
    static int (*real)(const char *);
    if (die_pattern && fnmatch(die_pattern, path, FNM_PATHNAME) == 0) {
        kill(getppid(), SIGKILL);
        /* Returning, even to fail the call, would let the plugin go on. */
        for (;;)
            pause();
    }
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "rmdir");
    if (!real) {
        errno = ENOSYS;
        return -1;
    }
    return real(path);
}
