/* defaults.host_paths: the directories of the orch host that `host:`
 * paths may reach. None given: host: paths are off. Each entry is an
 * absolute directory (or relative to the workflow file), without ".." and
 * without a newline (the list travels to the executor one per line). */
#define _GNU_SOURCE
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Without trailing slashes and "." components ("/srv/./in/" is /srv/in). */
static char *oc_host_path_trim(char *abs)
{
    char *w = abs;
    for (const char *p = abs; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len && !(len == 1 && p[0] == '.')) {
            *w++ = '/';
            memmove(w, p, len);
            w += len;
        }
        p += len + (e ? 1 : 0);
    }
    if (w == abs)
        *w++ = '/';
    *w = 0;
    return abs;
}

static char *oc_host_path_entry(struct oc_cfg_reader *b, const struct oc_node *n, const char *s)
{
    if (!*s || strchr(s, '\n')) {
        oc_diag_add(b->diag, &n->pos, "defaults.host_paths: '%s' is not a directory path", s);
        return NULL;
    }
    for (const char *p = s; *p;) {
        const char *e = strchr(p, '/');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            oc_diag_add(b->diag, &n->pos,
                        "defaults.host_paths: '%s' holds '..': name the directory itself", s);
            return NULL;
        }
        p += len + (e ? 1 : 0);
    }
    if (s[0] == '/')
        return oc_host_path_trim(oc_xstrdup(s));
    /* Relative to the workflow file's directory, made absolute: the
     * executor compares host paths with it. */
    char *copy = oc_xstrdup(b->cfg->path);
    char *real = realpath(dirname(copy), NULL);
    free(copy);
    if (!real) {
        oc_diag_add(b->diag, &n->pos,
                    "defaults.host_paths: '%s' is relative, and the workflow file's directory "
                    "cannot be resolved: give an absolute path",
                    s);
        return NULL;
    }
    char *abs = oc_xasprintf("%s/%s", real, s);
    free(real);
    return oc_host_path_trim(abs);
}

void oc_host_paths_read(struct oc_cfg_reader *b, const struct oc_node *defaults)
{
    const struct oc_node *n = oc_node_get(defaults, "host_paths");
    if (!n || n->kind == OC_NODE_NULL)
        return;
    if (n->kind != OC_NODE_SEQ) {
        oc_diag_add(b->diag, &n->pos, "defaults.host_paths must be a list of directories");
        return;
    }
    struct oc_config *cfg = b->cfg;
    cfg->host_paths = oc_xcalloc(n->len + 1, sizeof *cfg->host_paths);
    for (size_t i = 0; i < n->len; i++) {
        const char *s = oc_scalar(b, n->items[i], "defaults.host_paths");
        char *abs = s ? oc_host_path_entry(b, n->items[i], s) : NULL;
        if (abs)
            cfg->host_paths[cfg->n_host_paths++] = abs;
    }
}
