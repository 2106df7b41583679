/* A step with strategy.matrix in a run (docs/config.md, "Matrix"): the
 * group step and its instances. The group's matrix is evaluated when it
 * becomes ready (static or dynamic alike, one code path), expanded by
 * core/matrix.c, recorded as a step.expanded event before any instance is
 * queued, and each combination becomes a step of the run of its own (own
 * attempts, logs, outputs, retries) named by oc_matrix_instance_id. The
 * group then waits (EXPANDED) and ends as its instances did. Resume
 * rebuilds the instances from the record, never from the expression. */
#include <stdlib.h>
#include <string.h>

#include "../errors.h"
#include "../host.h"
#include "../matrix.h"
#include "internal.h"

/* The event the expansion is recorded as; resume.c reads it back. */
#define OC_EV_EXPANDED "step.expanded"

int oc_matrix_restore(struct oc_run *r, size_t idx, const json_t *instances)
{
    size_t n = json_array_size(instances);
    if (!n || r->steps[idx].n_members || n > r->steps[idx].def->strategy.limit)
        return -1;
    size_t first = r->n_steps;
    r->steps = oc_xrealloc(r->steps, (first + n) * sizeof *r->steps);
    memset(&r->steps[first], 0, n * sizeof *r->steps);
    size_t i;
    const json_t *in;
    json_array_foreach(instances, i, in) {
        struct oc_srt *m = &r->steps[first + i];
        const json_t *c = json_object_get(in, "matrix");
        const char *name = json_string_value(json_object_get(in, "name"));
        m->def = r->steps[idx].def;
        m->group = idx;
        m->inst = SIZE_MAX;
        m->exit_code = -1;
        m->matrix = json_is_object(c) ? json_incref((json_t *)c) : json_object();
        /* The recorded name is the one every row of the instance has. */
        m->name = name ? oc_xstrdup(name) : oc_matrix_instance_id(m->def->id, m->matrix);
    }
    r->n_steps = first + n;
    r->steps[idx].first_member = first;
    r->steps[idx].n_members = n;
    return 0;
}

/* A value of the matrix (a vector, include or exclude) that is one ${{ }}:
 * its value, which must be a list. NULL with *why. */
static json_t *oc_matrix_eval_list(const struct oc_scope *sc, const char *key,
                                   const char *text, char **why)
{
    struct oc_val v;
    char *err = NULL;
    if (oc_template_eval_value(text, sc, &v, &err) != 0) {
        *why = oc_xasprintf("matrix '%s': %s", key, err ? err : "invalid expression");
        free(err);
        return NULL;
    }
    json_t *out = NULL;
    if (v.kind == OC_VAL_JSON && json_is_array(v.j))
        out = json_incref(v.j);
    else
        *why = oc_xasprintf("matrix '%s': %s gave %s, not a list (write fromJSON(...) of a "
                            "JSON list)",
                            key, text,
                            v.kind == OC_VAL_JSON ? "an object"
                            : v.kind == OC_VAL_STR ? "text"
                            : v.kind == OC_VAL_NULL ? "null"
                                                    : "a scalar");
    oc_val_free(&v);
    return out;
}

/* The matrix of group idx as JSON, its expressions evaluated now. NULL
 * with *why. */
static json_t *oc_matrix_eval(struct oc_run *r, size_t idx, char **why)
{
    const struct oc_node *m = r->steps[idx].def->strategy.matrix;
    struct oc_scope sc;
    struct oc_scope_ud ud = {0};
    oc_scope_make(&sc, &ud, r, idx);
    if (m->kind == OC_NODE_SCALAR) {
        struct oc_val v;
        char *err = NULL;
        if (oc_template_eval_value(m->str, &sc, &v, &err) != 0) {
            *why = oc_xasprintf("matrix: %s", err ? err : "invalid expression");
            free(err);
            return NULL;
        }
        json_t *out = v.kind == OC_VAL_JSON && json_is_object(v.j) ? json_incref(v.j) : NULL;
        if (!out)
            *why = oc_xasprintf("matrix: %s did not give a mapping of lists", m->str);
        oc_val_free(&v);
        return out;
    }
    json_t *out = json_object();
    for (size_t i = 0; i < m->len; i++) {
        const char *k = m->keys[i]->str;
        const struct oc_node *v = m->items[i];
        json_t *j = v->kind == OC_NODE_SCALAR && oc_template_has(v->str)
                        ? oc_matrix_eval_list(&sc, k, v->str, why)
                        : oc_strategy_matrix_json(v);
        if (!j) {
            json_decref(out);
            return NULL;
        }
        json_object_set_new(out, k, j);
    }
    return out;
}

