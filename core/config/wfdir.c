/* workflows_dir: a directory whose *.yaml and *.yml files hold more
 * workflows, each file a `workflows:` mapping and nothing else, so that a
 * file dropped there can add workflows but cannot change the store, the
 * tokens or the plugins the main file chose. Files are read in name order
 * (bytes, not the locale), hidden ones and other names skipped. A file is
 * opened beneath the directory: a symlink is followed only while it stays
 * inside (as a Kubernetes ConfigMap volume links its files through
 * ..data), which the kernel checks at the open (openat2 RESOLVE_BENEATH);
 * without openat2 no symlink is followed. Anything else that is not a
 * regular file is an error, not skipped: its name says it is meant to be
 * read, and skipping it would drop its workflows without a word. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "internal.h"

static int oc_wfdir_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.')
        return 0;
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static int oc_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names to read, sorted, into *out (NULL when there is none); -1 with
 * a diagnostic at `at`. */
static int oc_wfdir_names(struct oc_cfg_reader *b, int dfd, const struct oc_pos *at,
                          char ***out, size_t *n_out)
{
    const char *dir = b->cfg->workflows_dir;
    int lfd = dup(dfd);
    DIR *d = lfd >= 0 ? fdopendir(lfd) : NULL;
    if (!d) {
        oc_diag_add(b->diag, at, "workflows_dir: cannot list %s: %s", dir, strerror(errno));
        if (lfd >= 0)
            close(lfd);
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    int bad = 0;
    while ((errno = 0, e = readdir(d))) {
        if (!oc_wfdir_name_ok(e->d_name))
            continue;
        /* The name goes into every message about the file, the run's
         * snapshot (JSON) and the logs: it must be text that can. */
        if (!oc_utf8_printable(e->d_name, strlen(e->d_name))) {
            char *shown = oc_escape_bytes(e->d_name, strlen(e->d_name), 80);
            oc_diag_add(b->diag, at, "workflows_dir: %s holds a file named \"%s\" with control "
                        "characters or invalid UTF-8 in its name: rename it", dir, shown);
            free(shown);
            bad = 1;
            continue;
        }
        if (n == OC_WORKFLOWS_DIR_MAX_FILES) {
            /* Before reading any: a directory named by mistake fails at once. */
            oc_diag_add(b->diag, at, "workflows_dir: %s holds more than %d *.yaml and *.yml "
                        "files (the limit)", dir, OC_WORKFLOWS_DIR_MAX_FILES);
            goto fail;
        }
        names = oc_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = oc_xstrdup(e->d_name);
    }
    if (errno) {
        oc_diag_add(b->diag, at, "workflows_dir: cannot list %s: %s", dir, strerror(errno));
        goto fail;
    }
    if (bad)
        goto fail;
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, oc_name_cmp);
    *out = names;
    *n_out = n;
    return 0;
fail:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return -1;
}

static int oc_wfdir_open(int dfd, const char *name)
{
    /* O_NONBLOCK: a FIFO named x.yaml must not hang the load; it is then
     * refused as not a regular file. */
    int flags = O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC;
#ifdef SYS_openat2
    struct open_how how = {.flags = (uint64_t)flags,
                           .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
    long fd = syscall(SYS_openat2, dfd, name, &how, sizeof how);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) /* EPERM: a seccomp filter */
        return (int)fd;
#endif
    return openat(dfd, name, flags | O_NOFOLLOW);
}

/* Why name could not be opened, said about path. */
static void oc_wfdir_open_failed(struct oc_cfg_reader *b, int dfd, const char *name,
                                 const char *path, int err)
{
    char target[4096];
    ssize_t n = readlinkat(dfd, name, target, sizeof target - 1);
    if (n < 0) {
        oc_diag_add(b->diag, NULL, "%s: cannot read: %s", path, strerror(err));
        return;
    }
    char *shown = oc_escape_bytes(target, (size_t)n, 200);
    snprintf(target, sizeof target, "%s", shown);
    free(shown);
    if (err == EXDEV)
        oc_diag_add(b->diag, NULL, "%s: a symlink to %s: refused (workflows_dir follows a "
                    "link only when it is relative and stays inside the directory)", path,
                    target);
    else if (err == ELOOP)
        oc_diag_add(b->diag, NULL, "%s: a symlink to %s: refused (a loop of links, or a "
                    "kernel without openat2, where workflows_dir follows no link)", path,
                    target);
    else
        oc_diag_add(b->diag, NULL, "%s: a symlink to %s: cannot read: %s", path, target,
                    strerror(err));
}

static const char *oc_file_type(mode_t m)
{
    return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a FIFO" : S_ISSOCK(m) ? "a socket"
         : S_ISCHR(m) || S_ISBLK(m) ? "a device" : "not a regular file";
}

/* One file's text, within what is left of the budget; NULL with a
 * diagnostic naming path. */
