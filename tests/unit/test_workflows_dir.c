/* workflows_dir: (core/config/wfdir.c): the files of a directory read in
 * name order after the main file's workflows, each only a workflows:
 * mapping; a name defined twice names both places; what is not a regular
 * file, a link leaving the directory, an unreadable file, too many files
 * or too many bytes are errors naming the file. A run's snapshot
 * (core/config/snapshot.c) holds the main file and its workflow's file, so
 * that it parses, to the same workflow, after the directory changed. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "config_read.h"
#include "util.h"

static char dir[4096];  /* this test's directory: main.yaml and wf.d/ */
static char main_path[4200];

static void put(const char *rel, const char *text)
{
    char *p = oc_xasprintf("%s/%s", dir, rel);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(p);
}

static char *at(const char *rel)
{
    return oc_xasprintf("%s/%s", dir, rel);
}

static const char main_text[] = "version: 1\n"
                                "workflows_dir: wf.d\n"
                                "workflows:\n"
                                "  main-wf:\n"
                                "    steps:\n"
                                "      - {id: m, uses: exec, with: {run: 'true'}}\n";

static char *wf_file(const char *name, const char *step)
{
    return oc_xasprintf("workflows:\n"
                        "  %s:\n"
                        "    steps:\n"
                        "      - {id: %s, uses: exec, with: {run: 'true'}}\n",
                        name, step);
}

static void put_wf(const char *rel, const char *name, const char *step)
{
    char *t = wf_file(name, step);
    put(rel, t);
    free(t);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/orch-wfdir.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR")
                                                                     : "/tmp");
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755); /* the unreadable-file case reads as another user when root */
    char *d = at("wf.d");
    assert_int_equal(mkdir(d, 0755), 0);
    free(d);
    snprintf(main_path, sizeof main_path, "%s/main.yaml", dir);
    put("main.yaml", main_text);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    oc_rm_rf(dir);
    return 0;
}

static int has_msg(const struct oc_diag *d, const char *frag)
{
    for (size_t i = 0; i < d->n; i++)
        if (strstr(d->msgs[i], frag))
            return 1;
    for (size_t i = 0; i < d->n; i++)
        fprintf(stderr, "  diag: %s\n", d->msgs[i]);
    return 0;
}

/* The load fails with a message holding "<dir>/rel" then frag. */
static void expect_refused(const char *rel, const char *frag)
{
    struct oc_diag d = {0};
    struct oc_config *cfg = oc_config_parse_file(main_path, &d);
    assert_null(cfg);
    char *want = oc_xasprintf("%s/%s%s", dir, rel, frag);
    if (!has_msg(&d, want))
        fail_msg("no diagnostic '%s'", want);
    free(want);
    oc_diag_free(&d);
}

static void t_merged_in_name_order(void **state)
{
    (void)state;
    put_wf("wf.d/b.yaml", "deploy", "d");
    put_wf("wf.d/a.yml", "build", "b");
    put("wf.d/.hidden.yaml", "not: [yaml");
    put("wf.d/README.md", "not yaml");
    put("wf.d/c.yaml~", "an editor's backup");
    struct oc_diag d = {0};
    struct oc_config *cfg = oc_config_parse_file(main_path, &d);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_workflows, 3);
    assert_string_equal(cfg->workflows[0].name, "main-wf");
    assert_null(cfg->workflows[0].file);
    assert_string_equal(cfg->workflows[1].name, "build");
    assert_string_equal(cfg->workflows[2].name, "deploy");
    char *b = at("wf.d/b.yaml");
    assert_string_equal(cfg->workflows[2].file->path, b);
    assert_string_equal(cfg->workflows[2].steps[0].pos.file, b);
    assert_int_equal(cfg->n_files, 2);
    free(b);
    oc_config_free(cfg);
    oc_diag_free(&d);
}

static void t_errors_name_the_file(void **state)
{
    (void)state;
    put("wf.d/b.yaml", "workflows:\n  x:\n    steps:\n      - {id: a, uses: exec, tymeout: 1s}\n");
    expect_refused("wf.d/b.yaml", ":4:29: step a: unknown key 'tymeout'; did you mean 'timeout'?");
    put("wf.d/b.yaml", "workflows:\n  x: [\n");
    expect_refused("wf.d/b.yaml", ":3:1: YAML syntax error");
}

