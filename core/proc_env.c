/* See proc_env.h. */
#define _GNU_SOURCE
#include "proc_env.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

extern char **environ;

static char **oc_env_saved; /* NULL until oc_env_confine */
static size_t oc_env_n_saved;

int oc_env_is_base(const char *name)
{
    static const char *const base[] = {"PATH", "HOME", "LANG", "TZ", "TMPDIR", NULL};
    for (size_t i = 0; base[i]; i++)
        if (!strcmp(name, base[i]))
            return 1;
    return !strncmp(name, "LC_", 3) && name[3];
}

int oc_env_is_conventional_secret(const char *name)
{
    /* Platforms (Heroku, Render, Fly, compose files) set the database's
     * URL, password included, in this one variable. */
    return !strcmp(name, "DATABASE_URL");
}

int oc_env_is_secret_source(const char *name)
{
    return !strncmp(name, "ORCH_SECRET_", 12) || !strcmp(name, "ORCH_SECRETS_DIR") ||
           oc_env_is_conventional_secret(name);
}

int oc_env_name_ok(const char *name)
{
    if (!name || !*name || (*name >= '0' && *name <= '9'))
        return 0;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_'))
            return 0;
    return 1;
}

static int oc_env_listed(const char *csv, const char *name, size_t len)
{
    for (const char *p = csv; p && *p;) {
        size_t n = strcspn(p, ",");
        if (n == len && !strncmp(p, name, len))
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

void oc_env_confine(const char *keep_csv)
{
    if (oc_env_saved)
        return;
    size_t n = 0;
    while (environ && environ[n])
        n++;
    oc_env_saved = oc_xcalloc(n + 1, sizeof *oc_env_saved);
    for (size_t i = 0; i < n; i++)
        oc_env_saved[i] = oc_xstrdup(environ[i]);
    oc_env_n_saved = n;
    clearenv();
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(oc_env_saved[i], '=');
        if (!eq)
            continue;
        size_t len = (size_t)(eq - oc_env_saved[i]);
        char *name = oc_xasprintf("%.*s", (int)len, oc_env_saved[i]);
        if (!oc_env_is_secret_source(name) &&
            (oc_env_is_base(name) || oc_env_listed(keep_csv, name, len)))
            setenv(name, eq + 1, 1);
        free(name);
    }
}

const char *oc_env_get(const char *name)
{
    if (!oc_env_saved)
        return getenv(name);
    size_t len = strlen(name);
    for (size_t i = 0; i < oc_env_n_saved; i++)
        if (!strncmp(oc_env_saved[i], name, len) && oc_env_saved[i][len] == '=')
            return oc_env_saved[i] + len + 1;
    return NULL;
}
