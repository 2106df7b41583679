/* The library's three entry points. */
#define _GNU_SOURCE
#include "cf.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "host.h"
#include "host_owners.h"
#include "plugin_info.h"
#include "registry.h"
#include "report.h"

/* Files are loaded without the builtins: the .so build of an embedded
 * plugin is tested as itself. Names are looked up with them. */
static struct oc_registry *cf_registry(void)
{
    static struct oc_registry *reg; /* plugins are never unloaded */
    if (!reg) {
        reg = oc_registry_new(NULL, 0);
        oc_registry_skip_builtins(reg);
    }
    return reg;
}

static struct oc_registry *cf_registry_named(void)
{
    static struct oc_registry *reg;
    if (!reg)
        reg = oc_registry_new(NULL, 0);
    return reg;
}

/* What the probe child was doing, in memory shared with the parent, so a
 * crash or hang while loading is blamed on the constructors (dlopen),
 * orch_plugin_entry or the descriptor's init. */
static const char *volatile *cf_load_stage;

static void cf_stage(const char *what)
{
    if (cf_load_stage)
        *cf_load_stage = what;
}

/* The stages one by one, then the real loader (which runs entry again,
 * harmless: it only hands out the descriptor, and then init). */
static void cf_load_stages(const char *path)
{
    cf_stage("a constructor (dlopen)");
    void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!dl)
        return; /* the loader reports why */
    orch_plugin_entry_fn entry =
        (orch_plugin_entry_fn)(uintptr_t)dlsym(dl, ORCH_PLUGIN_ENTRY_SYMBOL);
    if (entry) {
        cf_stage("orch_plugin_entry");
        const struct orch_plugin_desc *d = NULL;
        struct orch_error err;
        oc_error_init(&err);
        entry(oc_host(), &d, &err);
        oc_error_clear(&err);
    }
    cf_stage("orch_plugin_entry or the descriptor's init");
}

/* Loads in a child first: a constructor that crashes or hangs must not
 * take the runner down. */
static int cf_load_probe(const char *path)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -1;
    if (!cf_load_stage) {
        void *m = mmap(NULL, sizeof(char *), PROT_READ | PROT_WRITE,
                       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        cf_load_stage = m == MAP_FAILED ? NULL : m;
    }
    cf_stage(NULL);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        close(fds[0]);
        struct orch_error err;
        oc_error_init(&err);
        cf_load_stages(path);
        const struct oc_plugin *p = oc_registry_load_file(cf_registry(), path, &err);
        cf_stage(NULL);
        if (!p) {
            const char *m = oc_error_text(&err);
            if (write(fds[1], m, strlen(m)) < 0)
                _exit(3);
            _exit(2);
        }
        _exit(0);
    }
    close(fds[1]);
    char msg[4096];
    size_t got = 0;
    int64_t deadline = oc_now_mono_ns() + 30 * 1000000000ll;
    int timed_out = 0;
    for (;;) {
        int left = (int)((deadline - oc_now_mono_ns()) / 1000000);
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd p = {.fd = fds[0], .events = POLLIN};
        if (poll(&p, 1, left) <= 0)
            continue;
        ssize_t n = read(fds[0], msg + got, sizeof msg - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    msg[got] = 0;
    close(fds[0]);
    if (timed_out)
        kill(pid, SIGKILL);
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    const char *stage = cf_load_stage ? *cf_load_stage : NULL;
    if (timed_out) {
        fprintf(stderr, "orch-plugin: %s: loading hung for 30 s (%s never returned)\n", path,
                stage ? stage : "a constructor or the entry");
        return -1;
    }
    if (WIFSIGNALED(st)) {
        const char *sig = sigabbrev_np(WTERMSIG(st));
        fprintf(stderr, "orch-plugin: %s: loading crashed with SIG%s (in %s)\n", path,
                sig ? sig : "?", stage ? stage : "the loader");
        return -1;
    }
    if (WEXITSTATUS(st) != 0) {
        fprintf(stderr, "orch-plugin: %s\n", got ? msg : "load failed");
        return -1;
    }
    return 0;
}

const struct orch_plugin_desc *cf_load(const char *path, char **id_out)
{
    if (access(path, R_OK) != 0) {
        fprintf(stderr, "orch-plugin: %s: %s\n", path, strerror(errno));
        return NULL;
    }
    if (cf_load_probe(path) != 0)
        return NULL;
    struct orch_error err;
    oc_error_init(&err);
    const struct oc_plugin *p = oc_registry_load_file(cf_registry(), path, &err);
    if (!p) {
        fprintf(stderr, "orch-plugin: %s\n", oc_error_text(&err));
        oc_error_clear(&err);
        return NULL;
    }
    if (id_out)
        *id_out = oc_xstrdup(p->id);
    return p->desc;
}

static const struct orch_conformance_opts *cf_opts(const struct orch_conformance_opts *o,
                                                   struct orch_conformance_opts *def)
{
    memset(def, 0, sizeof *def);
    def->struct_size = sizeof *def;
    if (!o)
        return def;
    memcpy(def, o, o->struct_size < sizeof *def ? o->struct_size : sizeof *def);
    return def;
}

/* conformance.yaml's setup: run in a process group of its own, it must
 * exit 0 (once its server is ready); what it leaves running is that group,
 * stopped by cf_teardown after the last option set. A server that leaves
 * the group (setsid, a daemon's double fork) is out of reach. */
static int cf_setup(const char *cmd, pid_t *group)
{
    *group = 0;
    if (!cmd)
        return 0;
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "orch-plugin: setup: fork: %m\n");
        return -1;
    }
    if (pid == 0) {
        setpgid(0, 0);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    *group = pid;
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "orch-plugin: setup '%s' failed (%s %d)\n", cmd,
                WIFEXITED(st) ? "exit" : "signal", WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
        return -1;
    }
    return 0;
}

