/* What identifies a command exec started, recorded before it can run, and
 * the reap that kills what an interrupted exec left behind.
 *
 * A record is <instance dir>/.orch-cmds/<pid>: "orch-cmd 1 PID PGID START
 * BOOT", START being field 22 of /proc/PID/stat (clock ticks since boot), so
 * a reused pid is never taken for ours, and BOOT the kernel's boot id: after
 * a reboot pids and start ticks repeat (a daemon started at boot runs the
 * same commands at the same moments), and a record of an earlier boot names
 * nothing alive. A record without BOOT (written by an older orch) is read
 * as before.
 *
 * The command's own process writes it (lb_cmd_record_self), in its group
 * already and before its exec, with one write(2) to a file it creates (an
 * older orch wrote NAME.tmp and renamed it: a .tmp is never read). It is not
 * fsynced: it must outlive the process that wrote it, which the page cache
 * does, not a crash of the host, which kills every command it could name.
 * Two flushes per command doubled the cost of a step (bench/compare.sh
 * chain-200). It sits beside work/, not in it: the command's own `rm -rf`
 * of its work dir cannot remove it. exec removes it when it returns; one
 * left behind names a command whose exec never returned. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <orch/kit.h>

#include "local.h"

/* How long reap waits for a killed group to be gone: SIGKILL cannot be
 * caught, but a process in uninterruptible sleep (NFS, a slow disk) dies
 * only when the kernel lets it. */
#define LB_REAP_WAIT_MS 30000

struct lb_proc {
    char state;
    long pgrp;
    unsigned long long start;
};

/* A number of a /proc line from buf[*i] up to the next non-digit. */
LB_CHILD_FN static unsigned long long lb_stat_num(const char *buf, long n, long *i)
{
    unsigned long long v = 0;
    for (; *i < n && buf[*i] >= '0' && buf[*i] <= '9'; (*i)++)
        v = v * 10 + (unsigned long long)(buf[*i] - '0');
    return v;
}

/* Fields 3, 5 and 22 of the n bytes of a /proc/PID/stat line; -1 when it
 * is not one. No C library: the exec's child reads its own (see
 * LB_CHILD_FN). */
LB_CHILD_FN static int lb_stat_parse(const char *buf, long n, struct lb_proc *p)
{
    /* The command name (field 2) may hold spaces and parentheses. */
    long i = n - 1;
    while (i >= 0 && buf[i] != ')')
        i--;
    if (i < 0 || i + 2 >= n || buf[i + 1] != ' ')
        return -1;
    i += 2;
    p->state = buf[i];
    for (int field = 3; field < 22; i++) {
        if (i >= n)
            return -1;
        if (buf[i] == ' ' && ++field == 5) {
            long j = i + 1;
            p->pgrp = (long)lb_stat_num(buf, n, &j);
        }
    }
    p->start = lb_stat_num(buf, n, &i);
    return 0;
}

/* Fields 3, 5 and 22 of /proc/PID/stat; -1 when there is no such process. */
static int lb_proc_read(long pid, struct lb_proc *p)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    return n > 0 ? lb_stat_parse(buf, (long)n, p) : -1;
}

static int lb_proc_gone(const struct lb_proc *p)
{
    return p->state == 'Z' || p->state == 'X';
}

/* The kernel's boot id (a UUID), "" when it cannot be read; read once per
 * process: it cannot change while we run. */
static char lb_boot[40];
static pthread_once_t lb_boot_once = PTHREAD_ONCE_INIT;

static void lb_boot_read(void)
{
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, lb_boot, sizeof lb_boot - 1);
    close(fd);
    lb_boot[n > 0 ? n : 0] = 0;
    lb_boot[strcspn(lb_boot, " \n")] = 0;
}

static const char *lb_boot_cached(void)
{
    pthread_once(&lb_boot_once, lb_boot_read);
    return lb_boot;
}

