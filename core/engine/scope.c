/* What ${{ ... }} sees in one run: inputs, the outputs and results of
 * earlier steps (steps.ID, and needs.ID for a direct need), secrets, the
 * environment, and the run itself (run.id, run.workflow). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "../options.h"
#include "../proc_env.h"
#include "internal.h"

char *oc_secret_lookup(const char *name)
{
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '_')
            return NULL;
    char *var = oc_xasprintf("ORCH_SECRET_%s", name);
    const char *v = oc_env_get(var);
    free(var);
    if (v)
        return oc_xstrdup(v);
    const char *dir = oc_env_get("ORCH_SECRETS_DIR");
    char *data = NULL;
    if (dir && *dir) {
        char *path = oc_xasprintf("%s/%s", dir, name);
        size_t len = 0;
        data = oc_read_file(path, &len);
        free(path);
        if (data && len && data[len - 1] == '\n')
            data[len - 1] = '\0'; /* files written by editors end in a newline */
    }
    if (!data && oc_env_is_conventional_secret(name) && (v = oc_env_get(name)))
        data = oc_xstrdup(v);
    return data;
}

char *oc_secret_refusal(const char *name, const char *value)
{
    size_t n = strlen(value);
    if (n >= OC_SECRET_MIN_LEN)
        return NULL;
    return oc_xasprintf("secret %s is %s (%zu character%s): a secret under %d characters "
                        "cannot be masked in output without destroying it; set a longer "
                        "value",
                        name, n ? "too short" : "empty", n, n == 1 ? "" : "s",
                        OC_SECRET_MIN_LEN);
}

char *oc_env_refusal(const char *name)
{
    if (!oc_env_is_secret_source(name))
        return NULL;
    int prefixed = !strncmp(name, "ORCH_SECRET_", 12);
    if (prefixed || oc_env_is_conventional_secret(name))
        return oc_xasprintf("env.%s is a secret: write secrets.%s, which masks it in "
                            "output", name, prefixed ? name + 12 : name);
    return oc_xasprintf("env.%s is where secrets are read from; write secrets.NAME", name);
}

static const char *oc_step_result(const struct oc_srt *s)
{
    switch (oc_step_state(s)) {
    case ORCH_STEP_SUCCEEDED: return "success";
    case ORCH_STEP_FAILED:
    case ORCH_STEP_TIMED_OUT: return "failure";
    case ORCH_STEP_CANCELLED: return "cancelled";
    case ORCH_STEP_SKIPPED: return "skipped";
    default: return "pending";
    }
}

static struct oc_srt *oc_find_step(struct oc_run *r, const char *id)
{
    for (size_t i = 0; i < r->n_steps; i++)
        if (!strcmp(r->steps[i].name, id))
            return &r->steps[i];
    return NULL;
}

/* An input as a template value of its JSON type: a boolean is true or
 * false (an `if:` on it means what it says), an integer a number (its
 * text unchanged below 1e15), any other number or json value its exact
 * compact JSON text (a double would lose digits). */
static void oc_input_val(const json_t *v, struct oc_val *out)
{
    if (json_is_boolean(v)) {
        out->kind = OC_VAL_BOOL;
        out->b = json_is_true(v);
    } else if (json_is_integer(v) && json_integer_value(v) > -1000000000000000ll &&
               json_integer_value(v) < 1000000000000000ll) {
        out->kind = OC_VAL_NUM;
        out->num = (double)json_integer_value(v);
    } else {
        out->kind = OC_VAL_STR;
        out->s = json_is_string(v) ? oc_xstrdup(json_string_value(v))
                                   : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    }
}

