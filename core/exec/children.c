/* Known children and the reaping of the others (see children.h). Orphans
 * re-parented to a subreaper become children of one of its threads; each
 * thread's /proc/self/task/TID/children lists them where the kernel has
 * it (CONFIG_PROC_CHILDREN), else the zombies among all processes are
 * found by their parent pid. Only those are waited for, by pid: a
 * waitpid(-1) would take an executor's status from its pool. */
#define _GNU_SOURCE
#include "children.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util.h"

static pthread_mutex_t oc_children_mu = PTHREAD_MUTEX_INITIALIZER;
static pid_t *oc_known;
static size_t oc_n_known, oc_cap_known;

void oc_children_lock(void)
{
    pthread_mutex_lock(&oc_children_mu);
}

void oc_children_unlock(void)
{
    pthread_mutex_unlock(&oc_children_mu);
}

void oc_children_add(pid_t pid)
{
    if (oc_n_known == oc_cap_known) {
        oc_cap_known = oc_cap_known ? oc_cap_known * 2 : 16;
        oc_known = oc_xrealloc(oc_known, oc_cap_known * sizeof *oc_known);
    }
    oc_known[oc_n_known++] = pid;
}

void oc_children_del(pid_t pid)
{
    pthread_mutex_lock(&oc_children_mu);
    for (size_t i = 0; i < oc_n_known; i++)
        if (oc_known[i] == pid) {
            oc_known[i] = oc_known[--oc_n_known];
            break;
        }
    pthread_mutex_unlock(&oc_children_mu);
}

static int oc_children_known(pid_t pid)
{
    for (size_t i = 0; i < oc_n_known; i++)
        if (oc_known[i] == pid)
            return 1;
    return 0;
}

/* Reap the unknown children listed in one thread's children file. */
static int oc_children_reap_file(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    int n = 0;
    long pid;
    while (fscanf(f, "%ld", &pid) == 1) {
        if (pid <= 0 || oc_children_known((pid_t)pid))
            continue;
        int st;
        /* WNOHANG: a child still running is left alone. */
        if (waitpid((pid_t)pid, &st, WNOHANG) == (pid_t)pid)
            n++;
    }
    fclose(f);
    return n;
}

/* Without children files: every zombie whose parent is this process. */
static int oc_children_reap_scan(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return 0;
    pid_t self = getpid();
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0 || oc_children_known((pid_t)pid))
            continue;
        char path[64], buf[512];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f)
            continue;
        size_t len = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[len] = 0;
        /* "pid (comm) S ppid ...": comm may hold spaces and parentheses. */
        char *rp = strrchr(buf, ')');
        char state;
        long ppid;
        if (!rp || sscanf(rp + 1, " %c %ld", &state, &ppid) != 2 || ppid != (long)self ||
            state != 'Z')
            continue;
        int st;
        if (waitpid((pid_t)pid, &st, WNOHANG) == (pid_t)pid)
            n++;
    }
    closedir(d);
    return n;
}

int oc_children_reap_orphans(void)
{
    int n = 0, files = 0;
    pthread_mutex_lock(&oc_children_mu);
    DIR *d = opendir("/proc/self/task");
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            char path[300];
            snprintf(path, sizeof path, "/proc/self/task/%s/children", de->d_name);
            if (access(path, R_OK) != 0)
                break;
            files = 1;
            n += oc_children_reap_file(path);
        }
        closedir(d);
    }
    if (!files)
        n += oc_children_reap_scan();
    pthread_mutex_unlock(&oc_children_mu);
    return n;
}
