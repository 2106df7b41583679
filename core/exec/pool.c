/* The executor pool: orch-exec processes, reused across jobs, one job at a
 * time each, driven from the engine's poll loop. */
#define _GNU_SOURCE
#include "pool.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util.h"
#include "frame.h"
#include "request.h"
#include "result.h"

extern char **environ;

struct oc_worker {
    pid_t pid;
    int to_fd, from_fd;          /* its stdin, its stdout */
    struct oc_frame_rd rd;
    int busy;
    /* the job in flight */
    uint64_t job_id;
    const struct oc_job_cbs *cbs;
    void *ud;
    char *what;                  /* "step-crash" etc., for crash messages */
    int64_t deadline_ns;
    int64_t kill_at_ns;          /* cancel grace end, 0 = not cancelling */
    int cancelled;
};

struct oc_pool {
    char *exec_path;
    uint32_t max;
    struct oc_worker **w;        /* pointers: callbacks may spawn workers */
    size_t n;
    uint64_t next_job;
    _Atomic uint32_t busy;       /* atomic: read by metrics from another thread */
    _Atomic uint64_t crashes;    /* executors that died or were killed mid-job */
    int wake_fd;                 /* -1, or an fd whose readability ends a poll */
    char *env_keep;              /* argv[2] of executors: names kept, or NULL */
};

struct oc_pool *oc_pool_new(const char *exec_path, uint32_t max_workers)
{
    struct oc_pool *p = oc_xcalloc(1, sizeof *p);
    p->exec_path = oc_xstrdup(exec_path);
    p->max = max_workers ? max_workers : 1;
    p->wake_fd = -1;
    p->w = oc_xcalloc(p->max, sizeof *p->w);
    /* A dead executor must show up as EOF on read, not kill the engine. */
    signal(SIGPIPE, SIG_IGN);
    return p;
}

static void oc_worker_close(struct oc_worker *w)
{
    if (w->to_fd >= 0)
        close(w->to_fd);
    if (w->from_fd >= 0)
        close(w->from_fd);
    w->to_fd = w->from_fd = -1;
    oc_frame_rd_free(&w->rd);
}

/* Kill, reap, and return how it ended (waitpid status). */
static int oc_worker_kill(struct oc_worker *w, int sig)
{
    kill(-w->pid, sig);
    kill(w->pid, sig);
    int st = 0;
    while (waitpid(w->pid, &st, 0) < 0 && errno == EINTR)
        ;
    oc_worker_close(w);
    return st;
}

void oc_pool_free(struct oc_pool *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        struct oc_worker *w = p->w[i];
        /* Idle executors exit on EOF; busy ones are killed. */
        if (!w->busy) {
            close(w->to_fd);
            w->to_fd = -1;
            int st;
            int64_t end = oc_now_mono_ns() + 2000000000LL;
            while (waitpid(w->pid, &st, WNOHANG) == 0 && oc_now_mono_ns() < end)
                usleep(2000);
        }
        oc_worker_kill(w, SIGKILL);
        free(w->what);
        free(w);
    }
    free(p->w);
    free(p->exec_path);
    free(p->env_keep);
    free(p);
}

static struct oc_worker *oc_worker_spawn(struct oc_pool *p)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return NULL;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return NULL;
    }
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    /* SIGUSR1 (cancel) stays blocked until orch-exec has its handler: a
     * cancel sent while it starts would otherwise kill it, and read as a
     * crash. */
    sigset_t blocked, deflt;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGUSR1);
    sigemptyset(&deflt);
    sigaddset(&deflt, SIGPIPE);
    sigaddset(&deflt, SIGINT);
    sigaddset(&deflt, SIGTERM);
    posix_spawnattr_setsigmask(&at, &blocked);
    posix_spawnattr_setsigdefault(&at, &deflt);
    /* Its own group: a Ctrl-C on the terminal reaches orch, which cancels
     * steps in order, not every executor at once. */
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    /* The executor checks it still has this parent after arming its death
     * signal; a fixed "parent is not init" test breaks where the engine is
     * pid 1 itself (orchd as a container's entrypoint). */
    char parent[24];
    snprintf(parent, sizeof parent, "%ld", (long)getpid());
    char *argv[] = {p->exec_path, parent, p->env_keep, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, p->exec_path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(out[1]);
    if (rc != 0) {
        close(in[1]);
        close(out[0]);
        errno = rc;
        return NULL;
    }
    struct oc_worker *w = oc_xcalloc(1, sizeof *w);
    w->pid = pid;
    w->to_fd = in[1];
    w->from_fd = out[0];
    p->w[p->n++] = w;
    return w;
}

void oc_pool_set_env_keep(struct oc_pool *p, const char *csv)
{
    free(p->env_keep);
    p->env_keep = csv && *csv ? oc_xstrdup(csv) : NULL;
}

void oc_pool_prespawn(struct oc_pool *p)
{
    if (p->n == 0 && p->max > 0)
        oc_worker_spawn(p);
}