static void t_defined_twice_names_both(void **state)
{
    (void)state;
    put_wf("wf.d/a.yaml", "deploy", "a");
    put_wf("wf.d/b.yaml", "deploy", "b");
    char *first = at("wf.d/a.yaml:2:3");
    char *frag = oc_xasprintf(":2:3: workflow 'deploy' is defined twice: here and at %s", first);
    expect_refused("wf.d/b.yaml", frag);
    free(frag);
    free(first);
    put_wf("wf.d/a.yaml", "main-wf", "a");
    char *m = oc_xasprintf(":2:3: workflow 'main-wf' is defined twice: here and at %s:4:3",
                           main_path);
    expect_refused("wf.d/a.yaml", m);
    free(m);
}

static void t_only_workflows(void **state)
{
    (void)state;
    /* A file dropped in the directory cannot choose the store, the
     * tokens, the plugins or another directory. */
    static const char *const keys[] = {"store", "server", "plugins", "workflows_dir", "version"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        char *wf = wf_file("x", "a");
        char *text = oc_xasprintf("%s: {}\n%s", keys[i], wf);
        put("wf.d/a.yaml", text);
        char *frag = oc_xasprintf(":1:1: '%s' is not read here: a file of workflows_dir holds "
                                  "only 'workflows:'", keys[i]);
        expect_refused("wf.d/a.yaml", frag);
        free(frag);
        free(text);
        free(wf);
    }
    put("wf.d/a.yaml", "- a list\n");
    expect_refused("wf.d/a.yaml", ":1:1: a file of workflows_dir must be a mapping with "
                                  "'workflows:', not a list");
    put("wf.d/a.yaml", "");
    expect_refused("wf.d/a.yaml", ":1:1: the file is empty");
    put("wf.d/a.yaml", "workflows: {}\n");
    expect_refused("wf.d/a.yaml", ":1:12: no workflows: this 'workflows:' mapping is empty");
}

static void t_not_files(void **state)
{
    (void)state;
    char *p = at("wf.d/x.yaml");
    assert_int_equal(mkdir(p, 0755), 0);
    expect_refused("wf.d/x.yaml", ": a directory, not a file");
    rmdir(p);
    assert_int_equal(mkfifo(p, 0644), 0);
    expect_refused("wf.d/x.yaml", ": a FIFO, not a file"); /* and the load did not hang */
    unlink(p);
    free(p);
}

/* A name that could not go into a message, a log line or a run's JSON
 * snapshot is refused, shown escaped; a file that says 'workflows:' and
 * holds nothing is an error, as '{}' is. */
static void t_bad_names_and_empty(void **state)
{
    (void)state;
    put_wf("wf.d/a\nb.yaml", "nl", "n");
    struct oc_diag d = {0};
    assert_null(oc_config_parse_file(main_path, &d));
    if (!has_msg(&d, "a file named \"a\\x0ab.yaml\" with control characters"))
        fail_msg("the newline in a name is not refused, escaped");
    oc_diag_free(&d);
    char *p = at("wf.d/a\nb.yaml");
    unlink(p);
    free(p);
    put_wf("wf.d/\xff.yaml", "ff", "f");
    assert_null(oc_config_parse_file(main_path, &d));
    if (!has_msg(&d, "named \"\\xff.yaml\""))
        fail_msg("an invalid UTF-8 name is not refused, escaped");
    oc_diag_free(&d);
    p = at("wf.d/\xff.yaml");
    unlink(p);
    free(p);
    put("wf.d/null.yaml", "workflows:\n");
    expect_refused("wf.d/null.yaml", ":1:11: no workflows");
}

/* Whether the kernel (and valgrind, which lacks it) has openat2: without
 * it workflows_dir follows no symlink at all. */
static int have_openat2(void)
{
    struct open_how how = {.flags = O_RDONLY | O_CLOEXEC};
    long fd = syscall(SYS_openat2, AT_FDCWD, ".", &how, sizeof how);
    if (fd < 0)
        return 0;
    close((int)fd);
    return 1;
}

