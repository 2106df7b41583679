/* The run-state writes of core/runctl.h against the embedded SQLite store:
 * claim, hand back, fail (state, run.finished and lease in one go),
 * approval deadlines, daemon ledger events and control flags. A worker id
 * and a schedule name with quotes still write valid JSON rows. */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "flags.h"
#include "host.h"
#include "registry.h"
#include "runctl.h"
#include "store.h"
#include "util.h"

#define T_OWNER "worker \"one\" \\ 1"

struct t_env {
    char dir[64];
    struct oc_registry *reg;
    struct oc_store *st;
};

static int setup(void **state)
{
    struct t_env *t = oc_xcalloc(1, sizeof *t);
    snprintf(t->dir, sizeof t->dir, "/tmp/orch-runctl-XXXXXX");
    assert_non_null(mkdtemp(t->dir));
    t->reg = oc_registry_new_builtin();
    struct orch_error err;
    oc_error_init(&err);
    t->st = oc_store_open(t->reg, NULL, t->dir, &err);
    if (!t->st)
        fail_msg("open the store: %s", oc_error_text(&err));
    *state = t;
    return 0;
}

static int teardown(void **state)
{
    struct t_env *t = *state;
    oc_store_close(t->st);
    oc_registry_free(t->reg);
    oc_rm_rf(t->dir);
    free(t);
    return 0;
}

static void t_queue(struct oc_store *st, const char *id)
{
    struct orch_run_rec r = {.struct_size = sizeof r, .state = ORCH_RUN_QUEUED, .id = id,
                             .workflow = "wf", .inputs_json = "{}", .source = "",
                             .created_ns = 1, .updated_ns = 1};
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(st->vt->run_create(st->h, &r, NULL, NULL, &err), ORCH_OK);
}

struct t_run {
    uint32_t state;
    char owner[128];
    char error[256];
    int64_t lease_expires_ns;
};

static int32_t t_run_cb(void *ud, const struct orch_run_rec *r)
{
    struct t_run *o = ud;
    o->state = r->state;
    snprintf(o->owner, sizeof o->owner, "%s", r->owner ? r->owner : "");
    snprintf(o->error, sizeof o->error, "%s", r->error ? r->error : "");
    o->lease_expires_ns = r->lease_expires_ns;
    return 0;
}

static struct t_run t_get(struct oc_store *st, const char *id)
{
    struct t_run o = {0};
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(st->vt->run_get(st->h, id, t_run_cb, &o, &err), ORCH_OK);
    return o;
}

/* The last event of type (of run_id, or of all runs), parsed: every row
 * must be valid JSON. */
struct t_find {
    const char *type;
    json_t *data;
};

static int32_t t_event_cb(void *ud, const struct orch_event_rec *e)
{
    struct t_find *f = ud;
    json_error_t je;
    json_t *d = json_loads(e->data_json, 0, &je);
    if (!d)
        fail_msg("event %s: invalid JSON row '%s': %s", e->type, e->data_json, je.text);
    if (!strcmp(e->type, f->type)) {
        json_decref(f->data);
        f->data = d;
    } else {
        json_decref(d);
    }
    return 0;
}

static json_t *t_event(struct oc_store *st, const char *run_id, const char *type)
{
    struct t_find f = {type, NULL};
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(st->vt->event_list(st->h, run_id, 0, 0, t_event_cb, &f, &err), ORCH_OK);
    if (!f.data)
        fail_msg("no %s event", type);
    return f.data;
}

static void t_claim(struct oc_store *st, const char *want)
{
    char id[128] = "";
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(oc_run_claim(st, T_OWNER, 60000, oc_now_real_ns(), id, sizeof id, &err),
                     ORCH_OK);
    assert_string_equal(id, want);
    struct t_run r = t_get(st, want);
    assert_int_equal(r.state, ORCH_RUN_RUNNING);
    assert_string_equal(r.owner, T_OWNER);
    assert_true(r.lease_expires_ns > 0);
}

static void test_claim_and_hand_back(void **state)
{
    struct t_env *t = *state;
    struct orch_error err;
    oc_error_init(&err);
    char id[128];
    assert_int_equal(oc_run_claim(t->st, T_OWNER, 60000, oc_now_real_ns(), id, sizeof id, &err),
                     ORCH_E_NOT_FOUND);
    oc_error_clear(&err);
    t_queue(t->st, "r-1");
    t_claim(t->st, "r-1");
    /* Another owner cannot hand it back. */
    assert_int_not_equal(oc_run_hand_back(t->st, "r-1", "someone else", oc_now_real_ns(), &err),
                         ORCH_OK);
    oc_error_clear(&err);
    assert_int_equal(t_get(t->st, "r-1").state, ORCH_RUN_RUNNING);
    assert_int_equal(oc_run_hand_back(t->st, "r-1", T_OWNER, oc_now_real_ns(), &err), ORCH_OK);
    struct t_run r = t_get(t->st, "r-1");
    assert_int_equal(r.state, ORCH_RUN_QUEUED);
    /* Claimable again at once: the lease went with it. */
    t_claim(t->st, "r-1");
}