static void oc_matrix_fail(struct oc_run *r, size_t idx, const char *why)
{
    char *msg = oc_xasprintf("strategy.matrix of step %s: %s", r->steps[idx].name, why);
    oc_step_finish(r, idx, ORCH_STEP_FAILED, ORCH_E_CONFIG, msg);
    free(msg);
}

/* The group waits for its instances; who shows progress learns how many
 * steps the run has now (a live status area's done/total). */
static void oc_matrix_group_wait(struct oc_run *r, size_t idx)
{
    oc_step_transition(&r->steps[idx], OC_SE_EXPAND);
    r->dirty = 1;
    struct oc_progress p = {.type = OC_EV_STEP_EXPANDED, .run_id = r->id,
                            .step_id = r->steps[idx].name, .count = r->steps[idx].n_members};
    oc_engine_progress(r, &p);
}

void oc_matrix_group_ready(struct oc_run *r, size_t idx)
{
    if (r->steps[idx].n_members) {
        /* Expanded before (the record, read back by resume): the same
         * instances, never a second evaluation. */
        oc_matrix_group_wait(r, idx);
        return;
    }
    if (r->steps[idx].record_unfit) {
        oc_matrix_fail(r, idx, "its step.expanded record does not fit its strategy (no "
                               "instances, more than its limit, or not a list); the matrix "
                               "is not evaluated again, so no instance runs twice");
        return;
    }
    char *why = NULL;
    json_t *mj = oc_matrix_eval(r, idx, &why), *combos = NULL;
    if (!mj && r->dry_run) {
        /* A dry run has no outputs for a dynamic matrix to read: the
         * group is planned with no instances (and empty outputs), as an
         * approval is planned approved, so the steps after it plan too. */
        oc_ledger_event(r, "step.plan",
                        json_pack("{s:s,s:s+}", "step", r->steps[idx].name, "plan",
                                  "would expand strategy.matrix when it runs; now: ",
                                  why ? why : "no value"));
        free(why);
        oc_matrix_group_wait(r, idx);
        return;
    }
    json_t *names = NULL;
    if (mj && oc_matrix_expand(mj, r->steps[idx].def->strategy.limit, &combos, &why) != 0)
        combos = NULL;
    json_decref(mj);
    if (combos && oc_matrix_names(r->steps[idx].name, combos, &names, &why) != 0) {
        json_decref(combos);
        combos = NULL;
    }
    if (!combos) {
        oc_matrix_fail(r, idx, why ? why : "invalid matrix");
        free(why);
        return;
    }
    json_t *list = json_array();
    size_t i;
    json_t *c;
    json_array_foreach(combos, i, c)
        json_array_append_new(list, json_pack("{s:O,s:O}", "name", json_array_get(names, i),
                                              "matrix", c));
    json_decref(names);
    json_decref(combos);
    /* Recorded before any instance can be queued: resume rebuilds exactly
     * these from it. */
    oc_ledger_event(r, OC_EV_EXPANDED,
                    json_pack("{s:s,s:I,s:O}", "step", r->steps[idx].name, "count",
                              (json_int_t)json_array_size(list), "instances", list));
    oc_matrix_restore(r, idx, list);
    json_decref(list);
    oc_matrix_group_wait(r, idx);
}

static int oc_matrix_failed(const struct oc_srt *m)
{
    uint32_t st = oc_step_state(m);
    return oc_step_terminal(m) && (st == ORCH_STEP_FAILED || st == ORCH_STEP_TIMED_OUT);
}

/* The group's outputs: for each name any instance set, the list of every
 * instance's value in combination order (null where one did not set it). */
