/* Shared artifact namespaces (core/artifact_ns.h): the namespace and name
 * rules, ns/NS/NAME[@V] parsing, the key rule, the ledger's fold and pick,
 * the conflict rule, and (on store-sqlite, several processes at once) the
 * allocation: every version distinct, none lost. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "artifact_ns.h"
#include "builtins.h"
#include "host.h"
#include "node.h"
#include "options.h"
#include "run_artifacts.h"
#include "util.h"

static void t_ns_names(void **state)
{
    (void)state;
    const char *good[] = {"cache", "a", "0", "deps_2-x", "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij1234"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(oc_artns_ns_ok(good[i]));
    const char *bad[] = {"", ".", "..", "-x", "_x", "Cache", "a/b", "a.b", "a b", "a\n",
                         "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij12345"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(oc_artns_ns_ok(bad[i]));
    assert_false(oc_artns_ns_ok(NULL));
    assert_true(oc_artns_name_ok("deps.tar"));
    assert_true(oc_artns_name_ok("dir/sub/x"));
    const char *badn[] = {"", "a@1", "@", "../x", "a/../b", "a//b", "/abs", "a/", "./a",
                          "a\x01" "b", "a\x7f" "b" /* DEL passes as in run names */};
    for (size_t i = 0; i < sizeof badn / sizeof *badn - 1; i++)
        assert_false(oc_artns_name_ok(badn[i]));
    char big[600];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = 0;
    assert_false(oc_artns_name_ok(big));
}

