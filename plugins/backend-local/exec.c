/* Running a command in a local instance: a child (clone without copying
 * the executor's memory) in a new process group, recorded (cmds.c) before
 * it may exec, output streamed as it arrives, and every way out (exit, timeout,
 * cancel) ends with the whole group gone, so no background child of a
 * step outlives it. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <orch/kit.h>

#include "local.h"

extern char **environ;

struct lb_child {
    pid_t pid;
    int pidfd;          /* -1 when the kernel has no pidfd_open */
    int out[2], err[2], in[2];
    int exited;
    int status;
    char *record;       /* what identifies it for a reap (cmds.c) */
    unsigned long long started; /* its start time (/proc), with pid its identity */
};

/* The instance's own variables (the create spec's env), kept beside it as
 * KEY\0VALUE\0 pairs; host-allocated, NULL when there are none. */
static char *lb_inst_env(const struct orch_instance *in, size_t *len)
{
    *len = 0;
    char *path = pk_printf(lb_host, "%s/" LB_ENV_FILE, in->dir);
    int fd = path ? open(path, O_RDONLY | O_CLOEXEC) : -1;
    lb_host->free(path);
    if (fd < 0)
        return NULL;
    char *buf = NULL;
    size_t cap = 0;
    for (;;) {
        if (*len + 4096 > cap) {
            char *nb = lb_host->realloc(buf, cap + 8192);
            if (!nb)
                break;
            buf = nb;
            cap += 8192;
        }
        ssize_t r = read(fd, buf + *len, cap - *len);
        if (r <= 0)
            break;
        *len += (size_t)r;
    }
    close(fd);
    return buf;
}

static int lb_env_has(char **vars, size_t n, const char *entry)
{
    size_t kl = strcspn(entry, "=");
    for (size_t i = 0; i < n; i++)
        if (!strncmp(vars[i], entry, kl) && vars[i][kl] == '=')
            return 1;
    return 0;
}

/* environ with the instance's variables and then req's added or replaced.
 * Host-allocated array; *owned the host-allocated "K=V" strings of the
 * overrides; NULL on OOM. */
static char **lb_env(const struct orch_instance *in, const struct orch_exec_req *req,
                     char ***owned, size_t *n_owned)
{
    size_t n = 0, ilen, n_inst = 0;
    while (environ[n])
        n++;
    char *inst = lb_inst_env(in, &ilen);
    for (size_t p = 0; p < ilen; p += strnlen(inst + p, ilen - p) + 1)
        n_inst++;
    size_t n_mine = req->env_count + n_inst / 2;
    char **env = lb_host->calloc(n + n_mine + 1, sizeof *env);
    char **mine = lb_host->calloc(n_mine + 1, sizeof *mine);
    if (!env || !mine) {
        lb_host->free(env);
        lb_host->free(mine);
        lb_host->free(inst);
        return NULL;
    }
    size_t m = 0;
    for (uint32_t k = 0; k < req->env_count; k++) {
        const char *v = req->env[k].value ? req->env[k].value : "";
        mine[m] = pk_printf(lb_host, "%s=%s", req->env[k].key, v);
        if (!mine[m]) {
            for (size_t i = 0; i < m; i++)
                lb_host->free(mine[i]);
            lb_host->free(mine);
            lb_host->free(env);
            lb_host->free(inst);
            return NULL;
        }
        m++;
    }
    for (size_t p = 0; p + 1 < ilen;) {
        const char *key = inst + p;
        p += strnlen(key, ilen - p) + 1;
        const char *val = p < ilen ? inst + p : "";
        p += strnlen(val, ilen - p) + 1;
        char *kv = pk_printf(lb_host, "%s=%s", key, val);
        if (kv && !lb_env_has(mine, m, kv))
            mine[m++] = kv;
        else
            lb_host->free(kv);
    }
    lb_host->free(inst);
    size_t e = 0;
    for (size_t i = 0; i < n; i++)
        if (!lb_env_has(mine, m, environ[i]))
            env[e++] = environ[i];
    for (size_t k = 0; k < m; k++)
        env[e++] = mine[k];
    *owned = mine;
    *n_owned = m;
    return env;
}