static void t_symlinks(void **state)
{
    (void)state;
    int beneath = have_openat2();
    char *out = at("outside.yaml"), *link = at("wf.d/o.yaml");
    put_wf("outside.yaml", "outer", "o");
    assert_int_equal(symlink("../outside.yaml", link), 0);
    expect_refused("wf.d/o.yaml", ": a symlink to ../outside.yaml: refused");
    unlink(link);
    assert_int_equal(symlink(out, link), 0); /* absolute: refused even inside */
    expect_refused("wf.d/o.yaml", ": a symlink to ");
    unlink(link);
    assert_int_equal(symlink("missing.yaml", link), 0);
    expect_refused("wf.d/o.yaml", beneath ? ": a symlink to missing.yaml: cannot read: No such "
                                            "file"
                                          : ": a symlink to missing.yaml: refused");
    unlink(link);
    /* A Kubernetes ConfigMap volume: name -> ..data/name, ..data -> ..v1. */
    char *v1 = at("wf.d/..v1"), *data = at("wf.d/..data");
    assert_int_equal(mkdir(v1, 0755), 0);
    put_wf("wf.d/..v1/o.yaml", "mounted", "m");
    assert_int_equal(symlink("..v1", data), 0);
    assert_int_equal(symlink("..data/o.yaml", link), 0);
    if (beneath) {
        struct oc_diag d = {0};
        struct oc_config *cfg = oc_config_parse_file(main_path, &d);
        assert_non_null(cfg);
        assert_non_null(oc_config_workflow(cfg, "mounted"));
        oc_config_free(cfg);
        oc_diag_free(&d);
    } else {
        expect_refused("wf.d/o.yaml", ": a symlink to ..data/o.yaml: refused (a loop of links, "
                                      "or a kernel without openat2");
    }
    free(v1);
    free(data);
    free(out);
    free(link);
}

static void t_unreadable(void **state)
{
    (void)state;
    put_wf("wf.d/u.yaml", "u", "u");
    char *p = at("wf.d/u.yaml");
    chmod(p, 0);
    /* root reads any file: read as nobody then (the saved uid stays 0). */
    int root = geteuid() == 0;
    if (root)
        assert_int_equal(seteuid(65534), 0);
    expect_refused("wf.d/u.yaml", ": cannot read: Permission denied");
    if (root)
        assert_int_equal(seteuid(0), 0);
    free(p);
}

static void t_directory_missing_or_main_inside(void **state)
{
    (void)state;
    char *d = at("wf.d");
    oc_rm_rf(d);
    struct oc_diag dg = {0};
    assert_null(oc_config_parse_file(main_path, &dg));
    char *want = oc_xasprintf("%s:2:16: workflows_dir: cannot open %s: No such file", main_path,
                              d);
    assert_true(has_msg(&dg, want));
    free(want);
    oc_diag_free(&dg);
    assert_int_equal(mkdir(d, 0755), 0);
    free(d);
    put("main.yaml", "version: 1\nworkflows_dir: .\n");
    expect_refused("./main.yaml", ": the main config file itself");
    put("main.yaml", "version: 1\nworkflows_dir: wf.d\n");
    struct oc_diag e = {0};
    assert_null(oc_config_parse_file(main_path, &e));
    assert_true(has_msg(&e, ":2:16: no workflows: neither this file nor a file of "
                            "workflows_dir"));
    oc_diag_free(&e);
}

static void t_count_limit(void **state)
{
    (void)state;
    for (int i = 0; i <= OC_WORKFLOWS_DIR_MAX_FILES; i++) {
        char name[64];
        snprintf(name, sizeof name, "wf.d/f%04d.yaml", i);
        put(name, "");  /* never read: the count is checked first */
    }
    struct oc_diag d = {0};
    assert_null(oc_config_parse_file(main_path, &d));
    assert_true(has_msg(&d, ":2:16: workflows_dir: "));
    assert_true(has_msg(&d, "holds more than 1000 *.yaml and *.yml files (the limit)"));
    assert_int_equal(d.n, 1);
    oc_diag_free(&d);
}

/* A workflows file of name, padded with a comment to size bytes. */
static void put_padded(const char *rel, const char *name, size_t size)
{
    char *wf = wf_file(name, "a");
    size_t n = strlen(wf);
    assert_true(size > n + 2);
    char *text = oc_xmalloc(size + 1);
    memcpy(text, wf, n);
    text[n] = '#';
    memset(text + n + 1, 'x', size - n - 2);
    text[size - 1] = '\n';
    text[size] = 0;
    put(rel, text);
    free(text);
    free(wf);
}

static void t_size_limit(void **state)
{
    (void)state;
    /* Each under the limit of one file, over it with main.yaml. */
    put_padded("wf.d/a.yaml", "a", OC_CONFIG_MAX_BYTES / 2);
    put_padded("wf.d/b.yaml", "b", OC_CONFIG_MAX_BYTES / 2);
    expect_refused("wf.d/b.yaml", ": the main file and workflows_dir's files pass 16 MiB "
                                  "together");
    /* One byte over, then exactly the limit. */
    put_padded("wf.d/b.yaml", "b", OC_CONFIG_MAX_BYTES / 2 - (sizeof main_text - 1) + 1);
    expect_refused("wf.d/b.yaml", ": the main file and workflows_dir's files pass 16 MiB "
                                  "together");
    put_padded("wf.d/b.yaml", "b", OC_CONFIG_MAX_BYTES / 2 - (sizeof main_text - 1));
    struct oc_diag d = {0};
    struct oc_config *cfg = oc_config_parse_file(main_path, &d);
    assert_non_null(cfg); /* exactly what is left is fine */
    oc_config_free(cfg);
    oc_diag_free(&d);
}

