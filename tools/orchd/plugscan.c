/* The plugin inventory (GET /v1/plugins, readiness, metrics) is taken in a
 * child process: scanning dlopens every plugin on the search path, and with
 * them their libraries (libpq, libssh2, libcurl, ...), which would stay
 * mapped in orchd for its whole life whether its config uses them or not.
 * orchd itself loads only the plugins its config names. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "host.h"
#include "orchd.h"
#include "plugin_info.h"
#include "util.h"

struct orchd_scan {
    json_t *plugins, *errors;
};

static void orchd_scan_plugin(void *ud, const struct oc_plugin *p)
{
    struct orchd_scan *s = ud;
    json_array_append_new(s->plugins, oc_plugin_info_json(p));
}

static void orchd_scan_error(void *ud, const char *path, const struct orch_error *err)
{
    struct orchd_scan *s = ud;
    json_array_append_new(s->errors,
                          json_pack("{s:s,s:s}", "path", path, "error", oc_error_text(err)));
}

static void orchd_scan_here(struct orchd *d, struct orchd_scan *s)
{
    oc_registry_scan(d->reg, orchd_scan_plugin, orchd_scan_error, s);
}

/* The scan's JSON from a child, or -1 (then the caller scans in-process). */
static int orchd_scan_child(struct orchd *d, struct orchd_scan *s)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        close(p[0]);
        orchd_scan_here(d, s);
        char *text = json_dumps(json_pack("{s:O,s:O}", "plugins", s->plugins, "errors",
                                          s->errors), JSON_COMPACT);
        size_t n = text ? strlen(text) : 0, off = 0;
        while (off < n) {
            ssize_t w = write(p[1], text + off, n - off);
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0)
                _exit(1);
            off += (size_t)w;
        }
        _exit(text ? 0 : 1);
    }
    close(p[1]);
    struct oc_buf b = {0};
    char buf[8192];
    for (;;) {
        ssize_t r = read(p[0], buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        oc_buf_add(&b, buf, (size_t)r);
    }
    close(p[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    json_t *j = b.len && WIFEXITED(st) && !WEXITSTATUS(st) ? json_loadb(b.data, b.len, 0, NULL)
                                                          : NULL;
    oc_buf_free(&b);
    json_t *pl = json_object_get(j, "plugins"), *er = json_object_get(j, "errors");
    if (!json_is_array(pl) || !json_is_array(er)) {
        json_decref(j);
        return -1;
    }
    json_array_extend(s->plugins, pl);
    json_array_extend(s->errors, er);
    json_decref(j);
    return 0;
}

void orchd_scan_plugins(struct orchd *d)
{
    struct orchd_scan s = {d->plugins, d->plugin_errors};
    if (orchd_scan_child(d, &s) != 0)
        orchd_scan_here(d, &s);
    struct oc_log_fields f = {.component = "plugins"};
    size_t i;
    json_t *e;
    json_array_foreach(d->plugin_errors, i, e)
        oc_log_at(ORCH_LOG_WARN, &f, "%s: %s", json_string_value(json_object_get(e, "path")),
                  json_string_value(json_object_get(e, "error")));
}