static void lb_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* The child runs on its own stack in the executor's memory (clone with
 * CLONE_VM, lb_clone) until it execs or exits, while the executor's thread
 * waits (CLONE_VFORK) and its other threads go on: it must touch nothing
 * those write, and nothing of it may be instrumented (LB_CHILD_FN). */

/* The child's stack: only system calls run on it, a path and a /proc
 * line are its largest locals; room to spare. */
#define LB_CHILD_STACK (64 * 1024)

/* How the child failed, written by it for the executor to read once the
 * clone returns; 0 = it exec'd. */
enum lb_child_fail { LB_CHILD_OK, LB_CHILD_RECORD, LB_CHILD_CWD, LB_CHILD_EXEC };

/* What the child needs, fixed before it is started; fail and err_no are
 * its answer. */
struct lb_child_arg {
    int in, out, err; /* become 0, 1, 2 */
    int cwd_fd;
    const char *name;  /* argv[0]: searched on path when it has no '/' */
    const char *path;  /* the executor's PATH, as posix_spawnp uses it */
    char *const *argv;
    char *const *env;
    struct lb_cmd_slot *slot;
    int fail, err_no;
};

LB_CHILD_FN static void lb_child_fd(int fd, int target)
{
    if (fd == target)
        syscall(SYS_fcntl, fd, F_SETFD, 0); /* dup onto itself would keep close-on-exec */
    else
        syscall(SYS_dup3, fd, target, 0);
}

/* Every caught signal back to its default, and those the executor ignores
 * that a command must not inherit ignored: a handler must never run in the
 * child, which shares the executor's memory. Signals stay blocked here
 * (lb_clone blocked them all) until just before the exec. */
LB_CHILD_FN static void lb_child_signals(void)
{
    struct sigaction dfl, old;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) {
        if (s > 31 && s < SIGRTMIN)
            continue; /* the C library's own */
        if (sigaction(s, NULL, &old) != 0 || old.sa_handler == SIG_DFL)
            continue;
        if (old.sa_handler != SIG_IGN || s == SIGPIPE || s == SIGINT || s == SIGTERM ||
            s == SIGUSR1 || s == SIGCHLD)
            sigaction(s, &dfl, NULL);
    }
}

/* execve of name, searched on path when it has no '/' as posix_spawnp
 * does (an empty element is the cwd, a directory that refuses us does not
 * end the search); returns only on failure, with the errno to report. */
LB_CHILD_FN static int lb_child_exec(const struct lb_child_arg *a)
{
    const char *n = a->name;
    size_t nl = 0;
    int slash = 0;
    while (n[nl])
        slash |= n[nl++] == '/';
    if (slash) {
        syscall(SYS_execve, n, a->argv, a->env);
        return errno;
    }
    char cand[4096];
    int seen_eacces = 0, e = ENOENT;
    for (const char *p = a->path;; p++) {
        size_t dl = 0;
        while (p[dl] && p[dl] != ':')
            dl++;
        if (dl + nl + 2 <= sizeof cand) {
            size_t k = 0;
            for (size_t i = 0; i < dl; i++)
                cand[k++] = p[i];
            if (dl)
                cand[k++] = '/';
            for (size_t i = 0; i <= nl; i++)
                cand[k++] = n[i];
            syscall(SYS_execve, cand, a->argv, a->env);
            e = errno;
            if (e == EACCES)
                seen_eacces = 1;
            else if (e != ENOENT && e != ENOTDIR && e != ENAMETOOLONG)
                return e;
        }
        p += dl;
        if (!*p)
            break;
    }
    return seen_eacces ? EACCES : e;
}

/* The child (started by lb_clone): only system calls and the few wrappers
 * that write no thread state on success (sigaction, sigprocmask, memset,
 * _exit), on its own stack. Raw ones where the C library's wrapper is a
 * cancellation point (read, write, close) or a sanitizer intercepts it;
 * orch-exec binds every symbol at start (-z now) and the .so build is
 * loaded with RTLD_NOW, so no call here runs the dynamic linker. In its
 * own group first, it records itself (cmds.c), so no command ever runs
 * that a reap could not find, and runs nothing when the executor died
 * meanwhile; then it becomes the command. */