/* SIGTERM first, so a test server can clean up after itself; SIGKILL what
 * is left after 5 s. The group is the setup shell's pid: it was reaped,
 * so the id stays unused while any member of its group lives. */
static void cf_teardown(pid_t group)
{
    if (group <= 0 || kill(-group, SIGTERM) != 0)
        return;
    int64_t deadline = oc_now_mono_ns() + 5 * 1000000000ll;
    while (kill(-group, 0) == 0 && oc_now_mono_ns() < deadline) {
        struct timespec ts = {0, 20 * 1000000};
        nanosleep(&ts, NULL);
    }
    kill(-group, SIGKILL);
}

/* The suite once per option set (or once with `with`), in one report:
 * each set's cases and summary carry its name. */
static int cf_run_sets(const char *plugin_path, const struct orch_plugin_desc *d,
                       const struct cf_case *cases, const struct cf_conf *conf,
                       const struct orch_conformance_opts *o, const char *id)
{
    if (!conf->option_sets)
        return cf_run_cases(plugin_path, d, cases, conf, o, id);
    struct cf_report *rep = cf_report_new(id, o);
    int bad = 0;
    for (size_t i = 0; i < conf->option_sets->len && !bad; i++) {
        const struct oc_node *set = conf->option_sets->items[i];
        struct cf_conf one = *conf;
        one.with = oc_node_get(set, "with");
        one.option_sets = NULL;
        cf_report_begin_set(rep, oc_node_get(set, "name")->str);
        bad = cf_run_into(rep, plugin_path, d, cases, &one, o) != 0;
        cf_report_end_set(rep);
    }
    int rc = cf_report_finish(rep);
    return bad ? ORCH_CONFORMANCE_USAGE : rc;
}

int orch_conformance_run(const char *plugin_path, const struct orch_conformance_opts *opts)
{
    struct orch_conformance_opts o;
    cf_opts(opts, &o);
    struct cf_conf conf;
    if (cf_conf_load(o.config_path, &conf) != 0)
        return ORCH_CONFORMANCE_USAGE;
    /* From here on the host knows its blocks, so memory a plugin got from
     * libc and handed over as host memory is reported (backend/create). */
    oc_host_owners_track(1);
    char *id = NULL;
    const struct orch_plugin_desc *d = cf_load(plugin_path, &id);
    if (!d) {
        cf_conf_free(&conf);
        return ORCH_CONFORMANCE_USAGE;
    }
    const struct cf_case *cases = d->kind == ORCH_KIND_BACKEND ? cf_backend_cases
                                  : d->kind == ORCH_KIND_STORE ? cf_store_cases
                                                               : cf_step_cases;
    pid_t group;
    int rc = ORCH_CONFORMANCE_USAGE;
    if (cf_setup(conf.setup, &group) == 0)
        rc = cf_run_sets(plugin_path, d, cases, &conf, &o, id);
    cf_teardown(group);
    free(id);
    cf_conf_free(&conf);
    return rc;
}

int orch_conformance_check(const char *plugin_path, const struct orch_conformance_opts *opts)
{
    struct orch_conformance_opts o;
    cf_opts(opts, &o);
    struct cf_conf conf;
    cf_conf_load(NULL, &conf);
    if (access(plugin_path, R_OK) != 0) {
        fprintf(stderr, "orch-plugin: %s: %s\n", plugin_path, strerror(errno));
        return ORCH_CONFORMANCE_USAGE;
    }
    const char *base = strrchr(plugin_path, '/');
    char *suite = oc_xasprintf("check %s", base ? base + 1 : plugin_path);
    /* Cases run with their own temp dir as cwd: a relative path must not. */
    char *abs = realpath(plugin_path, NULL);
    int rc = cf_run_cases(abs ? abs : plugin_path, NULL, cf_check_cases, &conf, &o, suite);
    free(abs);
    free(suite);
    return rc;
}

int orch_conformance_info(const char *plugin, int32_t json)
{
    const struct oc_plugin *p = NULL;
    struct orch_error err;
    oc_error_init(&err);
    if (strchr(plugin, '/') || strstr(plugin, ".so")) {
        if (cf_load_probe(plugin) != 0)
            return ORCH_CONFORMANCE_USAGE;
        p = oc_registry_load_file(cf_registry(), plugin, &err);
    } else {
        static const uint32_t kinds[] = {ORCH_KIND_STEP, ORCH_KIND_BACKEND, ORCH_KIND_STORE};
        for (size_t i = 0; i < 3 && !p; i++) {
            const char *kn = oc_kind_name(kinds[i]);
            size_t kl = strlen(kn);
            const char *bare = plugin;
            if (!strncmp(plugin, kn, kl) && plugin[kl] == '-')
                bare = plugin + kl + 1;
            oc_error_clear(&err);
            p = oc_registry_get(cf_registry_named(), kinds[i], bare, &err);
        }
    }
    if (!p) {
        fprintf(stderr, "orch-plugin: %s\n", oc_error_text(&err));
        oc_error_clear(&err);
        return ORCH_CONFORMANCE_USAGE;
    }
    oc_error_clear(&err);
    if (json) {
        json_t *j = oc_plugin_info_json(p);
        json_dumpf(j, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
        json_decref(j);
    } else {
        oc_plugin_info_print(p, stdout);
    }
    return ORCH_CONFORMANCE_PASS;
}
