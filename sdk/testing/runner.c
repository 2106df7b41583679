/* Runs each case in a child process with a deadline, so a crash or hang
 * in the plugin is one failed case and the suite goes on (the GStreamer
 * registry scanner's lesson). Results come back as lines on a pipe:
 * "F msg" failure, "S why" skip, "N text" progress. */
#define _GNU_SOURCE
#include "cf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "registry.h"
#include "report.h"

static void cf_line(struct cf *c, char tag, const char *fmt, va_list ap)
{
    char *msg = oc_xvasprintf(fmt, ap);
    for (char *p = msg; *p; p++)  /* one result per line */
        if (*p == '\n')
            *p = ' ';
    char *line = oc_xasprintf("%c %s\n", tag, msg);
    size_t n = strlen(line), off = 0;
    while (off < n) {
        ssize_t w = write(c->out_fd, line + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(line);
    free(msg);
}

void cf_fail(struct cf *c, const char *fmt, ...)
{
    if (c->quiet) {
        c->failed++;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    cf_line(c, 'F', fmt, ap);
    va_end(ap);
    c->failed++;
}

void cf_skip(struct cf *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cf_line(c, 'S', fmt, ap);
    va_end(ap);
    c->skipped++;
}

void cf_note(struct cf *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cf_line(c, 'N', fmt, ap);
    va_end(ap);
}

orch_status cf_fail_err(struct cf *c, orch_status rc, const struct orch_error *err,
                        const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *what = oc_xvasprintf(fmt, ap);
    va_end(ap);
    cf_fail(c, "%s: %s (%s)", what, err && err->message ? err->message : "no message",
            orch_strerror(rc));
    free(what);
    return rc;
}

static int64_t cf_ms_since(int64_t t0)
{
    return (oc_now_mono_ns() - t0) / 1000000;
}

static void cf_child(const struct cf_case *k, struct cf *c, int fd)
{
    setpgid(0, 0);
    cf_slots_child();
    /* Whatever a misbehaving plugin writes to its cwd lands in the case's
     * own directory, removed afterwards. */
    if (c->tmp && chdir(c->tmp) != 0)
        _exit(3);
    c->out_fd = fd;
    k->fn(c);
    _exit(0);
}

/* Read the child's lines until EOF or the deadline. 1 = timed out. */
static int cf_collect(int fd, int64_t deadline_ns, struct cf_report_case *r)
{
    struct oc_buf in = {0};
    int timed_out = 0;
    for (;;) {
        int64_t left = (deadline_ns - oc_now_mono_ns()) / 1000000;
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int n = poll(&p, 1, left > 1000 ? 1000 : (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            continue;
        char buf[4096];
        ssize_t got = read(fd, buf, sizeof buf);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        oc_buf_add(&in, buf, (size_t)got);
    }
    char *text = oc_buf_steal(&in);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        if (strlen(line) < 2)
            continue;
        if (line[0] == 'F')
            cf_report_add_failure(r, line + 2);
        else if (line[0] == 'S') {
            free(r->skip);
            r->skip = oc_xstrdup(line + 2);
        } else if (line[0] == 'N') {
            free(r->last_note);
            r->last_note = oc_xstrdup(line + 2);
        }
    }
    free(text);
    return timed_out;
}

/* "<slot> duration" for a hang: how long the slot had been running. */
static char *cf_span(int64_t ms)
{
    return ms >= 1000 ? oc_xasprintf("> %lld s", (long long)(ms / 1000))
                      : oc_xasprintf("> %lld ms", (long long)ms);
}

/* Why a case's process ended without its result, naming the plugin slot it
 * was inside (from the shared record, slots.h): "backend.exec crashed
 * (SIGSEGV)", "store.run_cas hung (> 30 s)". A case that died while no slot
 * ran says so and names the last slot that returned: then the suite, a
 * plugin thread or memory a slot corrupted earlier is to blame. */
static char *cf_died_message(int timed_out, int st, int64_t timeout_ms, const char *note)
{
    struct cf_slot_where w;
    cf_slots_where(&w);
    char *slot = w.slot ? w.outer ? oc_xasprintf("%s (inside %s)", w.slot, w.outer)
                                  : oc_xstrdup(w.slot)
                        : NULL;
    char *idle = w.last ? oc_xasprintf("while no plugin slot was running (the last one "
                                       "called, %s, had returned)", w.last)
                        : oc_xstrdup("before any plugin slot was called");
    char *what;
    if (timed_out) {
        char *span = cf_span(w.running_ms);
        what = slot ? oc_xasprintf("%s hung (%s): no result after %lld ms; killed", slot, span,
                                   (long long)timeout_ms)
                    : oc_xasprintf("hung %s: no result after %lld ms; killed", idle,
                                   (long long)timeout_ms);
        free(span);
    } else if (WIFSIGNALED(st)) {
        const char *sig = sigabbrev_np(WTERMSIG(st));
        what = slot ? oc_xasprintf("%s crashed (SIG%s, signal %d)", slot, sig ? sig : "?",
                                   WTERMSIG(st))
                    : oc_xasprintf("crashed (SIG%s, signal %d) %s", sig ? sig : "?",
                                   WTERMSIG(st), idle);
    } else {
        what = slot ? oc_xasprintf("%s ended the case's process (exit status %d)", slot,
                                   WEXITSTATUS(st))
                    : oc_xasprintf("the case's process exited with status %d %s",
                                   WEXITSTATUS(st), idle);
    }
    char *m = note && *note ? oc_xasprintf("%s; the case was at: %s", what, note)
                            : oc_xstrdup(what);
    free(what);
    free(idle);
    free(slot);
    return m;
}

/* After a case's process died or was killed, what its backend started in
 * the case's directory (a local instance's commands run in process groups
 * of their own, beyond the case's group) would run on: each process whose
 * working directory is under dir loses its group, or itself. */
static void cf_kill_leftovers(const char *dir)
{
    size_t n = strlen(dir);
    DIR *proc = opendir("/proc");
    if (!proc)
        return;
    struct dirent *e;
    while ((e = readdir(proc))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 1 || pid == (long)getpid())
            continue;
        char link[64], cwd[4096];
        snprintf(link, sizeof link, "/proc/%ld/cwd", pid);
        ssize_t len = readlink(link, cwd, sizeof cwd - 1);
        if (len <= 0)
            continue;
        cwd[len] = '\0';
        if (strncmp(cwd, dir, n) || (cwd[n] && cwd[n] != '/' && cwd[n] != ' '))
            continue; /* " (deleted)" follows a removed directory */
        pid_t g = getpgid((pid_t)pid);
        if (g > 1 && g != getpgrp())
            kill(-g, SIGKILL);
        kill((pid_t)pid, SIGKILL);
    }
    closedir(proc);
}

static void cf_run_one(const struct cf_case *k, struct cf *proto,
                       int64_t timeout_ms, struct cf_report_case *r)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        cf_report_add_failure(r, "runner: pipe failed");
        return;
    }
    char tmpl[] = "/tmp/orch-conformance-XXXXXX";
    struct cf c = *proto;
    c.tmp = mkdtemp(tmpl);
    int64_t t0 = oc_now_mono_ns();
    cf_slots_reset();
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        cf_child(k, &c, fds[1]);
    }
    close(fds[1]);
    if (pid < 0) {
        cf_report_add_failure(r, "runner: fork failed");
        close(fds[0]);
        return;
    }
    setpgid(pid, pid);
    int timed_out = cf_collect(fds[0], t0 + timeout_ms * 1000000, r);
    close(fds[0]);
    if (timed_out) {
        kill(-pid, SIGKILL);
        kill(pid, SIGKILL);
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    r->ms = cf_ms_since(t0);
    if (timed_out || WIFSIGNALED(st) || WEXITSTATUS(st) != 0) {
        char *m = cf_died_message(timed_out, st, timeout_ms, r->last_note);
        cf_report_add_failure(r, m);
        free(m);
        if (c.tmp)
            cf_kill_leftovers(c.tmp);
    }
    if (c.tmp)
        oc_rm_rf(c.tmp);
}

int cf_run_into(struct cf_report *rep, const char *path, const struct orch_plugin_desc *desc,
                const struct cf_case *cases, const struct cf_conf *conf,
                const struct orch_conformance_opts *o)
{
    regex_t re;
    if (o->filter && regcomp(&re, o->filter, REG_EXTENDED | REG_NOSUB) != 0) {
        fprintf(stderr, "orch-plugin: --run '%s' is not a valid regular expression\n", o->filter);
        return -1;
    }
    char owner[64];
    snprintf(owner, sizeof owner, "orch-conformance-%ld", (long)getpid());
    struct cf proto = {.desc = desc, .plugin_path = path, .conf = conf,
                       .owner = owner, .torture = o->torture,
                       .verbose = o->verbose || getenv("ORCH_CONFORMANCE_VERBOSE")};
    int64_t timeout = o->case_timeout_ms ? o->case_timeout_ms
                      : conf->case_timeout_ms ? conf->case_timeout_ms : 120000;
    for (const struct cf_case *k = cases; k->name; k++) {
        if (k->torture_only && !o->torture)
            continue;
        if (o->filter && regexec(&re, k->name, 0, NULL, 0) != 0)
            continue;
        struct cf_report_case *r = cf_report_case(rep, k->name);
        if (k->cap && desc && (desc->caps & k->cap) != k->cap) {
            /* Name the first capability the case needs and the plugin lacks. */
            uint64_t missing = k->cap & ~desc->caps;
            const char *cn = oc_cap_slot_name(desc->kind, missing & (~missing + 1));
            r->skip = oc_xasprintf("capability %s not declared", cn ? cn : "?");
        } else {
            cf_run_one(k, &proto, timeout, r);
        }
        cf_report_case_done(rep, r);
    }
    if (o->filter)
        regfree(&re);
    return 0;
}

int cf_run_cases(const char *path, const struct orch_plugin_desc *desc,
                 const struct cf_case *cases, const struct cf_conf *conf,
                 const struct orch_conformance_opts *o, const char *suite)
{
    struct cf_report *rep = cf_report_new(suite, o);
    int bad = cf_run_into(rep, path, desc, cases, conf, o);
    int rc = cf_report_finish(rep);
    return bad ? ORCH_CONFORMANCE_USAGE : rc;
}