static json_t *oc_matrix_outputs(const struct oc_run *r, const struct oc_srt *g)
{
    json_t *out = json_object();
    for (size_t i = 0; i < g->n_members; i++) {
        const char *k;
        json_t *v;
        json_object_foreach(r->steps[g->first_member + i].outputs, k, v) {
            if (json_object_get(out, k))
                continue;
            json_t *list = json_array();
            for (size_t j = 0; j < g->n_members; j++) {
                json_t *o = r->steps[g->first_member + j].outputs;
                json_t *x = o ? json_object_get(o, k) : NULL;
                json_array_append(list, x ? x : json_null());
            }
            json_object_set_new(out, k, list);
        }
    }
    return out;
}

void oc_matrix_group_check(struct oc_run *r, size_t idx)
{
    struct oc_srt *g = &r->steps[idx];
    size_t ended = 0, failed = SIZE_MAX, cancelled = 0;
    for (size_t i = 0; i < g->n_members; i++) {
        const struct oc_srt *m = &r->steps[g->first_member + i];
        ended += oc_step_terminal(m);
        if (failed == SIZE_MAX && oc_matrix_failed(m))
            failed = g->first_member + i;
        cancelled += oc_step_terminal(m) && oc_step_state(m) == ORCH_STEP_CANCELLED;
    }
    if (failed != SIZE_MAX && g->def->strategy.fail_fast && !g->fail_fast_hit) {
        /* Pending and queued instances end cancelled as they come up
         * (oc_matrix_member_go, oc_matrix_member_cancelled); running ones
         * are cancelled here and end when their job reports. */
        g->fail_fast_hit = 1;
        for (size_t i = 0; i < g->n_members; i++)
            if (oc_step_in_flight(&r->steps[g->first_member + i]))
                oc_pool_cancel(r->e->pool, r->steps[g->first_member + i].job_id, 5000);
        r->dirty = 1;
    }
    if (ended < g->n_members)
        return;
    json_decref(g->outputs);
    g->outputs = oc_matrix_outputs(r, g);
    if (failed != SIZE_MAX) {
        const struct oc_srt *m = &r->steps[failed];
        char *why = oc_xasprintf("instance %s %s: %s", m->name,
                                 orch_step_state_name(oc_step_state(m)),
                                 m->error ? m->error : "failed");
        oc_step_finish(r, idx, ORCH_STEP_FAILED, m->status ? m->status : ORCH_E_FAILED, why);
        free(why);
    } else if (cancelled) {
        oc_step_finish(r, idx, ORCH_STEP_CANCELLED, ORCH_E_CANCELLED,
                       "an instance was cancelled");
    } else {
        /* Skipped instances count as succeeded, as in GitHub Actions. */
        oc_step_finish(r, idx, ORCH_STEP_SUCCEEDED, ORCH_OK, NULL);
    }
}

/* An instance fail_fast stops before it runs. */
static void oc_matrix_member_stop(struct oc_run *r, size_t idx)
{
    const struct oc_srt *g = &r->steps[r->steps[idx].group];
    const char *who = "another instance";
    for (size_t i = 0; i < g->n_members; i++)
        if (oc_matrix_failed(&r->steps[g->first_member + i])) {
            who = r->steps[g->first_member + i].name;
            break;
        }
    char *why = oc_xasprintf("fail_fast: %s failed", who);
    oc_step_finish(r, idx, ORCH_STEP_CANCELLED, ORCH_E_CANCELLED, why);
    free(why);
}

int oc_matrix_member_go(struct oc_run *r, size_t idx)
{
    const struct oc_srt *g = &r->steps[r->steps[idx].group];
    if (!oc_step_expanded(g))
        return 0;
    if (g->fail_fast_hit) {
        oc_matrix_member_stop(r, idx);
        return 0;
    }
    uint32_t max = g->def->strategy.max_parallel;
    if (!max)
        return 1;
    /* Queued, parked, running or in backoff: each holds a place. The scan
     * stops at max, so a wide group under a small bound costs little. */
    uint32_t busy = 0;
    for (size_t i = 0; i < g->n_members && busy < max; i++)
        busy += oc_step_busy(&r->steps[g->first_member + i]) != 0;
    return busy < max;
}

int oc_matrix_member_cancelled(struct oc_run *r, size_t idx)
{
    const struct oc_srt *s = &r->steps[idx];
    if (s->group == SIZE_MAX || !r->steps[s->group].fail_fast_hit)
        return 0;
    oc_matrix_member_stop(r, idx);
    return 1;
}
