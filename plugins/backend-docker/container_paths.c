/* Paths in the container: a file of its own so exec.c and files.c both
 * use it without calling each other (files.c runs its chores through
 * exec.c's dk_sh). */
#define _GNU_SOURCE
#include <string.h>

#include "docker.h"

char *dk_abs_path(const struct orch_instance *in, const char *path)
{
    const char *wd = in->be->cfg->workdir ? in->be->cfg->workdir : "/";
    char *joined = path[0] == '/' ? dk_printf("%s", path) : dk_printf("%s/%s", wd, path);
    if (!joined)
        return NULL;
    /* Lexical clean-up: "." and empty parts go, ".." climbs (not past /). */
    char *out = dk_host->alloc(strlen(joined) + 2);
    if (!out) {
        dk_host->free(joined);
        return NULL;
    }
    size_t len = 0;
    char *save = NULL;
    for (char *part = strtok_r(joined, "/", &save); part; part = strtok_r(NULL, "/", &save)) {
        if (!strcmp(part, "."))
            continue;
        if (!strcmp(part, "..")) {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
            continue;
        }
        out[len++] = '/';
        memcpy(out + len, part, strlen(part));
        len += strlen(part);
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = 0;
    dk_host->free(joined);
    return out;
}
