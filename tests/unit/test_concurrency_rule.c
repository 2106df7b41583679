/* The concurrency group's admission rule (core/concurrency.h), where it
 * is pure: who counts (live members), the limit, the place in line by
 * creation, cancel_running's victims; and the key: rendered from inputs,
 * refused empty, named by its sha256, shown escaped and cut short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "concurrency.h"
#include "host.h"

#define S 1000000000LL
static const int64_t now = 1800000000LL * S;

static void t_live(void **state)
{
    (void)state;
    /* Missing or ended: stale. */
    assert_false(oc_cgroup_member_live(0, ORCH_RUN_RUNNING, 1, now + S, now));
    assert_false(oc_cgroup_member_live(1, ORCH_RUN_SUCCEEDED, 1, now + S, now));
    assert_false(oc_cgroup_member_live(1, ORCH_RUN_FAILED, 0, 0, now));
    assert_false(oc_cgroup_member_live(1, ORCH_RUN_CANCELLED, 0, 0, now));
    /* Running: live while someone's lease on it holds. */
    assert_true(oc_cgroup_member_live(1, ORCH_RUN_RUNNING, 1, now + S, now));
    assert_true(oc_cgroup_member_live(1, ORCH_RUN_RUNNING, 0, now + 1, now));
    assert_false(oc_cgroup_member_live(1, ORCH_RUN_RUNNING, 1, now, now));
    assert_false(oc_cgroup_member_live(1, ORCH_RUN_RUNNING, 0, 0, now));
    /* Parked for an approval, or handed back to the queue: keeps its slot. */
    assert_true(oc_cgroup_member_live(1, ORCH_RUN_WAITING, 0, 0, now));
    assert_true(oc_cgroup_member_live(1, ORCH_RUN_QUEUED, 0, 0, now));
}

static void t_limit(void **state)
{
    (void)state;
    struct oc_cg_verdict v;
    /* Empty group: admitted. */
    oc_cgroup_decide(NULL, 0, 0, 10, "r-c", 1, OC_CG_QUEUE, &v);
    assert_true(v.admit);
    free(v.victims);
    struct oc_cg_member m[] = {{"r-a", 1, 1, 0}, {"r-b", 2, 1, 0}};
    /* Two holders: limit 2 is full, limit 3 has room. */
    oc_cgroup_decide(m, 2, 0, 10, "r-c", 2, OC_CG_QUEUE, &v);
    assert_false(v.admit);
    assert_int_equal(v.held, 2);
    assert_int_equal(v.n_victims, 0);
    free(v.victims);
    oc_cgroup_decide(m, 2, 0, 10, "r-c", 3, OC_CG_QUEUE, &v);
    assert_true(v.admit);
    free(v.victims);
    /* A run that holds a slot keeps it, even past the limit (a resume). */
    oc_cgroup_decide(m, 2, 1, 10, "r-c", 1, OC_CG_QUEUE, &v);
    assert_true(v.admit);
    free(v.victims);
}

static void t_fifo(void **state)
{
    (void)state;
    struct oc_cg_verdict v;
    /* One holder of limit 2, one waiter older than the run: the one slot
     * left is the older waiter's. */
    struct oc_cg_member m[] = {{"r-a", 1, 1, 0}, {"r-w", 5, 0, 0}};
    oc_cgroup_decide(m, 2, 0, 10, "r-c", 2, OC_CG_QUEUE, &v);
    assert_false(v.admit);
    assert_int_equal(v.ahead, 1);
    free(v.victims);
    /* The older waiter itself is admitted: the run behind it is not ahead. */
    struct oc_cg_member m2[] = {{"r-a", 1, 1, 0}, {"r-c", 10, 0, 0}};
    oc_cgroup_decide(m2, 2, 0, 5, "r-w", 2, OC_CG_QUEUE, &v);
    assert_true(v.admit);
    assert_int_equal(v.ahead, 0);
    free(v.victims);
    /* Created at the same time: the smaller id first. */
    struct oc_cg_member m3[] = {{"r-a", 1, 1, 0}, {"r-b", 10, 0, 0}};
    oc_cgroup_decide(m3, 2, 0, 10, "r-c", 2, OC_CG_QUEUE, &v);
    assert_false(v.admit);
    free(v.victims);
    oc_cgroup_decide(m3, 2, 0, 10, "r-0", 2, OC_CG_QUEUE, &v);
    assert_true(v.admit);
    free(v.victims);
}

