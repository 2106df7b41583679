/* The template lives in sdk/template (installed as share/orch/sdk-template)
 * and is filled in with @KIND@, @NAME@, @CNAME@ (name as a C identifier)
 * and @ID@ (kind-name). */
#define _GNU_SOURCE
#include "newproj.h"

#include <errno.h>
#include <dirent.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

static char *op_template_dir(void)
{
    const char *env = getenv("ORCH_SDK_TEMPLATE_DIR");
    if (env && *env)
        return oc_xstrdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        char *installed = oc_xasprintf("%s/../share/orch/sdk-template", dirname(exe));
        if (access(installed, R_OK) == 0)
            return installed;
        free(installed);
    }
    return oc_xstrdup(ORCH_SOURCE_TEMPLATE_DIR);
}

static char *op_subst(const char *text, const char *const (*vars)[2])
{
    struct oc_buf b = {0};
    const char *p = text;
    while (*p) {
        int hit = 0;
        if (*p == '@')
            for (size_t i = 0; vars[i][0]; i++) {
                size_t l = strlen(vars[i][0]);
                if (!strncmp(p, vars[i][0], l)) {
                    oc_buf_adds(&b, vars[i][1]);
                    p += l;
                    hit = 1;
                    break;
                }
            }
        if (!hit)
            oc_buf_addc(&b, *p++);
    }
    return oc_buf_steal(&b);
}

static int op_emit(const char *tdir, const char *tname, const char *dir, const char *out,
                   const char *const (*vars)[2])
{
    char *src = oc_xasprintf("%s/%s", tdir, tname);
    size_t len;
    char *text = oc_read_file(src, &len);
    if (!text) {
        fprintf(stderr, "orch-plugin: template %s: %s\n", src, strerror(errno));
        free(src);
        return -1;
    }
    char *filled = op_subst(text, vars);
    char *dst = oc_xasprintf("%s/%s", dir, out);
    char *parent = oc_xstrdup(dst);
    oc_mkdir_p(dirname(parent), 0755);
    free(parent);
    FILE *f = fopen(dst, "wx");
    int rc = 0;
    if (!f || fputs(filled, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "orch-plugin: cannot write %s: %s\n", dst, strerror(errno));
        rc = -1;
    }
    printf("  wrote %s\n", dst);
    free(dst);
    free(filled);
    free(text);
    free(src);
    return rc;
}

static int op_valid_name(const char *s)
{
    if (!(*s >= 'a' && *s <= 'z'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_' || *s == '-'))
            return 0;
    return 1;
}

int op_new(const char *argv0, const char *kind, const char *name, const char *dir)
{
    (void)argv0;
    if (strcmp(kind, "backend") && strcmp(kind, "step") && strcmp(kind, "store")) {
        fprintf(stderr, "orch-plugin new: KIND must be backend, step or store, not '%s'\n", kind);
        return 2;
    }
    if (!op_valid_name(name)) {
        fprintf(stderr, "orch-plugin new: NAME '%s' must start with a lower-case letter and "
                        "use only a-z, 0-9, '_' and '-'\n", name);
        return 2;
    }
    char *id = oc_xasprintf("%s-%s", kind, name);
    char *target = oc_xstrdup(dir ? dir : id);
    DIR *d = opendir(target);
    if (d) {
        struct dirent *e;
        int empty = 1;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
                empty = 0;
        closedir(d);
        if (!empty) {
            fprintf(stderr, "orch-plugin new: %s exists and is not empty; nothing written\n",
                    target);
            free(id);
            free(target);
            return 2;
        }
    }
    char *cname = oc_xstrdup(name);
    for (char *p = cname; *p; p++)
        if (*p == '-')
            *p = '_';
    const char *const vars[][2] = {{"@KIND@", kind}, {"@NAME@", name}, {"@CNAME@", cname},
                                   {"@ID@", id}, {NULL, NULL}};
    char *tdir = op_template_dir();
    char *src_t = oc_xasprintf("%s.c.in", kind);
    /* plugin.c, as every in-tree plugin's entry file (docs/architecture.md,
     * "Plugin layout and names"). */
    char *src_o = oc_xstrdup("plugin.c");
    char *conf_t = oc_xasprintf("conformance-%s.yaml.in", kind);
    printf("orch-plugin: new %s plugin '%s' in %s\n", kind, name, target);
    int rc = 0;
    if (oc_mkdir_p(target, 0755) != 0) {
        fprintf(stderr, "orch-plugin new: cannot create %s: %s\n", target, strerror(errno));
        rc = 2;
    } else if (op_emit(tdir, "CMakeLists.txt.in", target, "CMakeLists.txt", vars) ||
               op_emit(tdir, src_t, target, src_o, vars) ||
               op_emit(tdir, conf_t, target, "conformance.yaml", vars) ||
               op_emit(tdir, "README.md.in", target, "README.md", vars)) {
        rc = 2;
    } else {
        printf("\nnext:\n  cmake -S %s -B %s/build && cmake --build %s/build\n"
               "  orch-plugin test %s/build/%s.so --config %s/conformance.yaml\n",
               target, target, target, target, id, target);
    }
    free(src_t);
    free(src_o);
    free(conf_t);
    free(tdir);
    free(cname);
    free(id);
    free(target);
    return rc;
}