static int tool_reads;

static void *tool_read(struct oc_cfg_reader *r, const struct oc_node *root)
{
    (void)root;
    tool_reads++;
    /* A daemon's schedules name workflows of any file. */
    if (!oc_config_workflow(r->cfg, "deploy"))
        oc_diag_add(r->diag, NULL, "tool: no workflow deploy");
    return NULL;
}

static void tool_free(void *m)
{
    (void)m;
}

static const char *const tool_keys[] = {"tool", NULL};
static const struct oc_config_sections tool_sections = {tool_keys, tool_read, tool_free};

static void t_snapshot_outlives_the_directory(void **state)
{
    (void)state;
    oc_config_sections_set(&tool_sections);
    put("main.yaml", "version: 1\nworkflows_dir: wf.d\ntool: {}\nworkflows:\n  main-wf:\n"
                     "    steps:\n      - {id: m, uses: exec, with: {run: 'true'}}\n");
    put_wf("wf.d/a.yaml", "build", "b");
    put_wf("wf.d/b.yaml", "deploy", "original");
    struct oc_diag d = {0};
    tool_reads = 0;
    struct oc_config *cfg = oc_config_parse_file(main_path, &d);
    assert_non_null(cfg);
    assert_int_equal(tool_reads, 1);
    char *snap = oc_config_snapshot(cfg, oc_config_workflow(cfg, "deploy"));
    char *plain = oc_config_snapshot(cfg, oc_config_workflow(cfg, "main-wf"));
    assert_non_null(snap);
    assert_string_equal(plain, cfg->source); /* the main file's: as before workflows_dir */
    assert_null(strstr(snap, "build"));        /* the other file is not in it */
    oc_config_free(cfg);

    /* The directory changes, then goes: the snapshots read no file. */
    put_wf("wf.d/b.yaml", "deploy", "changed");
    put("wf.d/a.yaml", "broken: [");
    struct oc_config *s = oc_config_parse_snapshot(snap, main_path, &d);
    assert_non_null(s);
    const struct oc_workflow *w = oc_config_workflow(s, "deploy");
    assert_non_null(w);
    assert_string_equal(w->steps[0].id, "original");
    char *b = at("wf.d/b.yaml");
    assert_string_equal(w->file->path, b);
    assert_int_equal(tool_reads, 1); /* a run's snapshot reads no tool section */
    oc_config_free(s);
    char *d_dir = at("wf.d");
    oc_rm_rf(d_dir);
    s = oc_config_parse_snapshot(plain, main_path, &d);
    assert_non_null(s);
    assert_non_null(oc_config_workflow(s, "main-wf"));
    oc_config_free(s);
    s = oc_config_parse_snapshot(snap, main_path, &d);
    assert_non_null(s);
    oc_config_free(s);
    assert_int_equal(d.n, 0);
    mkdir(d_dir, 0755);
    free(d_dir);
    free(b);

    /* A damaged one is said, not crashed on. */
    snap[strlen(snap) - 2] = 0;
    assert_null(oc_config_parse_snapshot(snap, main_path, &d));
    assert_true(has_msg(&d, "the run's snapshot is damaged"));
    oc_diag_free(&d);
    free(snap);
    free(plain);
    oc_config_sections_set(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_merged_in_name_order, setup, teardown),
        cmocka_unit_test_setup_teardown(t_errors_name_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(t_defined_twice_names_both, setup, teardown),
        cmocka_unit_test_setup_teardown(t_only_workflows, setup, teardown),
        cmocka_unit_test_setup_teardown(t_not_files, setup, teardown),
        cmocka_unit_test_setup_teardown(t_bad_names_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(t_symlinks, setup, teardown),
        cmocka_unit_test_setup_teardown(t_unreadable, setup, teardown),
        cmocka_unit_test_setup_teardown(t_directory_missing_or_main_inside, setup, teardown),
        cmocka_unit_test_setup_teardown(t_count_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(t_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(t_snapshot_outlives_the_directory, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