static void t_version_parse(void **state)
{
    (void)state;
    assert_int_equal(oc_artns_version_parse("1"), 1);
    assert_int_equal(oc_artns_version_parse("42"), 42);
    assert_true(oc_artns_version_parse("9007199254740992") == OC_ARTNS_VERSION_MAX);
    const char *bad[] = {"", "0", "01", "-1", "+1", "1a", " 1", "1.0", "9007199254740993",
                         "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(oc_artns_version_parse(bad[i]), 0);
    assert_int_equal(oc_artns_version_parse(NULL), 0);
}

static void t_ref_parse(void **state)
{
    (void)state;
    struct oc_artns_ref r;
    char *why;
    assert_int_equal(oc_artns_ref_parse("cache/deps.tar", &r, &why), 0);
    assert_string_equal(r.ns, "cache");
    assert_string_equal(r.name, "deps.tar");
    assert_int_equal(r.version, 0);
    oc_artns_ref_free(&r);
    assert_int_equal(oc_artns_ref_parse("cache/dir/x.bin@12", &r, &why), 0);
    assert_string_equal(r.name, "dir/x.bin");
    assert_int_equal(r.version, 12);
    oc_artns_ref_free(&r);
    const char *bad[] = {"", "cache", "cache/", "/x", "Cache/x", "../x", "../../runs/r/x",
                         "cache/x@", "cache/x@0", "cache/x@01", "cache/x@1@2", "cache/a@1/b",
                         "cache/../x", "cache/a/./b", "cache/a\nb",
                         "c/x@9007199254740993"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why = NULL;
        assert_int_equal(oc_artns_ref_parse(bad[i], &r, &why), -1);
        assert_non_null(why);
        assert_null(r.ns);
        free(why);
    }
    /* ns/cache/x: the "ns" part is a namespace name, "cache/x" the name. */
    assert_int_equal(oc_artns_ref_parse("ns/cache", &r, &why), 0);
    assert_string_equal(r.ns, "ns");
    oc_artns_ref_free(&r);
}

static void t_keys(void **state)
{
    (void)state;
    char *k = oc_artns_key("cache", "dir/x.bin", 3);
    assert_string_equal(k, "ns/cache/dir/x.bin@3");
    free(k);
    k = oc_artns_stream("cache");
    assert_string_equal(k, "ns/cache");
    free(k);
    /* A name under ns/ is a namespace's, never a run's own. */
    char *run;
    const char *rest;
    assert_int_equal(oc_artifact_ref_parse("ns/cache/x@2", &run, &rest), OC_ART_NAMESPACE);
    assert_string_equal(rest, "cache/x@2");
    assert_null(run);
    assert_int_equal(oc_artifact_ref_parse("nsx/a", &run, &rest), OC_ART_OWN);
    assert_int_equal(oc_artifact_ref_parse("ns/../x", &run, &rest), OC_ART_BAD);
}

/* ---- the ledger on store-sqlite ---- */

static const struct orch_plugin_desc *t_desc;
static char t_dir[64];

static int setup(void **state)
{
    (void)state;
    struct orch_error err;
    oc_error_init(&err);
    for (const struct oc_builtin *b = oc_builtins; b->id; b++)
        if (!strcmp(b->id, "store-sqlite"))
            assert_int_equal(b->entry(oc_host(), &t_desc, &err), ORCH_OK);
    assert_non_null(t_desc);
    snprintf(t_dir, sizeof t_dir, "/tmp/orch-artns-XXXXXX");
    assert_non_null(mkdtemp(t_dir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    oc_rm_rf(t_dir);
    return 0;
}

struct t_st {
    struct oc_artns_state s;
    void *cfg;
};

static struct t_st t_open(const char *file)
{
    struct t_st t = {0};
    char *path = oc_xasprintf("%s/%s", t_dir, file);
    struct oc_node *with = oc_node_new(OC_NODE_MAP, NULL);
    oc_node_map_put(with, oc_node_scalar("path", NULL), oc_node_scalar(path, NULL));
    free(path);
    struct oc_diag d = {0};
    assert_int_equal(oc_options_apply(t_desc, "store", with, 0, &t.cfg, &d), 0);
    oc_node_free(with);
    struct orch_ctx ctx;
    oc_ctx_init(&ctx, "test");
    struct orch_error err;
    oc_error_init(&err);
    t.s.vt = t_desc->vtable;
    assert_int_equal(t.s.vt->open(&ctx, t.cfg, &t.s.h, &err), ORCH_OK);
    assert_int_equal(t.s.vt->migrate(t.s.h, 0, NULL, &err), ORCH_OK);
    return t;
}

static void t_close(struct t_st *t)
{
    t->s.vt->close(t->s.h);
    oc_options_free(t_desc, t->cfg);
}

static uint64_t t_alloc(struct t_st *t, const char *name, const char *run, uint64_t read,
                        int fail, orch_status want, json_t **conflict)
{
    struct orch_error err;
    oc_error_init(&err);
    struct oc_artns_write w = {"cache", name, run, "s", read, fail};
    struct oc_artns_alloc a;
    assert_int_equal(oc_artns_allocate(&t->s, &w, &a, &err), want);
    if (conflict)
        *conflict = a.conflict;
    else
        json_decref(a.conflict);
    oc_error_clear(&err);
    return a.version;
}

static void t_ledger(void **state)
{
    (void)state;
    struct t_st t = t_open("ledger.db");
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(t_alloc(&t, "x", "r-a", 0, 0, ORCH_OK, NULL), 1);
    assert_int_equal(oc_artns_stored(&t.s, "cache", "x", 1, 3, "aa", &err), ORCH_OK);
    assert_int_equal(t_alloc(&t, "x", "r-b", 0, 0, ORCH_OK, NULL), 2);
    /* 2 is still being written: the latest stored is 1. */
    json_t *list;
    assert_int_equal(oc_artns_list(&t.s, "cache", NULL, &list, &err), ORCH_OK);
    json_t *e = oc_artns_pick(list, "cache", "x", 0, &err);
    assert_non_null(e);
    assert_int_equal(json_integer_value(json_object_get(e, "version")), 1);
    assert_null(oc_artns_pick(list, "cache", "x", 2, &err));
    assert_int_equal(err.code, ORCH_E_NOT_FOUND);
    assert_non_null(strstr(err.message, "is writing"));
    oc_error_clear(&err);
    json_decref(list);
    assert_int_equal(oc_artns_failed(&t.s, "cache", "x", 2, "disk full", &err), ORCH_OK);
    /* A failed version is no conflict and is never read. */
    json_t *c = NULL;
    assert_int_equal(t_alloc(&t, "x", "r-c", 1, 1, ORCH_OK, &c), 3);
    assert_null(c);
    assert_int_equal(oc_artns_stored(&t.s, "cache", "x", 3, 4, "cc", &err), ORCH_OK);
    /* r-a read 1; r-c wrote 3 since: a conflict; refused with fail. */
    assert_int_equal(t_alloc(&t, "x", "r-a", 1, 1, ORCH_E_CONFLICT, &c), 0);
    assert_non_null(c);
    assert_string_equal(json_string_value(json_object_get(c, "other_run")), "r-c");
    assert_int_equal(json_integer_value(json_object_get(c, "latest")), 3);
    json_decref(c);
    /* With warn: written as 4, the conflict recorded. */
    assert_int_equal(t_alloc(&t, "x", "r-a", 1, 0, ORCH_OK, &c), 4);
    assert_non_null(c);
    json_decref(c);
    /* r-c read 3 and wrote nothing since; 4 is r-a's: a conflict. r-a's
     * own 4 is not one for r-a: it wrote it. */
    assert_int_equal(t_alloc(&t, "x", "r-c", 3, 1, ORCH_E_CONFLICT, NULL), 0);
    assert_int_equal(t_alloc(&t, "x", "r-a", 1, 1, ORCH_OK, NULL), 5);
    /* A blind write (read nothing) never conflicts. */
    assert_int_equal(t_alloc(&t, "x", "r-d", 0, 1, ORCH_OK, NULL), 6);
    /* Another name counts from 1. */
    assert_int_equal(t_alloc(&t, "y", "r-a", 0, 0, ORCH_OK, NULL), 1);
    assert_int_equal(oc_artns_list(&t.s, "cache", "x", &list, &err), ORCH_OK);
    assert_int_equal(json_array_size(list), 6);
    assert_string_equal(json_string_value(json_object_get(json_array_get(list, 1), "state")),
                        "failed");
    json_decref(list);
    /* Not a namespace: refused before any stream is read. */
    assert_int_equal(oc_artns_list(&t.s, "../x", NULL, &list, &err), ORCH_E_INVALID_ARG);
    oc_error_clear(&err);
    t_close(&t);
}

struct t_blobs {
    int n;
};

static int32_t t_blob_cb(void *ud, const char *key, uint64_t size)
{
    (void)size;
    ((struct t_blobs *)ud)->n++;
    assert_true(!strcmp(key, "ns/cache/p@3") || !strcmp(key, "ns/cache/p@4"));
    return 0;
}

static int64_t t_empty(void *ud, void *buf, uint64_t len)
{
    (void)ud;
    (void)buf;
    (void)len;
    return 0;
}

static void t_prune(void **state)
{
    (void)state;
    struct t_st t = t_open("prune.db");
    struct orch_error err;
    oc_error_init(&err);
    const struct orch_store_vtable *vt = t.s.vt;
    for (uint64_t v = 1; v <= 4; v++) {
        assert_int_equal(t_alloc(&t, "p", "r-a", 0, 0, ORCH_OK, NULL), v);
        char *key = oc_artns_key("cache", "p", v);
        /* the bytes: an empty blob is enough here */
        assert_int_equal(vt->blob_put(t.s.h, key, t_empty, NULL, &err), ORCH_OK);
        free(key);
        assert_int_equal(oc_artns_stored(&t.s, "cache", "p", v, 0, "e3", &err), ORCH_OK);
    }
    uint64_t n;
    assert_int_equal(oc_artns_prune(&t.s, vt, t.s.h, "cache", "p", 2, "r-a", &n, &err), ORCH_OK);
    assert_int_equal(n, 2);
    json_t *list;
    assert_int_equal(oc_artns_list(&t.s, "cache", "p", &list, &err), ORCH_OK);
    const char *want[] = {"pruned", "pruned", "stored", "stored"};
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(json_string_value(json_object_get(json_array_get(list, i), "state")),
                            want[i]);
    json_decref(list);
    assert_int_equal(oc_artns_prune(&t.s, vt, t.s.h, "cache", "p", 2, "r-a", &n, &err), ORCH_OK);
    assert_int_equal(n, 0);
    struct t_blobs b = {0};
    assert_int_equal(vt->blob_list(t.s.h, "ns/cache/p@", t_blob_cb, &b, &err), ORCH_OK);
    assert_int_equal(b.n, 2); /* @1 and @2 deleted */
    t_close(&t);
}

/* Several processes allocating versions of one name at once, released
 * together: every number from 1 to the total exactly once. Allocation
 * without the lease (a read of the ledger, then an append) hands out the
 * same number twice here. */
#define T_PROCS 6
#define T_EACH 40

static void t_concurrent(void **state)
{
    (void)state;
    struct t_st t = t_open("race.db");
    int go[2];
    assert_int_equal(pipe(go), 0);
    pid_t kids[T_PROCS];
    for (int i = 0; i < T_PROCS; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            close(go[1]);
            char c;
            if (read(go[0], &c, 1) != 0)
                _exit(9);
            struct orch_ctx ctx;
            oc_ctx_init(&ctx, "test");
            struct orch_error err;
            oc_error_init(&err);
            struct oc_artns_state s = {t_desc->vtable, NULL};
            if (s.vt->open(&ctx, t.cfg, &s.h, &err) != ORCH_OK)
                _exit(1);
            char run[32];
            snprintf(run, sizeof run, "r-%d", i);
            for (int k = 0; k < T_EACH; k++) {
                struct oc_artns_write w = {"cache", "hot", run, "s", 0, 0};
                struct oc_artns_alloc a;
                if (oc_artns_allocate(&s, &w, &a, &err) != ORCH_OK) {
                    fprintf(stderr, "allocate: %s\n", err.message);
                    _exit(2);
                }
                json_decref(a.conflict);
            }
            s.vt->close(s.h);
            _exit(0);
        }
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < T_PROCS; i++) {
        int st;
        assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
        assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    json_t *list;
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(oc_artns_list(&t.s, "cache", "hot", &list, &err), ORCH_OK);
    /* The fold keys entries by version: a number handed out twice is one
     * entry, so the count alone shows a loss. */
    assert_int_equal(json_array_size(list), T_PROCS * T_EACH);
    for (size_t i = 0; i < json_array_size(list); i++)
        assert_int_equal(json_integer_value(json_object_get(json_array_get(list, i), "version")),
                         (json_int_t)i + 1);
    json_decref(list);
    t_close(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_ns_names),    cmocka_unit_test(t_version_parse),
        cmocka_unit_test(t_ref_parse),   cmocka_unit_test(t_keys),
        cmocka_unit_test(t_ledger),      cmocka_unit_test(t_prune),
        cmocka_unit_test(t_concurrent),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