int oc_pool_submit(struct oc_pool *p, json_t *req, int64_t deadline_ns,
                   const struct oc_job_cbs *cbs, void *ud, uint64_t *job_id)
{
    if (!req)
        return -1; /* a builder refused it: no executor is spent on it */
    struct oc_worker *w = NULL;
    for (size_t i = 0; i < p->n && !w; i++)
        if (!p->w[i]->busy)
            w = p->w[i];
    if (!w && p->n < p->max)
        w = oc_worker_spawn(p);
    if (!w) {
        json_decref(req);
        return -1;
    }
    char *text = json_dumps(req, JSON_COMPACT);
    const char *plug = oc_req_first_plugin(req);
    free(w->what);
    w->what = oc_xstrdup(plug ? plug : "a plugin");
    json_decref(req);
    /* The executor is idle and reading: a blocking write completes. */
    if (!text || oc_frame_write(w->to_fd, OC_FRAME_JSON, text, strlen(text)) != 0) {
        free(text);
        /* It died while idle; drop it and let the caller try again. */
        oc_worker_kill(w, SIGKILL);
        for (size_t i = 0; i < p->n; i++)
            if (p->w[i] == w) {
                p->w[i] = p->w[--p->n];
                break;
            }
        free(w->what);
        free(w);
        return -1;
    }
    free(text);
    w->busy = 1;
    w->job_id = ++p->next_job;
    w->cbs = cbs;
    w->ud = ud;
    w->deadline_ns = deadline_ns;
    w->kill_at_ns = 0;
    w->cancelled = 0;
    p->busy++;
    *job_id = w->job_id;
    return 0;
}

void oc_pool_cancel(struct oc_pool *p, uint64_t job_id, int64_t grace_ms)
{
    for (size_t i = 0; i < p->n; i++) {
        struct oc_worker *w = p->w[i];
        if (w->busy && w->job_id == job_id && !w->cancelled) {
            w->cancelled = 1;
            w->kill_at_ns = oc_now_mono_ns() + grace_ms * 1000000;
            kill(w->pid, SIGUSR1);
        }
    }
}

/* The job is over: the worker is free before the callback runs, so the
 * callback may submit the next job. */
static void oc_job_finish(struct oc_pool *p, struct oc_worker *w, orch_status st,
                          const char *msg, json_t *result)
{
    const struct oc_job_cbs *cbs = w->cbs;
    void *ud = w->ud;
    w->busy = 0;
    w->cbs = NULL;
    p->busy--;
    cbs->on_done(ud, st, msg, result);
}

static void oc_worker_remove(struct oc_pool *p, size_t i)
{
    struct oc_worker *w = p->w[i];
    p->w[i] = p->w[--p->n];
    free(w->what);
    free(w);
}

/* The executor is gone (EOF, protocol error or our kill): finish its job
 * with a message that says how it ended. */
static void oc_worker_died(struct oc_pool *p, size_t i, orch_status forced,
                           const char *why)
{
    struct oc_worker *w = p->w[i];
    int st = oc_worker_kill(w, SIGKILL);
    char *msg;
    orch_status code = forced;
    if (forced == ORCH_E_TIMEOUT)
        msg = oc_xasprintf("%s did not return by its deadline; its executor was killed",
                           w->what);
    else if (forced == ORCH_E_CANCELLED)
        msg = oc_xasprintf("%s did not stop when cancelled; its executor was killed",
                           w->what);
    else if (why)
        msg = oc_xasprintf("executor protocol error while running %s: %s", w->what, why);
    else if (WIFSIGNALED(st))
        msg = oc_xasprintf("executor killed by signal %d (SIG%s) while running %s",
                           WTERMSIG(st), sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?",
                           w->what);
    else
        msg = oc_xasprintf("executor exited with status %d while running %s",
                           WIFEXITED(st) ? WEXITSTATUS(st) : -1, w->what);
    if (!forced)
        code = ORCH_E_PLUGIN_CRASHED;
    p->crashes++;
    int was_busy = w->busy;
    if (was_busy) {
        const struct oc_job_cbs *cbs = w->cbs;
        void *ud = w->ud;
        w->busy = 0;
        p->busy--;
        oc_worker_remove(p, i);
        cbs->on_done(ud, code, msg, NULL);
    } else {
        oc_worker_remove(p, i);
    }
    free(msg);
}

/* One frame from a worker. Returns 1 when it completed the job, -1 on a
 * protocol error, else 0. */
