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
 * It is written (to a temporary name, then renamed) but not fsynced: it
 * must outlive the process that wrote it, which the page cache does, not a
 * crash of the host, which kills every command it could name. Two flushes
 * per command doubled the cost of a step (bench/compare.sh chain-200). It sits beside work/, not in it: the
 * command's own `rm -rf` of its work dir cannot remove it. exec removes it when it
 * returns; one left behind names a command whose exec never returned. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* Fields 3, 5 and 22 of /proc/PID/stat; -1 when there is no such process. */
static int lb_proc_read(long pid, struct lb_proc *p)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    /* The command name (field 2) may hold spaces and parentheses. */
    char *s = strrchr(buf, ')');
    if (!s || s[1] != ' ')
        return -1;
    s += 2;
    p->state = *s;
    int field = 3;
    while (*s && field < 22) {
        if (*s++ == ' ') {
            field++;
            if (field == 5)
                p->pgrp = strtol(s, NULL, 10);
        }
    }
    if (field != 22)
        return -1;
    p->start = strtoull(s, NULL, 10);
    return 0;
}

static int lb_proc_gone(const struct lb_proc *p)
{
    return p->state == 'Z' || p->state == 'X';
}

/* The kernel's boot id (a UUID), or "" when it cannot be read. */
static void lb_boot_id(char out[40])
{
    out[0] = 0;
    int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, out, 39);
    close(fd);
    out[n > 0 ? n : 0] = 0;
    out[strcspn(out, " \n")] = 0;
}

unsigned long long lb_proc_start(long pid)
{
    struct lb_proc p;
    return lb_proc_read(pid, &p) == 0 ? p.start : 0;
}

char *lb_cmd_record(const struct orch_instance *in, long pid, unsigned long long start,
                    struct orch_error *err)
{
    char *dir = pk_printf(lb_host, "%s/" LB_CMDS_DIR, in->dir);
    char *tmp = dir ? pk_printf(lb_host, "%s/%ld.tmp", dir, pid) : NULL;
    char *final = dir ? pk_printf(lb_host, "%s/%ld", dir, pid) : NULL;
    int rc = tmp && final ? 0 : -1;
    const char *what = "out of memory";
    if (rc == 0 && mkdir(dir, 0700) != 0 && errno != EEXIST)
        rc = -1;
    char line[192], boot[40];
    lb_boot_id(boot);
    int len = snprintf(line, sizeof line, "orch-cmd 1 %ld %ld %llu %s\n", pid, pid, start,
                       boot[0] ? boot : "-");
    int fd = rc == 0 ? open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600) : -1;
    if (rc == 0 && fd < 0)
        rc = -1;
    if (rc == 0 && write(fd, line, (size_t)len) != len)
        rc = -1;
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, final) != 0)
        rc = -1;
    if (rc != 0) {
        if (tmp && final)
            what = strerror(errno);
        lb_host->error_set(err, ORCH_E_IO,
                           "cannot record the command in %s: %s (it was not "
                           "started)", dir ? dir : in->dir, what);
        if (tmp)
            unlink(tmp);
        lb_host->free(final);
        final = NULL;
    }
    lb_host->free(dir);
    lb_host->free(tmp);
    return final;
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
    char boot[40] = "", now_boot[40];
    int n = f ? fscanf(f, "orch-cmd 1 %ld %ld %llu %39s", &pid, &pgid, &start, boot) : 0;
    int ok = n >= 3 && pid > 1 && pgid > 1 && start > 0;
    if (f)
        fclose(f);
    if (!ok) /* torn or foreign: names nothing we could safely signal */
        return ORCH_OK;
    lb_boot_id(now_boot);
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
