/* orch-plugin: what a plugin author points at a .so to learn whether it
 * honours orch's contract. Exit 0 all passed, 1 failures, 2 usage or a
 * plugin that cannot be loaded. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <orch/conformance.h>

#include "newproj.h"

static const char op_usage[] =
    "usage: orch-plugin info FILE|NAME [--json]\n"
    "       orch-plugin check FILE\n"
    "       orch-plugin test FILE [--config conformance.yaml] [--run REGEX] [--torture]\n"
    "                             [--timeout SECONDS] [--tap FILE|-] [--junit FILE] [-v]\n"
    "       orch-plugin new backend|step|store NAME [DIR]\n"
    "\n"
    "check: static and load-time checks (exports, ABI, sizes, option table,\n"
    "       capabilities against slots).\n"
    "test:  the behavioural suite of the plugin's kind; every case runs in its own\n"
    "       process with a deadline, so a crash or hang is a failed case.\n"
    "exit:  0 all passed, 1 failures, 2 usage error or unloadable plugin.\n";

static int op_bad(const char *fmt, const char *arg)
{
    fprintf(stderr, "orch-plugin: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", op_usage);
    return ORCH_CONFORMANCE_USAGE;
}

static int op_test_args(int argc, char **argv, struct orch_conformance_opts *o,
                        const char **file)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
        if (!strcmp(a, "--config") && has_val)
            o->config_path = argv[++i];
        else if (!strcmp(a, "--run") && has_val)
            o->filter = argv[++i];
        else if (!strcmp(a, "--tap") && has_val)
            o->tap_path = argv[++i];
        else if (!strcmp(a, "--junit") && has_val)
            o->junit_path = argv[++i];
        else if (!strcmp(a, "--timeout") && has_val) {
            char *end;
            long s = strtol(argv[++i], &end, 10);
            if (*end || s <= 0)
                return op_bad("--timeout wants whole seconds, not '%s'", argv[i]);
            o->case_timeout_ms = s * 1000;
        } else if (!strcmp(a, "--torture"))
            o->torture = 1;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
            o->verbose = 1;
        else if (a[0] == '-' && a[1])
            return op_bad("unknown option or missing value: %s", a);
        else if (*file)
            return op_bad("one plugin file at a time (extra: %s)", a);
        else
            *file = a;
    }
    if (!*file)
        return op_bad("%s", "no plugin file given");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(op_usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? ORCH_CONFORMANCE_USAGE : 0;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "new")) {
        if (argc < 4 || argc > 5)
            return op_bad("%s", "new wants KIND NAME [DIR]");
        return op_new(argv[0], argv[2], argv[3], argc == 5 ? argv[4] : NULL);
    }
    if (!strcmp(cmd, "info")) {
        int json = 0;
        const char *what = NULL;
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "--json"))
                json = 1;
            else if (!what)
                what = argv[i];
            else
                return op_bad("unexpected argument: %s", argv[i]);
        }
        if (!what)
            return op_bad("%s", "info wants a plugin file or name");
        return orch_conformance_info(what, json);
    }
    struct orch_conformance_opts o = {.struct_size = sizeof o};
    const char *file = NULL;
    if (!strcmp(cmd, "check") || !strcmp(cmd, "test")) {
        int rc = op_test_args(argc - 2, argv + 2, &o, &file);
        if (rc)
            return rc;
        if (o.verbose)
            setenv("ORCH_CONFORMANCE_VERBOSE", "1", 1);
        return !strcmp(cmd, "check") ? orch_conformance_check(file, &o)
                                     : orch_conformance_run(file, &o);
    }
    return op_bad("unknown command '%s'", cmd);
}