static char *oc_wfdir_text(struct oc_cfg_reader *b, int dfd, const char *name, const char *path,
                           const struct stat *main_st, size_t *budget)
{
    int fd = oc_wfdir_open(dfd, name);
    if (fd < 0) {
        oc_wfdir_open_failed(b, dfd, name, path, errno);
        return NULL;
    }
    struct stat st;
    char *text = NULL;
    size_t len = 0;
    if (fstat(fd, &st) != 0) {
        oc_diag_add(b->diag, NULL, "%s: cannot read: %s", path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        oc_diag_add(b->diag, NULL, "%s: %s, not a file: workflows_dir reads the files named "
                    "*.yaml and *.yml in it (it does not descend)", path,
                    oc_file_type(st.st_mode));
    } else if (main_st && st.st_dev == main_st->st_dev && st.st_ino == main_st->st_ino) {
        oc_diag_add(b->diag, NULL, "%s: the main config file itself: give workflows_dir a "
                    "directory of its own", path);
    } else if (!(text = oc_read_fd_max(fd, *budget + 1, &len))) {
        oc_diag_add(b->diag, NULL, "%s: cannot read: %s", path, strerror(errno));
    } else if (len > *budget) {
        oc_diag_add(b->diag, NULL, "%s: the main file and workflows_dir's files pass %d MiB "
                    "together (the limit for one config); not read", path,
                    OC_CONFIG_MAX_BYTES >> 20);
        free(text);
        text = NULL;
    } else if (strlen(text) != len) {
        oc_diag_add(b->diag, NULL, "%s: not a text file (contains NUL bytes)", path);
        free(text);
        text = NULL;
    } else {
        *budget -= len;
    }
    close(fd);
    return text;
}

void oc_wfdir_load(struct oc_cfg_reader *b, const struct oc_pos *at)
{
    struct oc_config *cfg = b->cfg;
    int dfd = open(cfg->workflows_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) {
        oc_diag_add(b->diag, at, "workflows_dir: cannot open %s: %s", cfg->workflows_dir,
                    strerror(errno));
        return;
    }
    size_t n = 0;
    char **names = NULL;
    if (oc_wfdir_names(b, dfd, at, &names, &n) != 0) {
        close(dfd);
        return;
    }
    struct stat main_st;
    int have_main = stat(cfg->path, &main_st) == 0;
    size_t used = strlen(cfg->source);
    size_t budget = used < OC_CONFIG_MAX_BYTES ? OC_CONFIG_MAX_BYTES - used : 0;
    cfg->files = oc_xcalloc(n + 1, sizeof *cfg->files);
    for (size_t i = 0; i < n; i++) {
        char *path = oc_xasprintf("%s/%s", cfg->workflows_dir, names[i]);
        char *text = oc_wfdir_text(b, dfd, names[i], path, have_main ? &main_st : NULL,
                                   &budget);
        if (text)
            cfg->files[cfg->n_files++] = (struct oc_config_file){.path = path, .text = text};
        else
            free(path);
        free(names[i]);
    }
    free(names);
    close(dfd);
}

/* One file: a mapping with workflows: and nothing else. */
static int oc_wfdir_file_read(struct oc_cfg_reader *b, struct oc_config_file *f)
{
    size_t before = b->diag->n;
    f->root = oc_yaml_parse(f->text, strlen(f->text), f->path, b->diag);
    if (!f->root)
        return -1;
    if (f->root->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &f->root->pos, "a file of workflows_dir must be a mapping with "
                    "'workflows:', not a %s", oc_node_kind_name(f->root->kind));
        return -1;
    }
    for (size_t i = 0; i < f->root->len; i++)
        if (strcmp(f->root->keys[i]->str, "workflows"))
            oc_diag_add(b->diag, &f->root->keys[i]->pos, "'%s' is not read here: a file of "
                        "workflows_dir holds only 'workflows:' (everything else is the main "
                        "file's, %s)", f->root->keys[i]->str, b->cfg->path);
    if (!oc_node_get(f->root, "workflows"))
        oc_diag_add(b->diag, &f->root->pos, "a file of workflows_dir holds a 'workflows:' "
                    "mapping; this one has none");
    else
        oc_workflows_read(b, f->root, f);
    return b->diag->n == before ? 0 : -1;
}

int oc_wfdir_files_read(struct oc_cfg_reader *b)
{
    int rc = 0;
    for (size_t i = 0; i < b->cfg->n_files; i++)
        if (oc_wfdir_file_read(b, &b->cfg->files[i]) != 0)
            rc = -1;
    return rc;
}

void oc_wfdir_free(struct oc_config *cfg)
{
    for (size_t i = 0; i < cfg->n_files; i++) {
        free(cfg->files[i].path);
        free(cfg->files[i].text);
        oc_node_free(cfg->files[i].root);
    }
    free(cfg->files);
    free(cfg->workflows_dir);
}