static int oc_scope_lookup(void *vud, const char *ns, const char *const *parts,
                           size_t n, struct oc_val *out, int *is_secret)
{
    struct oc_scope_ud *ud = vud;
    struct oc_run *r = ud->run;
    memset(out, 0, sizeof *out);
    if (!strcmp(ns, "inputs") && n == 1) {
        json_t *v = json_object_get(r->inputs, parts[0]);
        if (!v)
            return -1;
        oc_input_val(v, out);
        return 0;
    }
    if (!strcmp(ns, "run") && n == 1) {
        const char *v = !strcmp(parts[0], "id")         ? r->id
                        : !strcmp(parts[0], "workflow") ? r->wf->name
                                                        : NULL;
        if (!v)
            return -1;
        out->kind = OC_VAL_STR;
        out->s = oc_xstrdup(v);
        return 0;
    }
    /* needs.ID: a step this one needs directly (validate checks that),
     * read as steps.ID is. */
    if ((!strcmp(ns, "steps") || !strcmp(ns, "needs")) && n >= 2) {
        struct oc_srt *s = oc_find_step(r, parts[0]);
        if (!s)
            return -1;
        if (n == 2 && (!strcmp(parts[1], "result") || !strcmp(parts[1], "outcome"))) {
            out->kind = OC_VAL_STR;
            out->s = oc_xstrdup(oc_step_result(s));
            return 0;
        }
        if (n == 3 && !strcmp(parts[1], "outputs")) {
            json_t *v = s->outputs ? json_object_get(s->outputs, parts[2]) : NULL;
            if (json_is_array(v)) {
                /* A matrix group's: each instance's value, in order. */
                out->kind = OC_VAL_JSON;
                out->j = json_incref(v);
                return 0;
            }
            out->kind = v ? OC_VAL_STR : OC_VAL_NULL;
            if (v)
                out->s = oc_xstrdup(json_is_string(v) ? json_string_value(v) : "");
            return 0; /* an output not set is null, like GitHub Actions */
        }
        return -1;
    }
    /* matrix.KEY: the combination of the instance being evaluated (validate
     * refuses it elsewhere); a key this combination lacks is null. */
    if (!strcmp(ns, "matrix") && n == 1) {
        const json_t *c = ud->step < r->n_steps ? r->steps[ud->step].matrix : NULL;
        const json_t *v = c ? json_object_get(c, parts[0]) : NULL;
        if (!c)
            return -1;
        if (json_is_object(v) || json_is_array(v)) {
            out->kind = OC_VAL_JSON;
            out->j = json_incref((json_t *)v);
        } else if (v && !json_is_null(v)) {
            oc_input_val(v, out);
        }
        return 0;
    }
    if (!strcmp(ns, "secrets") && n == 1 && ud->step >= r->n_steps) {
        /* The run's outputs are shown to every reader (validate refuses it). */
        out->s = oc_xasprintf("the run's outputs cannot use secrets.%s", parts[0]);
        return OC_LOOKUP_REFUSED;
    }
    if (!strcmp(ns, "secrets") && n == 1) {
        char *v = oc_secret_lookup(parts[0]);
        if (!v)
            return -1;
        char *why = oc_secret_refusal(parts[0], v);
        if (why) {
            free(v);
            out->s = why;
            return OC_LOOKUP_REFUSED;
        }
        oc_redactor_add(r->red, v);
        /* The step gets the secrets it names, and no others. */
        if (ud->secrets)
            json_object_set_new(ud->secrets, parts[0], json_string(v));
        out->kind = OC_VAL_STR;
        out->s = v;
        *is_secret = 1;
        ud->secret_used = 1;
        return 0;
    }
    if (!strcmp(ns, "env") && n == 1) {
        char *why = oc_env_refusal(parts[0]);
        if (why) {
            out->s = why;
            return OC_LOOKUP_REFUSED;
        }
        /* The step's own env: first, then the engine's environment. */
        json_t *mine = ud->env ? json_object_get(ud->env, parts[0]) : NULL;
        const char *v = mine ? json_string_value(mine) : oc_env_get(parts[0]);
        out->kind = v ? OC_VAL_STR : OC_VAL_NULL;
        out->s = v ? oc_xstrdup(v) : NULL;
        return 0;
    }
    return -1;
}

/* Status of the step's transitive needs, for success()/failure(). */
static int oc_ancestors_match(struct oc_run *r, size_t idx, int want_failure,
                              unsigned char *seen)
{
    const struct oc_step *def = r->steps[idx].def;
    for (size_t k = 0; k < def->n_needs; k++) {
        size_t j = def->need_idx[k];
        if (seen[j])
            continue;
        seen[j] = 1;
        const struct oc_srt *s = &r->steps[j];
        uint32_t state = oc_step_state(s);
        int bad = state == ORCH_STEP_FAILED || state == ORCH_STEP_TIMED_OUT ||
                  state == ORCH_STEP_CANCELLED ||
                  (state == ORCH_STEP_SKIPPED && !s->skipped_by_cond);
        if (bad && (state == ORCH_STEP_FAILED || state == ORCH_STEP_TIMED_OUT) &&
            s->def->continue_on_error)
            bad = 0;
        if (want_failure && bad && state != ORCH_STEP_SKIPPED)
            return 1;
        if (!want_failure && bad)
            return 0;
        int sub = oc_ancestors_match(r, j, want_failure, seen);
        if (want_failure && sub)
            return 1;
        if (!want_failure && !sub)
            return 0;
    }
    return want_failure ? 0 : 1;
}