static void t_cancel_running(void **state)
{
    (void)state;
    struct oc_cg_verdict v;
    /* Limit 2, three holders (a lower limit after an edit) and a waiter
     * ahead: the waiter goes, then the two oldest holders. */
    struct oc_cg_member m[] = {{"r-h3", 3, 1, 0}, {"r-h1", 1, 1, 0}, {"r-w", 4, 0, 0},
                               {"r-h2", 2, 1, 0}, {"r-later", 20, 0, 0}};
    oc_cgroup_decide(m, 5, 0, 10, "r-c", 2, OC_CG_CANCEL_RUNNING, &v);
    assert_false(v.admit);
    assert_int_equal(v.n_victims, 3);
    assert_string_equal(m[v.victims[0]].run_id, "r-w");
    assert_string_equal(m[v.victims[1]].run_id, "r-h1");
    assert_string_equal(m[v.victims[2]].run_id, "r-h2");
    free(v.victims);
    /* Already asked: not asked again, and counted as going. */
    m[1].cancel_asked = 1;
    m[2].cancel_asked = 1;
    oc_cgroup_decide(m, 5, 0, 10, "r-c", 2, OC_CG_CANCEL_RUNNING, &v);
    assert_int_equal(v.n_victims, 1);
    assert_string_equal(m[v.victims[0]].run_id, "r-h2");
    free(v.victims);
    /* queue and skip cancel nobody. */
    oc_cgroup_decide(m, 5, 0, 10, "r-c", 2, OC_CG_SKIP, &v);
    assert_int_equal(v.n_victims, 0);
    free(v.victims);
}

static void t_key(void **state)
{
    (void)state;
    struct oc_workflow wf = {.name = "w"};
    wf.cgroup.key = "deploy-${{ inputs.env }}-${{ inputs.n }}";
    json_t *in = json_pack("{s:s,s:i}", "env", "prod", "n", 3);
    char *key = NULL;
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(oc_cgroup_key(&wf, in, &key, &err), ORCH_OK);
    assert_string_equal(key, "deploy-prod-3");
    free(key);
    /* Empty: refused, naming the workflow and the template. */
    wf.cgroup.key = "${{ inputs.none }}";
    json_object_set_new(in, "none", json_string(""));
    assert_int_equal(oc_cgroup_key(&wf, in, &key, &err), ORCH_E_INVALID_ARG);
    assert_null(key);
    assert_non_null(strstr(oc_error_text(&err), "workflow w: concurrency_group.key"));
    assert_non_null(strstr(oc_error_text(&err), "renders empty"));
    oc_error_clear(&err);
    /* No group: no key. */
    wf.cgroup.key = NULL;
    assert_int_equal(oc_cgroup_key(&wf, in, &key, &err), ORCH_OK);
    assert_null(key);
    json_decref(in);

    /* Any key names a fixed-shape id. */
    char id[OC_CGROUP_ID_LEN + 1];
    oc_cgroup_key_id("../../etc/x\n", id);
    assert_int_equal(strlen(id), 64);
    assert_int_equal(strspn(id, "0123456789abcdef"), 64);
    char id2[OC_CGROUP_ID_LEN + 1];
    oc_cgroup_key_id("../../etc/x", id2);
    assert_string_not_equal(id, id2);
    oc_cgroup_key_id("abc", id);
    assert_string_equal(id, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");

    /* Shown: escaped, cut at 120 bytes with the length. */
    char *s = oc_cgroup_key_shown("a\x1b[31m\\b\n");
    assert_string_equal(s, "a\\x1b[31m\\\\b\\x0a");
    free(s);
    char big[10001];
    memset(big, 'k', 10000);
    big[10000] = 0;
    s = oc_cgroup_key_shown(big);
    assert_true(strlen(s) < 150);
    assert_non_null(strstr(s, "... (10000 bytes)"));
    free(s);
    /* A cut never splits a UTF-8 character. */
    char utf[400] = "";
    for (int i = 0; i < 100; i++)
        strcat(utf, "\xc3\xa9");
    s = oc_cgroup_key_shown(utf);
    const char *dots = strstr(s, "...");
    assert_non_null(dots);
    assert_int_equal((dots - s) % 2, 0);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_live),         cmocka_unit_test(t_limit),
        cmocka_unit_test(t_fifo),         cmocka_unit_test(t_cancel_running),
        cmocka_unit_test(t_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
