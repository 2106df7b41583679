/* orch-exec: an executor process. See exec.h and docs/executor.md. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "exec.h"
#include "exec/frame.h"
#include "exec/result.h"
#include "host.h"
#include "proc_env.h"
#include "util.h"

int xe_out_fd = 1;
volatile sig_atomic_t xe_cancelled;
int xe_cancel_rd = -1;
static int xe_cancel_wr = -1;

/* SIGUSR1 from the engine: cancel the job in hand. The pipe makes the
 * cancel visible to plugins blocked in poll(). */
static void xe_on_cancel(int sig)
{
    (void)sig;
    int e = errno;
    xe_cancelled = 1;
    ssize_t w = write(xe_cancel_wr, "c", 1);
    (void)w;
    errno = e;
}

static void xe_reset_cancel(void)
{
    char buf[64];
    while (read(xe_cancel_rd, buf, sizeof buf) > 0)
        ;
    xe_cancelled = 0;
}

static int xe_read_all(int fd, void *buf, size_t n)
{
    char *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Die with the engine: an orphaned executor would hold work nobody
     * records. The engine passes its pid, so that a parent gone before the
     * death signal was armed is seen even when the engine is pid 1. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    long parent = argc > 1 ? strtol(argv[1], NULL, 10) : 0;
    if (parent > 0 ? getppid() != (pid_t)parent : getppid() == 1)
        return 1;
    int p[2];
    if (pipe2(p, O_CLOEXEC | O_NONBLOCK) != 0)
        return 1;
    xe_cancel_rd = p[0];
    xe_cancel_wr = p[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = xe_on_cancel;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    /* The pool starts us with SIGUSR1 blocked (a cancel before the
     * handler existed would have killed us); a pending one lands now. */
    sigset_t usr1;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    sigprocmask(SIG_UNBLOCK, &usr1, NULL);
    signal(SIGPIPE, SIG_IGN);
    /* Before any plugin code (and after the cancel handler, which the
     * engine may need at once): commands inherit only the base variables
     * and the operator's env_passthrough names (argv[2]); secret sources
     * and the rest of the engine's environment stay in a private copy. */
    oc_env_confine(argc > 2 ? argv[2] : NULL);
    /* Frames own stdout; stray printf from a plugin must not corrupt them. */
    xe_out_fd = dup(1);
    fcntl(xe_out_fd, F_SETFD, FD_CLOEXEC);
    dup2(2, 1);
    for (;;) {
        uint8_t hdr[5];
        if (xe_read_all(0, hdr, sizeof hdr) != 0)
            return 0; /* the engine closed the pipe: done */
        size_t len = (size_t)hdr[1] | (size_t)hdr[2] << 8 | (size_t)hdr[3] << 16 |
                     (size_t)hdr[4] << 24;
        if (hdr[0] != OC_FRAME_JSON || len > OC_FRAME_MAX)
            return 2;
        char *buf = oc_xmalloc(len + 1);
        if (xe_read_all(0, buf, len) != 0)
            return 2;
        json_t *req = json_loadb(buf, len, 0, NULL);
        free(buf);
        xe_reset_cancel();
        struct orch_error err;
        oc_error_init(&err);
        json_t *result = NULL;
        orch_status st = req ? xe_run(req, &result, &err)
                             : oc_error_set(&err, ORCH_E_PROTOCOL, "request is not JSON");
        if (st != ORCH_OK && err.code == ORCH_OK)
            err.code = st;
        /* A plugin's "retry after" advice (a 429's Retry-After) travels with
         * the result so the engine's back-off can honour it. */
        if (st != ORCH_OK && err.retry_after_ms > 0)
            oc_res_set_retry_after(&result, err.retry_after_ms);
        xe_send_json(oc_msg_done(st, st != ORCH_OK ? oc_error_text(&err) : NULL, result));
        oc_error_clear(&err);
        json_decref(req);
    }
}