static int oc_scope_status(void *vud, const char *name)
{
    struct oc_scope_ud *ud = vud;
    struct oc_run *r = ud->run;
    if (!strcmp(name, "always"))
        return 1;
    if (!strcmp(name, "cancelled"))
        return r->cancelled;
    if (ud->step >= r->n_steps) /* the run's outputs: how the run ends */
        return !strcmp(name, "failure") ? r->final_state == ORCH_RUN_FAILED
                                        : r->final_state == ORCH_RUN_SUCCEEDED;
    unsigned char *seen = oc_xcalloc(r->n_steps, 1);
    int res;
    if (!strcmp(name, "failure"))
        res = !r->cancelled && oc_ancestors_match(r, ud->step, 1, seen);
    else
        res = !r->cancelled && oc_ancestors_match(r, ud->step, 0, seen);
    free(seen);
    return res;
}

void oc_scope_make(struct oc_scope *sc, struct oc_scope_ud *ud,
                   struct oc_run *r, size_t step)
{
    ud->run = r;
    ud->step = step;
    ud->secret_used = 0;
    ud->env = NULL;
    ud->secrets = NULL;
    ud->secret_env = NULL;
    ud->hash_files = NULL;
    sc->ud = ud;
    sc->lookup = oc_scope_lookup;
    sc->status_fn = oc_scope_status;
    sc->hash_files = NULL; /* a step's with: and env: only (step_env.c) */
}

static json_t *oc_render_node(const struct oc_node *n, const struct oc_scope *sc,
                              char **errmsg)
{
    if (!n)
        return json_null();
    switch (n->kind) {
    case OC_NODE_SCALAR:
        if (oc_template_has(n->str)) {
            char *out = NULL;
            if (oc_template_render(n->str, sc, &out, NULL, errmsg) != 0)
                return NULL;
            json_t *j = json_string(out);
            free(out);
            return j;
        }
        return oc_node_to_json(n);
    case OC_NODE_SEQ: {
        json_t *a = json_array();
        for (size_t i = 0; i < n->len; i++) {
            json_t *v = oc_render_node(n->items[i], sc, errmsg);
            if (!v) {
                json_decref(a);
                return NULL;
            }
            json_array_append_new(a, v);
        }
        return a;
    }
    case OC_NODE_MAP: {
        json_t *o = json_object();
        for (size_t i = 0; i < n->len; i++) {
            json_t *v = oc_render_node(n->items[i], sc, errmsg);
            if (!v) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, n->keys[i]->str, v);
        }
        return o;
    }
    case OC_NODE_NULL:
        break;
    }
    return json_null();
}

static int oc_option_is_script(const struct orch_plugin_desc *d, const char *name)
{
    const struct orch_option *o = d ? oc_option_find(d, name) : NULL;
    return o && (o->flags & ORCH_OPTF_SCRIPT);
}

json_t *oc_scope_render_with(const struct oc_scope *sc, const struct orch_plugin_desc *d,
                             const struct oc_node *with, char **errmsg)
{
    if (!with)
        return json_object();
    const struct oc_scope_ud *ud = sc->ud;
    json_t *o;
    if (with->kind != OC_NODE_MAP) {
        o = oc_render_node(with, sc, errmsg);
    } else {
        o = json_object();
        const struct oc_node *shell = oc_node_get(with, "shell");
        for (size_t i = 0; i < with->len; i++) {
            const struct oc_node *v = with->items[i];
            const char *key = with->keys[i]->str;
            json_t *j = v->kind == OC_NODE_SCALAR && oc_template_has(v->str) &&
                                oc_option_is_script(d, key)
                            ? oc_render_script(v->str, shell ? shell->str : NULL, sc,
                                               ud->secret_env, errmsg)
                            : oc_render_node(v, sc, errmsg);
            if (!j) {
                json_decref(o);
                return NULL;
            }
            json_object_set_new(o, key, j);
        }
    }
    if (o && oc_scope_confine_paths(ud->run->steps[ud->step].def, with, o, errmsg) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}