orch_status lb_cmd_slot_init(struct lb_cmd_slot *s, const struct orch_instance *in,
                             struct orch_error *err)
{
    memset(s, 0, sizeof *s);
    int n = snprintf(s->path, sizeof s->path, "%s/" LB_CMDS_DIR, in->dir);
    /* Room for "/" and a pid after it. */
    if (n < 0 || (size_t)n + 24 > sizeof s->path)
        return lb_host->error_set(err, ORCH_E_IO,
                                  "cannot record the command: the instance path %s is too "
                                  "long (it was not started)", in->dir);
    s->dir_len = (size_t)n;
    const char *boot = lb_boot_cached();
    memcpy(s->boot, boot[0] ? boot : "-", boot[0] ? strlen(boot) + 1 : 2);
    s->parent = (long)getpid();
    return ORCH_OK;
}

/* The rest is the child's (see LB_CHILD_FN): raw system calls only, on
 * the child's own stack, nothing the executor's other threads write. */

LB_CHILD_FN static size_t lb_c_put(char *to, size_t at, const char *s)
{
    while (*s)
        to[at++] = *s++;
    return at;
}

LB_CHILD_FN static size_t lb_c_num(char *to, size_t at, unsigned long long v)
{
    char d[24];
    int n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10));
    while (n)
        to[at++] = d[--n];
    return at;
}

/* Field 22 of /proc/self/stat, 0 when it cannot be read. */
LB_CHILD_FN static unsigned long long lb_c_self_start(void)
{
    char buf[1024];
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    long n = syscall(SYS_read, fd, buf, sizeof buf);
    syscall(SYS_close, fd);
    struct lb_proc p;
    return n > 0 && lb_stat_parse(buf, n, &p) == 0 ? p.start : 0;
}

/* Create the record file once, never through a symlink a command left;
 * one of an earlier process with our pid names nothing alive (cmds.c's
 * header), so it is replaced. */
LB_CHILD_FN static long lb_c_create(struct lb_cmd_slot *s)
{
    for (int tries = 0; tries < 3; tries++) {
        long fd = syscall(SYS_openat, AT_FDCWD, s->path,
                          O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0) /* signals are blocked: no EINTR */
            return fd;
        if (errno == EEXIST) {
            syscall(SYS_unlinkat, AT_FDCWD, s->path, 0);
        } else if (errno == ENOENT) {
            s->path[s->dir_len] = 0;
            long r = syscall(SYS_mkdirat, AT_FDCWD, s->path, 0700);
            s->path[s->dir_len] = '/';
            if (r != 0 && errno != EEXIST)
                return -1;
        } else {
            return -1;
        }
    }
    return -1;
}

LB_CHILD_FN int lb_cmd_record_self(struct lb_cmd_slot *s)
{
    s->pid = syscall(SYS_getpid);
    s->start = lb_c_self_start();
    if (!s->start)
        return ENOENT;
    size_t at = lb_c_num(s->path, lb_c_put(s->path, s->dir_len, "/"), (unsigned long long)s->pid);
    s->path[at] = 0;
    char line[192];
    size_t n = lb_c_put(line, 0, "orch-cmd 1 ");
    n = lb_c_num(line, n, (unsigned long long)s->pid);
    n = lb_c_put(line, n, " ");
    n = lb_c_num(line, n, (unsigned long long)s->pid);
    n = lb_c_put(line, n, " ");
    n = lb_c_num(line, n, s->start);
    n = lb_c_put(line, n, " ");
    n = lb_c_put(line, n, s->boot);
    line[n++] = '\n';
    long fd = lb_c_create(s);
    if (fd < 0)
        return errno ? errno : EIO;
    int e = syscall(SYS_write, fd, line, n) == (long)n ? 0 : errno ? errno : EIO;
    if (syscall(SYS_close, fd) != 0 && !e)
        e = errno;
    /* Written while the executor lives, it is there for any reap, which
     * runs only once the executor is gone (waited for, so its children
     * are ours no more). Written after: a reap may have missed it, so the
     * command must not run. */
    if (!e && syscall(SYS_getppid) != s->parent)
        e = ESRCH;
    if (e)
        syscall(SYS_unlinkat, AT_FDCWD, s->path, 0);
    s->written = !e;
    return e;
}

void lb_cmd_forget(char *record)
{
    if (record)
        unlink(record);
    lb_host->free(record);
}

/* Is anything of the recorded command alive? Its leader by pid and start
 * time (even if it left the group), or any process of its group that
 * started no earlier. If the pid is in use by another process (other start
 * time), the number was free once, which Linux allows only when no process
 * had it as its group id: nothing of that group can be left, and a group of
 * that id now is someone else's. A zombie is gone. */