static void test_fail_owned(void **state)
{
    struct t_env *t = *state;
    struct orch_error err;
    oc_error_init(&err);
    t_queue(t->st, "r-2");
    t_claim(t->st, "r-2");
    const char *why = "snapshot \"broken\": no workflow";
    assert_int_equal(oc_run_fail_owned(t->st, "r-2", T_OWNER, why,
                                       json_pack("{s:i}", "engine_crashes", 3),
                                       oc_now_real_ns(), &err),
                     ORCH_OK);
    struct t_run r = t_get(t->st, "r-2");
    assert_int_equal(r.state, ORCH_RUN_FAILED);
    assert_string_equal(r.error, why);
    assert_int_equal(r.lease_expires_ns, 0);
    json_t *d = t_event(t->st, "r-2", "run.finished");
    assert_string_equal(json_string_value(json_object_get(d, "state")), "failed");
    assert_string_equal(json_string_value(json_object_get(d, "error")), why);
    assert_int_equal(json_integer_value(json_object_get(d, "engine_crashes")), 3);
    json_decref(d);
    /* Not running any more: a second fail changes nothing. */
    assert_int_not_equal(oc_run_fail_owned(t->st, "r-2", T_OWNER, "again", NULL,
                                           oc_now_real_ns(), &err),
                         ORCH_OK);
    oc_error_clear(&err);
    assert_string_equal(t_get(t->st, "r-2").error, why);
}

static int32_t t_flag_cb(void *ud, const char *name, const char *value)
{
    json_object_set_new(ud, name, json_string(value));
    return 0;
}

static json_t *t_flags(struct oc_store *st)
{
    json_t *all = json_object();
    struct orch_error err;
    oc_error_init(&err);
    assert_int_equal(st->vt->flag_list(st->h, t_flag_cb, all, &err), ORCH_OK);
    return all;
}

static void test_deadline_passed(void **state)
{
    struct t_env *t = *state;
    struct orch_error err;
    oc_error_init(&err);
    t_queue(t->st, "r-3");
    t_claim(t->st, "r-3");
    int64_t now = oc_now_real_ns();
    assert_int_equal(t->st->vt->run_cas(t->st->h, "r-3", ORCH_RUN_RUNNING, T_OWNER,
                                        ORCH_RUN_WAITING, NULL, now, &err),
                     ORCH_OK);
    char *key = oc_flag_key(OC_FLAG_DEADLINE, "r-3");
    assert_string_equal(key, "deadline/r-3");
    assert_int_equal(oc_flag_write(t->st, key, "1", &err), ORCH_OK);
    assert_int_equal(oc_run_deadline_passed(t->st, "r-3", now, &err), ORCH_OK);
    assert_int_equal(t_get(t->st, "r-3").state, ORCH_RUN_QUEUED);
    json_t *flags = t_flags(t->st);
    assert_null(json_object_get(flags, key));
    json_decref(flags);
    /* Not waiting: not re-queued (the flag is cleared either way). */
    assert_int_equal(oc_flag_write(t->st, key, "1", &err), ORCH_OK);
    assert_int_not_equal(oc_run_deadline_passed(t->st, "r-3", now, &err), ORCH_OK);
    oc_error_clear(&err);
    flags = t_flags(t->st);
    assert_null(json_object_get(flags, key));
    json_decref(flags);
    free(key);
}

static void test_daemon_events_and_flags(void **state)
{
    struct t_env *t = *state;
    struct orch_error err;
    oc_error_init(&err);
    /* What the scheduler writes, with the hostile names it may carry. */
    assert_int_equal(oc_run_event(t->st, NULL, "tick",
                                  json_pack("{s:s,s:i}", "owner", T_OWNER, "claimed", 1), 0,
                                  &err),
                     ORCH_OK);
    assert_int_equal(oc_run_event(t->st, NULL, "schedule.skipped",
                                  json_pack("{s:s,s:I}", "schedule", "nightly\"}]", "slot",
                                            (json_int_t)60),
                                  1234, &err),
                     ORCH_OK);
    json_t *d = t_event(t->st, NULL, "tick");
    assert_string_equal(json_string_value(json_object_get(d, "owner")), T_OWNER);
    json_decref(d);
    d = t_event(t->st, NULL, "schedule.skipped");
    assert_string_equal(json_string_value(json_object_get(d, "schedule")), "nightly\"}]");
    json_decref(d);

    assert_int_equal(oc_flag_write(t->st, OC_FLAG_PAUSED, "1", &err), ORCH_OK);
    json_t *flags = t_flags(t->st);
    assert_string_equal(json_string_value(json_object_get(flags, "paused")), "1");
    json_decref(flags);
    assert_int_equal(oc_flag_write(t->st, OC_FLAG_PAUSED, NULL, &err), ORCH_OK);
    flags = t_flags(t->st);
    assert_null(json_object_get(flags, "paused"));
    json_decref(flags);

    assert_true(oc_flag_is_switch("paused") && oc_flag_is_switch("proof") &&
                oc_flag_is_switch("draining"));
    assert_false(oc_flag_is_switch("cancel/r-1") || oc_flag_is_switch(NULL) ||
                 oc_flag_is_switch("Paused"));
    assert_string_equal(oc_flag_name("cancel/r-1", OC_FLAG_CANCEL), "r-1");
    assert_null(oc_flag_name("deadline/r-1", OC_FLAG_CANCEL));
    assert_null(oc_flag_name(NULL, OC_FLAG_CANCEL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_claim_and_hand_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_owned, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_passed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_daemon_events_and_flags, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