LB_CHILD_FN static int lb_child_run(void *p)
{
    struct lb_child_arg *a = p;
    syscall(SYS_setpgid, 0, 0);
    int e = lb_cmd_record_self(a->slot);
    if (e) {
        a->err_no = e;
        a->fail = LB_CHILD_RECORD;
        _exit(127);
    }
    lb_child_fd(a->in, 0);
    lb_child_fd(a->out, 1);
    lb_child_fd(a->err, 2);
    if (syscall(SYS_fchdir, a->cwd_fd) != 0) {
        a->err_no = errno;
        a->fail = LB_CHILD_CWD;
        _exit(127);
    }
    lb_child_signals();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    a->err_no = lb_child_exec(a);
    a->fail = LB_CHILD_EXEC;
    _exit(127);
}

/* Start the child without copying the executor's address space (a fork
 * copies its page tables and then takes a copy-on-write fault for every
 * page either side writes before the exec: most of what a step cost the
 * executor). Returns once the child has exec'd or exited (CLONE_VFORK,
 * as posix_spawn does), so the stack is free again. */
static pid_t lb_clone(struct lb_child_arg *a)
{
    void *stack = mmap(NULL, LB_CHILD_STACK, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -1;
    /* No handler may run in the child before it has reset them all. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    /* The stack grows down on every architecture Linux runs orch on. */
    pid_t pid = clone(lb_child_run, (char *)stack + LB_CHILD_STACK,
                      CLONE_VM | CLONE_VFORK | SIGCHLD, a);
    int e = errno;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    munmap(stack, LB_CHILD_STACK);
    errno = e;
    return pid;
}

/* The argv to exec: the request's, or /bin/sh -c SCRIPT for a shell
 * request (sh_argv is the room for that one). */
static const char *const *lb_argv(const struct orch_exec_req *req, const char *sh_argv[4])
{
    if (!(req->flags & ORCH_EXEC_SHELL))
        return req->argv;
    sh_argv[0] = "/bin/sh";
    sh_argv[1] = "-c";
    sh_argv[2] = req->argv[0];
    sh_argv[3] = NULL;
    return sh_argv;
}

/* Why a child that did not become the command failed, in err. */
static orch_status lb_child_error(const struct lb_child_arg *a, const struct lb_cmd_slot *slot,
                                  const struct orch_instance *in, struct orch_error *err)
{
    const char *why = strerror(a->err_no);
    switch (a->fail) {
    case LB_CHILD_RECORD:
        if (a->err_no == ESRCH)
            return lb_host->error_set(err, ORCH_E_IO, "the executor died while starting "
                                                      "the command (it was not started)");
        if (!slot->start)
            return lb_host->error_set(err, ORCH_E_IO,
                                      "cannot read the start time of the command's process "
                                      "in /proc (it was not started)");
        return lb_host->error_set(err, ORCH_E_IO,
                                  "cannot record the command in %.*s: %s (it was not started)",
                                  (int)slot->dir_len, slot->path, why);
    case LB_CHILD_CWD:
        return lb_host->error_set(err, ORCH_E_IO, "cannot enter the command's directory in "
                                                  "%s: %s", in->workdir, why);
    default:
        return lb_host->error_set(err, a->err_no == ENOENT ? ORCH_E_NOT_FOUND : ORCH_E_IO,
                                  "cannot run '%s': %s", a->name, why);
    }
}

/* Start the child, which records itself and becomes the command; c->record
 * names its record when it did. */
static orch_status lb_start(struct lb_child *c, const struct orch_instance *in,
                            struct lb_child_arg *a, struct orch_error *err)
{
    struct lb_cmd_slot slot;
    orch_status rc = lb_cmd_slot_init(&slot, in, err);
    if (rc != ORCH_OK)
        return rc;
    a->slot = &slot;
    a->fail = LB_CHILD_OK;
    a->err_no = 0;
    c->pid = lb_clone(a);
    if (c->pid < 0)
        return lb_host->error_set(err, ORCH_E_IO, "clone: %s", strerror(errno));
    if (a->fail == LB_CHILD_OK && slot.written) {
        c->started = slot.start;
        c->record = lb_host->strdup(slot.path);
        if (c->record)
            return ORCH_OK;
        /* Without its record's name the command could not be forgotten. */
        kill(-c->pid, SIGKILL);
        rc = lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    } else {
        rc = lb_child_error(a, &slot, in, err);
    }
    int st;
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (slot.written)
        unlink(slot.path);
    c->pid = -1;
    return rc;
}

static orch_status lb_spawn(struct lb_child *c, const struct orch_instance *in,
                            const struct orch_exec_req *req, int cwd_fd,
                            struct orch_error *err)
{
    c->out[0] = c->out[1] = c->err[0] = c->err[1] = c->in[0] = c->in[1] = -1;
    c->pidfd = -1;
    c->pid = -1;
    const char *sh_argv[4];
    const char *const *argv = lb_argv(req, sh_argv);
    if (pipe2(c->out, O_CLOEXEC) || pipe2(c->err, O_CLOEXEC) || pipe2(c->in, O_CLOEXEC)) {
        orch_status rc = lb_host->error_set(err, ORCH_E_IO, "pipe: %s", strerror(errno));
        int *ends[] = {&c->out[0], &c->out[1], &c->err[0], &c->err[1], &c->in[0], &c->in[1]};
        for (size_t i = 0; i < sizeof ends / sizeof ends[0]; i++)
            lb_close(ends[i]);
        return rc;
    }
    char **owned = NULL;
    size_t n_owned = 0;
    char **env = lb_env(in, req, &owned, &n_owned);
    orch_status rc;
    if (!env) {
        rc = lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    } else {
        const char *path = getenv("PATH");
        struct lb_child_arg a = {c->in[0], c->out[1], c->err[1], cwd_fd, argv[0],
                                 path && *path ? path : "/bin:/usr/bin",
                                 (char *const *)argv, env, NULL, 0, 0};
        rc = lb_start(c, in, &a, err);
    }
    /* A command not started leaves no pipe open in the executor, which
     * runs many commands; a started one has its own copies of these. */
    lb_close(&c->in[0]);
    lb_close(&c->out[1]);
    lb_close(&c->err[1]);
    for (size_t i = 0; i < n_owned; i++)
        lb_host->free(owned[i]);
    lb_host->free(owned);
    lb_host->free(env);
    if (rc != ORCH_OK)
        return rc;
    c->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
    fcntl(c->in[1], F_SETFL, O_NONBLOCK);
    return ORCH_OK;
}

/* Notice the leader's exit without reaping it: a zombie leader keeps its
 * pid (and so the group id) from being reused until we have killed the
 * group. block: reap for good. */
static void lb_reap(struct lb_child *c, int block)
{
    if (block) {
        int st;
        pid_t r;
        do
            r = waitpid(c->pid, &st, 0);
        while (r < 0 && errno == EINTR);
        if (r == c->pid)
            c->status = st;
        c->exited = 1;
        return;
    }
    if (c->exited)
        return;
    siginfo_t si;
    memset(&si, 0, sizeof si);
    if (waitid(P_PID, (id_t)c->pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == c->pid)
        c->exited = 1;
}

/* Kill the group: TERM, up to grace_ms for the leader to go, then KILL. */
static void lb_kill_group(struct lb_child *c, int64_t grace_ms)
{
    kill(-c->pid, SIGTERM);
    int64_t end = lb_host->now_mono_ns() + grace_ms * 1000000;
    while (!c->exited && lb_host->now_mono_ns() < end) {
        if (c->pidfd >= 0) {
            struct pollfd p = {c->pidfd, POLLIN, 0};
            poll(&p, 1, 50);
        } else {
            usleep(20000);
        }
        lb_reap(c, 0);
    }
    kill(-c->pid, SIGKILL);
}

static void lb_emit(struct orch_ctx *ctx, const struct orch_exec_req *req, uint32_t stream,
                    const char *data, size_t len)
{
    if (req->on_output)
        req->on_output(req->ud, stream, data, len);
    else
        lb_host->log_stream(ctx, stream, data, len);
}

/* The request's cwd opened under the instance, or -1 with err saying which
 * directory it was: the command never ran. */
static int lb_open_cwd(struct orch_instance *in, const struct orch_exec_req *req,
                       struct orch_error *err)
{
    int cwd_fd = lb_open_dir(in, req->cwd, err);
    if (cwd_fd >= 0)
        return cwd_fd;
    char *why = lb_host->strdup(err->message ? err->message : "");
    lb_host->error_set(err, err->code, "cwd %s", why ? why : "");
    lb_host->free(why);
    return -1;
}

/* The request's timeout from start, or the ctx's deadline when sooner;
 * 0 = none. */
/* What one round of the streaming loop waits on; an index is -1 when that
 * descriptor is not in the set. */
struct lb_pollset {
    struct pollfd p[5];
    int np, i_out, i_err, i_in, i_cancel;
};

static void lb_pollset_fill(struct lb_pollset *ps, const struct lb_child *c, int cancel_fd)
{
    ps->np = 0;
    ps->i_out = ps->i_err = ps->i_in = ps->i_cancel = -1;
    if (c->out[0] >= 0)
        ps->p[ps->i_out = ps->np++] = (struct pollfd){c->out[0], POLLIN, 0};
    if (c->err[0] >= 0)
        ps->p[ps->i_err = ps->np++] = (struct pollfd){c->err[0], POLLIN, 0};
    if (c->in[1] >= 0)
        ps->p[ps->i_in = ps->np++] = (struct pollfd){c->in[1], POLLOUT, 0};
    if (cancel_fd >= 0)
        ps->p[ps->i_cancel = ps->np++] = (struct pollfd){cancel_fd, POLLIN, 0};
    /* The leader's exit wakes the poll; lb_reap notices it. */
    if (c->pidfd >= 0 && !c->exited)
        ps->p[ps->np++] = (struct pollfd){c->pidfd, POLLIN, 0};
}

/* Hand what stdout and stderr have to the caller; a pipe at EOF (or
 * broken) is closed. */
static void lb_read_outputs(struct lb_child *c, const struct lb_pollset *ps, struct orch_ctx *ctx,
                            const struct orch_exec_req *req)
{
    char buf[65536];
    int *fds[2] = {&c->out[0], &c->err[0]};
    int idx[2] = {ps->i_out, ps->i_err};
    for (int k = 0; k < 2; k++) {
        if (idx[k] < 0 || !(ps->p[idx[k]].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        ssize_t r = read(*fds[k], buf, sizeof buf);
        if (r > 0)
            lb_emit(ctx, req, k == 0 ? ORCH_STREAM_STDOUT : ORCH_STREAM_STDERR, buf, (size_t)r);
        else if (r == 0 || (errno != EINTR && errno != EAGAIN))
            lb_close(fds[k]);
    }
}

/* The rest of stdin, as much as the pipe takes; closed when all is written
 * or the reader is gone. */
struct lb_stdin {
    const char *data;
    uint64_t left;
};

static void lb_feed_stdin(struct lb_child *c, const struct lb_pollset *ps, struct lb_stdin *in)
{
    if (ps->i_in < 0 || !(ps->p[ps->i_in].revents & (POLLOUT | POLLERR | POLLHUP)))
        return;
    ssize_t w = write(c->in[1], in->data, in->left > 65536 ? 65536 : (size_t)in->left);
    if (w > 0) {
        in->data += w;
        in->left -= (uint64_t)w;
    }
    if (in->left == 0 || (w < 0 && errno != EAGAIN && errno != EINTR))
        lb_close(&c->in[1]);
}

/* Stream the command's output and its stdin until the leader is gone and
 * its output drained: ORCH_OK, ORCH_E_TIMEOUT, ORCH_E_CANCELLED, or an
 * error set in err. */
static orch_status lb_stream(struct lb_child *c, struct orch_ctx *ctx,
                             const struct orch_exec_req *req, int64_t deadline,
                             struct orch_error *err)
{
    int cancel_fd = lb_host->cancel_fd(ctx);
    struct lb_stdin in = {req->stdin_data, req->stdin_data ? req->stdin_len : 0};
    if (!in.left)
        lb_close(&c->in[1]);
    int64_t exited_at = 0;
    for (;;) {
        lb_reap(c, 0);
        if (c->exited && !exited_at)
            exited_at = lb_host->now_mono_ns();
        /* The leader is gone: give its output a moment to drain, then
         * stop waiting on descendants that still hold the pipes. */
        if ((c->out[0] < 0 && c->err[0] < 0 && c->exited) ||
            (exited_at && lb_host->now_mono_ns() - exited_at > 200000000))
            return ORCH_OK;
        struct lb_pollset ps;
        lb_pollset_fill(&ps, c, cancel_fd);
        int wait_ms = c->exited ? 50 : c->pidfd >= 0 ? 1000 : 100;
        if (deadline) {
            int64_t left = (deadline - lb_host->now_mono_ns()) / 1000000;
            if (left <= 0)
                return ORCH_E_TIMEOUT;
            if (left < wait_ms)
                wait_ms = (int)left + 1;
        }
        int n = poll(ps.p, (nfds_t)ps.np, wait_ms);
        if (n < 0 && errno != EINTR)
            return lb_host->error_set(err, ORCH_E_IO, "poll: %s", strerror(errno));
        if (lb_host->is_cancelled(ctx) ||
            (ps.i_cancel >= 0 && (ps.p[ps.i_cancel].revents & POLLIN)))
            return ORCH_E_CANCELLED;
        lb_read_outputs(c, &ps, ctx, req);
        lb_feed_stdin(c, &ps, &in);
    }
}

/* Whatever way the streaming ended, nothing of the group survives; the
 * leader is reaped, its record forgotten, and res says how it ended. */
static void lb_finish(struct lb_child *c, const struct orch_instance *in, orch_status outcome,
                      int64_t start, struct orch_exec_res *res)
{
    lb_close(&c->in[1]);
    lb_close(&c->out[0]);
    lb_close(&c->err[0]);
    if (outcome != ORCH_OK || !c->exited)
        lb_kill_group(c, in->be->kill_grace_ms);
    else
        kill(-c->pid, SIGKILL);
    c->exited = 0;
    lb_reap(c, 1);
    if (c->pidfd >= 0)
        close(c->pidfd);
    /* The leader is reaped; a member it left (a background child) may be
     * killed and not dead yet, as the caller would see it. One kill(0)
     * when the group is empty, the usual case; otherwise wait until it is
     * gone. A group that will not die keeps its record, so a later
     * reap_commands finds it: never a second copy beside a survivor. */
    struct orch_error gerr = {.struct_size = sizeof gerr};
    if (kill(-c->pid, 0) != 0 ||
        lb_group_kill_wait(c->pid, c->pid, c->started, &gerr) == ORCH_OK)
        lb_cmd_forget(c->record);
    else
        lb_host->free(c->record);
    lb_host->free(gerr.message);
    res->duration_ns = lb_host->now_mono_ns() - start;
    res->exit_code = WIFEXITED(c->status) ? WEXITSTATUS(c->status) : -1;
    res->term_signal = WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0;
}

orch_status lb_exec(struct orch_instance *in, struct orch_ctx *ctx,
                    const struct orch_exec_req *req, struct orch_exec_res *res,
                    struct orch_error *err)
{
    if (!req->argc || !req->argv || !req->argv[0])
        return lb_host->error_set(err, ORCH_E_INVALID_ARG, "exec: empty command");
    int cwd_fd = lb_open_cwd(in, req, err);
    if (cwd_fd < 0)
        return err->code;
    struct lb_child c = {0};
    int64_t start = lb_host->now_mono_ns();
    orch_status rc = lb_spawn(&c, in, req, cwd_fd, err);
    close(cwd_fd);
    if (rc != ORCH_OK) {
        lb_close(&c.in[1]);
        lb_close(&c.out[0]);
        lb_close(&c.err[0]);
        return rc;
    }
    int64_t deadline = pk_deadline(lb_host, ctx, start, req->timeout_ms);
    orch_status outcome = lb_stream(&c, ctx, req, deadline, err);
    lb_finish(&c, in, outcome, start, res);
    if (outcome == ORCH_E_TIMEOUT)
        return lb_host->error_set(err, ORCH_E_TIMEOUT, "command timed out after %lldms; its "
                                                       "process group was killed",
                                  (long long)(res->duration_ns / 1000000));
    if (outcome == ORCH_E_CANCELLED)
        return lb_host->error_set(err, ORCH_E_CANCELLED,
                                  "cancelled; the command's process group was killed");
    return outcome;
}