static int oc_worker_frame(struct oc_pool *p, struct oc_worker *w, uint8_t type,
                           const char *data, size_t len)
{
    if (!w->busy)
        return -1;
    const struct oc_job_cbs *cbs = w->cbs;
    switch (type) {
    case OC_FRAME_STDOUT:
    case OC_FRAME_STDERR:
        if (cbs->on_stream)
            cbs->on_stream(w->ud, type == OC_FRAME_STDOUT ? ORCH_STREAM_STDOUT
                                                          : ORCH_STREAM_STDERR,
                           data, len);
        return 0;
    case OC_FRAME_LOG: {
        if (len < 1)
            return -1;
        char *line = oc_xstrndup(data + 1, len - 1);
        if (cbs->on_log)
            cbs->on_log(w->ud, (uint8_t)data[0], line);
        free(line);
        return 0;
    }
    default:
        break;
    }
    json_t *j = json_loadb(data, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    int done = 0;
    struct oc_msg m;
    oc_msg_read(j, &m);
    switch (m.type) {
    case OC_MSG_DONE: {
        orch_status st = m.status;
        /* A cancel the plugin honoured reports as cancelled, whatever it said. */
        if (w->cancelled && st != ORCH_OK && st != ORCH_E_CANCELLED)
            st = ORCH_E_CANCELLED;
        oc_job_finish(p, w, st, m.message, m.result);
        done = 1;
        break;
    }
    case OC_MSG_OUTPUT:
        if (cbs->on_output)
            cbs->on_output(w->ud, m.key, m.value);
        break;
    case OC_MSG_AT:
        /* The plugin slot now running: crash and hang messages name it. */
        free(w->what);
        w->what = oc_xstrdup(m.at);
        break;
    case OC_MSG_EVENT:
        if (cbs->on_event)
            cbs->on_event(w->ud, m.event, m.data, m.core);
        break;
    case OC_MSG_INVALID:
        json_decref(j);
        return -1;
    }
    json_decref(j);
    return done;
}

/* Read what a worker sent; returns jobs completed, or -1 when it died (it
 * is removed). */
static int oc_worker_read(struct oc_pool *p, size_t i)
{
    struct oc_worker *w = p->w[i];
    char buf[65536];
    ssize_t n = read(w->from_fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        oc_worker_died(p, i, ORCH_OK, NULL);
        return -1;
    }
    oc_buf_add(&w->rd.buf, buf, (size_t)n);
    int completed = 0;
    uint8_t type;
    const char *payload;
    size_t len;
    int r;
    while ((r = oc_frame_next(&w->rd, &type, &payload, &len)) == 1) {
        int f = oc_worker_frame(p, w, type, payload, len);
        if (f < 0) {
            oc_worker_died(p, i, ORCH_OK, "malformed message");
            return -1;
        }
        completed += f;
    }
    if (r < 0) {
        oc_worker_died(p, i, ORCH_OK, "malformed frame");
        return -1;
    }
    return completed;
}

int oc_pool_poll(struct oc_pool *p, int timeout_ms)
{
    int64_t now = oc_now_mono_ns();
    int completed = 0;
    /* Deadlines first: a hung plugin is killed even if it is silent. */
    for (size_t i = 0; i < p->n;) {
        struct oc_worker *w = p->w[i];
        if (w->busy && w->kill_at_ns && now >= w->kill_at_ns) {
            oc_worker_died(p, i, ORCH_E_CANCELLED, NULL);
            completed++;
            continue;
        }
        if (w->busy && w->deadline_ns && now >= w->deadline_ns) {
            oc_worker_died(p, i, ORCH_E_TIMEOUT, NULL);
            completed++;
            continue;
        }
        i++;
    }
    size_t n = p->n;
    struct pollfd *fds = oc_xcalloc(n + 1, sizeof *fds);
    struct oc_worker **ws = oc_xcalloc(n + 1, sizeof *ws);
    int wait = timeout_ms;
    for (size_t i = 0; i < n; i++) {
        struct oc_worker *w = p->w[i];
        ws[i] = w;
        fds[i] = (struct pollfd){w->from_fd, POLLIN, 0};
        int64_t next = w->kill_at_ns ? w->kill_at_ns : w->busy ? w->deadline_ns : 0;
        if (next) {
            int64_t ms = (next - now) / 1000000 + 1;
            if (wait < 0 || ms < wait)
                wait = ms < 0 ? 0 : (int)ms;
        }
    }
    if (completed)
        wait = 0;
    fds[n] = (struct pollfd){p->wake_fd, POLLIN, 0};
    int r = poll(fds, (nfds_t)n + (p->wake_fd >= 0), wait);
    if (r > 0 && p->wake_fd >= 0 && (fds[n].revents & POLLIN)) {
        char drain[64];
        while (read(p->wake_fd, drain, sizeof drain) > 0)
            ;
    }
    for (size_t k = 0; r > 0 && k < n; k++) {
        if (!(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        /* Callbacks may have removed or moved workers: find it again. */
        for (size_t i = 0; i < p->n; i++)
            if (p->w[i] == ws[k]) {
                int c = oc_worker_read(p, i);
                completed += c > 0 ? c : c < 0 ? 1 : 0;
                break;
            }
    }
    free(fds);
    free(ws);
    return completed;
}

void oc_pool_set_wake_fd(struct oc_pool *p, int fd)
{
    p->wake_fd = fd;
}

uint32_t oc_pool_busy(const struct oc_pool *p)
{
    return p->busy;
}

uint32_t oc_pool_capacity(const struct oc_pool *p)
{
    return p->max;
}

void oc_pool_stats(const struct oc_pool *p, struct oc_pool_stats *out)
{
    out->busy = p->busy;
    out->capacity = p->max;
    out->crashes = p->crashes;
}