struct lb_alive {
    int leader, members, foreign;
};

static struct lb_alive lb_cmd_alive(long pid, long pgid, unsigned long long start)
{
    struct lb_alive a = {0, 0, 0};
    struct lb_proc p;
    if (lb_proc_read(pid, &p) == 0) {
        if (p.start != start)
            a.foreign = 1;
        else if (!lb_proc_gone(&p))
            a.leader = 1;
    }
    if (a.foreign)
        return a;
    DIR *d = opendir("/proc");
    struct dirent *de;
    while (d && (de = readdir(d))) {
        char *end;
        long q = strtol(de->d_name, &end, 10);
        if (*end || q <= 0)
            continue;
        if (lb_proc_read(q, &p) == 0 && p.pgrp == pgid && !lb_proc_gone(&p) &&
            p.start >= start)
            a.members++;
    }
    if (d)
        closedir(d);
    return a;
}

/* Kill one recorded command's group and wait until it is gone. */
static orch_status lb_cmd_reap_one(const char *record, struct orch_error *err)
{
    FILE *f = fopen(record, "re");
    long pid = 0, pgid = 0;
    unsigned long long start = 0;
    char boot[40] = "";
    int n = f ? fscanf(f, "orch-cmd 1 %ld %ld %llu %39s", &pid, &pgid, &start, boot) : 0;
    int ok = n >= 3 && pid > 1 && pgid > 1 && start > 0;
    if (f)
        fclose(f);
    if (!ok) /* torn or foreign: names nothing we could safely signal */
        return ORCH_OK;
    const char *now_boot = lb_boot_cached();
    if (n == 4 && strcmp(boot, "-") && now_boot[0] && strcmp(boot, now_boot))
        return ORCH_OK; /* an earlier boot's: all of it is gone */
    return lb_group_kill_wait(pid, pgid, start, err);
}

orch_status lb_group_kill_wait(long pid, long pgid, unsigned long long start,
                               struct orch_error *err)
{
    int64_t end = lb_host->now_mono_ns() + (int64_t)LB_REAP_WAIT_MS * 1000000;
    for (;;) {
        struct lb_alive a = lb_cmd_alive(pid, pgid, start);
        if (!a.leader && !a.members)
            return ORCH_OK;
        if ((a.leader && kill((pid_t)pid, SIGKILL) != 0 && errno != ESRCH) ||
            (a.members && kill((pid_t)-pgid, SIGKILL) != 0 && errno != ESRCH))
            return lb_host->error_set(err, ORCH_E_IO,
                                      "cannot kill the process group %ld of an "
                                      "interrupted command: %s",
                                      pgid, strerror(errno));
        if (lb_host->now_mono_ns() >= end)
            return lb_host->error_set(err, ORCH_E_TIMEOUT,
                                      "process group %ld of an interrupted "
                                      "command still has %d process(es) %d s after SIGKILL",
                                      pgid, a.members + a.leader, LB_REAP_WAIT_MS / 1000);
        usleep(5000);
    }
}

orch_status lb_reap_commands(struct orch_instance *in, struct orch_ctx *ctx,
                             struct orch_error *err)
{
    (void)ctx;
    char *dir = pk_printf(lb_host, "%s/" LB_CMDS_DIR, in->dir);
    if (!dir)
        return lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    DIR *d = opendir(dir);
    if (!d) {
        orch_status rc = errno == ENOENT ? ORCH_OK
                                         : lb_host->error_set(err, ORCH_E_IO,
                                                              "%s: %s", dir,
                                                              strerror(errno));
        lb_host->free(dir);
        return rc;
    }
    orch_status rc = ORCH_OK;
    struct dirent *de;
    while (rc == ORCH_OK && (de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *path = pk_printf(lb_host, "%s/%s", dir, de->d_name);
        if (!path) {
            rc = lb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
            break;
        }
        size_t n = strlen(de->d_name);
        /* A record never renamed into place: its command was never let go. */
        if (!(n > 4 && !strcmp(de->d_name + n - 4, ".tmp")))
            rc = lb_cmd_reap_one(path, err);
        if (rc == ORCH_OK)
            unlink(path);
        lb_host->free(path);
    }
    closedir(d);
    lb_host->free(dir);
    return rc;
}
