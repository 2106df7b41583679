/* A step's environment and inputs for one attempt. The layers, each
 * winning over the one before (docs/security.md, "Step environments and
 * secrets"): the backend's base, the config's env_passthrough names with
 * their values in orch's environment, the workflow's env:, the step's
 * env:, the plugin's own variables (step-exec's with: env:), and last the
 * variables carrying the secrets the step's script names. The first three
 * are made here and travel in the executor request's ctx "env"; the
 * executor merges them into every command (core/exec_env.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../host.h"
#include "../proc_env.h"
#include "../trace/trace.h"
#include "internal.h"

static int oc_env_render(const struct oc_node *env, const struct oc_scope *sc, json_t *into,
                         const char *what, char **errmsg)
{
    for (size_t i = 0; env && i < env->len; i++) {
        const struct oc_node *v = env->items[i];
        const char *key = env->keys[i]->str;
        char *text = NULL, *msg = NULL;
        if (v->kind != OC_NODE_SCALAR) {
            text = oc_xstrdup("");
        } else if (oc_template_has(v->str)) {
            if (oc_template_render(v->str, sc, &text, NULL, &msg) != 0) {
                *errmsg = oc_xasprintf("%s env %s: %s", what, key, msg ? msg : "cannot render");
                free(msg);
                return -1;
            }
        } else {
            text = oc_xstrdup(v->str);
        }
        json_t *j = json_string(text);
        free(text);
        if (!j) {
            *errmsg = oc_xasprintf("%s env %s: the value is not UTF-8 text", what, key);
            return -1;
        }
        json_object_set_new(into, key, j);
    }
    return 0;
}

/* One env: mapping rendered, then added to into: a value's ${{ env.X }}
 * sees the layers below (for a step's env:, the workflow's), never its
 * neighbours, so the order of the keys does not matter. */
static int oc_env_layer(const struct oc_node *env, const struct oc_scope *sc, json_t *into,
                        const char *what, char **errmsg)
{
    json_t *layer = json_object();
    int rc = oc_env_render(env, sc, layer, what, errmsg);
    if (rc == 0)
        json_object_update(into, layer);
    json_decref(layer);
    return rc;
}

/* A pattern of hashFiles(): relative to the step's work dir ("!" before
 * it excludes), never leaving it. */
static char *oc_hash_pattern_why(const char *p)
{
    const char *q = *p == '!' ? p + 1 : p;
    if (!*q)
        return oc_xstrdup("an empty pattern");
    if (*q == '/')
        return oc_xasprintf("'%s': patterns are relative to the step's work dir", p);
    for (const char *s = q; *s; s++)
        if ((unsigned char)*s < 0x20)
            return oc_xstrdup("a pattern with a control character");
    for (const char *s = q; (s = strstr(s, "..")); s += 2)
        if ((s == q || s[-1] == '/') && (s[2] == '/' || !s[2]))
            return oc_xasprintf("'%s': a pattern cannot leave the step's work dir (..)", p);
    return NULL;
}

/* hashFiles() in a step's with: or env:: a token the executor replaces by
 * the hash of the instance's files, where the step runs. The nonce makes
 * it unguessable, so no value (an input, another step's output) can
 * forge one. */
static int oc_scope_hash_files(void *u, const char *const *patterns, size_t n, char **out,
                               char **err)
{
    struct oc_scope_ud *ud = u;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        if ((*err = oc_hash_pattern_why(patterns[i]))) {
            json_decref(list);
            return -1;
        }
        json_array_append_new(list, json_string(patterns[i]));
    }
    *out = oc_xasprintf("@@orch-hashFiles-%s-%zu@@", ud->hash_nonce,
                        json_object_size(ud->hash_files));
    json_object_set_new(ud->hash_files, *out, list);
    return 0;
}

int oc_step_scope(struct oc_run *r, size_t idx, struct oc_scope *sc,
                  struct oc_scope_ud *ud, char **errmsg)
{
    json_t *secrets = ud->secrets, *hashes = ud->hash_files;
    oc_scope_make(sc, ud, r, idx);
    ud->secrets = secrets;
    ud->hash_files = hashes;
    if (hashes) {
        char *id = oc_new_id("");
        snprintf(ud->hash_nonce, sizeof ud->hash_nonce, "%s", id);
        free(id);
        sc->hash_files = oc_scope_hash_files;
    }
    ud->env = json_object();
    /* The attempt's span: tools the command runs can join the trace. */
    char tp[OC_TRACEPARENT_LEN + 1];
    if (oc_tracer_traceparent(r->e->tracer, r->traced ? &r->trace_parent : NULL,
                              r->trace_verdict, r->id, r->steps[idx].name,
                              r->steps[idx].attempt + 1, tp) == 0)
        json_object_set_new(ud->env, "TRACEPARENT", json_string(tp));
    for (size_t i = 0; i < r->cfg->n_env_passthrough; i++) {
        const char *name = r->cfg->env_passthrough[i];
        const char *v = oc_env_get(name);
        json_t *j = v ? json_string(v) : NULL;
        if (j)
            json_object_set_new(ud->env, name, j);
        else if (v)
            oc_log(ORCH_LOG_WARN, r->id, "env_passthrough: %s is not UTF-8 text; not passed",
                   name);
    }
    if (oc_env_layer(r->wf->env, sc, ud->env, "workflow", errmsg) != 0 ||
        oc_env_layer(r->steps[idx].def->env, sc, ud->env, "step", errmsg) != 0) {
        json_decref(ud->env);
        ud->env = NULL;
        return -1;
    }
    return 0;
}

int oc_step_input_make(struct oc_run *r, size_t idx, struct oc_step_input *in,
                       char **errmsg)
{
    memset(in, 0, sizeof *in);
    const struct oc_step *def = r->steps[idx].def;
    struct oc_scope sc;
    /* An engine-decided step (an approval, a call) has no executor to read
     * an instance's files: hashFiles() is refused there. */
    int decided = def->plugin && (def->plugin->desc->caps & ORCH_STEP_CAP_ENGINE_DECIDED);
    struct oc_scope_ud ud = {.secrets = json_object(),
                             .hash_files = decided ? NULL : json_object()};
    *errmsg = NULL;
    if (oc_step_scope(r, idx, &sc, &ud, errmsg) != 0) {
        json_decref(ud.secrets);
        json_decref(ud.hash_files);
        return -1;
    }
    ud.secret_env = json_object();
    in->with = oc_scope_render_with(&sc, def->plugin ? def->plugin->desc : NULL, def->with,
                                    errmsg);
    in->env = ud.env;
    in->secrets = ud.secrets;
    in->secret_env = ud.secret_env;
    in->hash_files = ud.hash_files;
    if (!in->with) {
        char *m = oc_xasprintf("with: %s", *errmsg ? *errmsg : "cannot render");
        free(*errmsg);
        *errmsg = m;
        oc_step_input_free(in);
        return -1;
    }
    return 0;
}

void oc_step_input_free(struct oc_step_input *in)
{
    json_decref(in->with);
    json_decref(in->env);
    json_decref(in->secret_env);
    json_decref(in->secrets);
    json_decref(in->hash_files);
    memset(in, 0, sizeof *in);
}
