/* A workflow's inputs: mapping to its declarations: type, options,
 * pattern (compiled here, so a bad one is an error at its line) and a
 * default that must itself be a valid value (docs/config.md, "Inputs"). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "../inputs.h"
#include "internal.h"

static void oc_input_options_read(struct oc_cfg_reader *b, struct oc_input_decl *d,
                                  const struct oc_node *v, const char *what)
{
    const struct oc_node *o = oc_node_get(v, "options");
    if (d->type != OC_INPUT_CHOICE) {
        if (o)
            oc_diag_add(b->diag, &oc_node_key(v, "options")->pos,
                        "%s: options are for type: choice only (this input is a %s)", what,
                        oc_input_type_name(d->type));
        return;
    }
    if (!o || o->kind != OC_NODE_SEQ || !o->len) {
        oc_diag_add(b->diag, o ? &o->pos : &v->pos,
                    "%s: type choice needs options: a non-empty list of the values allowed",
                    what);
        return;
    }
    d->options = oc_get_names(b, o, &d->n_options, what);
    for (size_t i = 0; i < d->n_options; i++)
        for (size_t j = 0; j < i; j++)
            if (!strcmp(d->options[i], d->options[j]))
                oc_diag_add(b->diag, &o->items[i]->pos, "%s: option '%s' is listed twice",
                            what, d->options[i]);
}

static void oc_input_pattern_read(struct oc_cfg_reader *b, struct oc_input_decl *d,
                                  const struct oc_node *v, const char *what)
{
    const struct oc_node *p = oc_node_get(v, "pattern");
    if (!p)
        return;
    if (d->type != OC_INPUT_STRING) {
        oc_diag_add(b->diag, &oc_node_key(v, "pattern")->pos,
                    "%s: pattern is for type: string only (this input is a %s)", what,
                    oc_input_type_name(d->type));
        return;
    }
    d->pattern = oc_dup_scalar(b, v, "pattern", what);
    if (!d->pattern)
        return;
    char *why = oc_input_pattern_compile(d->pattern, &d->re);
    if (why)
        oc_diag_add(b->diag, &p->pos, "%s: pattern '%s': %s", what, d->pattern, why);
    free(why);
}

/* The default's text form; a json input may write it as YAML (a mapping
 * or a list), kept as compact JSON text. */
static void oc_input_default_read(struct oc_cfg_reader *b, struct oc_input_decl *d,
                                  const struct oc_node *v, const char *what)
{
    const struct oc_node *n = oc_node_get(v, "default");
    if (!n || n->kind == OC_NODE_NULL)
        return;
    if (d->type == OC_INPUT_JSON && n->kind != OC_NODE_SCALAR) {
        json_t *j = oc_node_to_json(n);
        d->default_value = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
    } else {
        d->default_value = oc_dup_scalar(b, v, "default", what);
    }
    if (!d->default_value)
        return;
    /* Checked and typed once, here: every run without the input takes
     * a copy of it. */
    char *why = oc_input_text(d, d->default_value, strlen(d->default_value), &d->default_json);
    if (why)
        oc_diag_add(b->diag, &n->pos, "%s: the default %s", what, why);
    free(why);
}

static void oc_input_read(struct oc_cfg_reader *b, struct oc_input_decl *d,
                          const struct oc_node *v, const char *what)
{
    static const char *const keys[] = {"type", "default", "required", "description",
                                       "options", "pattern", NULL};
    if (v->kind != OC_NODE_MAP) {
        oc_diag_add(b->diag, &v->pos, "%s must be a mapping (type, default, required, "
                                      "description, options, pattern)", what);
        return;
    }
    oc_cfg_check_keys(v, keys, what, b->diag);
    const struct oc_node *t = oc_node_get(v, "type");
    const char *ts = oc_scalar(b, t, what);
    if (ts && (d->type = oc_input_type_of(ts)) < 0) {
        oc_diag_add(b->diag, &t->pos, "%s: type must be string, number, boolean, choice or "
                                      "json, not '%s'", what, ts);
        d->type = OC_INPUT_STRING;
    }
    d->required = oc_get_bool(b, v, "required", 0, what);
    d->description = oc_dup_scalar(b, v, "description", what);
    oc_input_options_read(b, d, v, what);
    oc_input_pattern_read(b, d, v, what);
    oc_input_default_read(b, d, v, what);
}

void oc_inputs_read(struct oc_cfg_reader *b, struct oc_workflow *w, const struct oc_node *n,
                    const char *what)
{
    const struct oc_node *in = oc_get_map(b, n, "inputs", what);
    if (!in)
        return;
    w->inputs = oc_xcalloc(in->len + 1, sizeof *w->inputs);
    for (size_t i = 0; i < in->len; i++) {
        struct oc_input_decl *d = &w->inputs[w->n_inputs++];
        const struct oc_node *v = in->items[i];
        d->name = oc_xstrdup(in->keys[i]->str);
        d->pos = in->keys[i]->pos;
        if (v->kind == OC_NODE_NULL)
            continue;
        char *iw = oc_xasprintf("%s, input %s", what, d->name);
        oc_input_read(b, d, v, iw);
        free(iw);
    }
}

void oc_inputs_free(struct oc_workflow *w)
{
    for (size_t j = 0; j < w->n_inputs; j++) {
        struct oc_input_decl *d = &w->inputs[j];
        free(d->name);
        free(d->default_value);
        json_decref(d->default_json);
        free(d->description);
        for (size_t k = 0; k < d->n_options; k++)
            free(d->options[k]);
        free(d->options);
        free(d->pattern);
        if (d->re)
            regfree(d->re);
        free(d->re);
    }
    free(w->inputs);
}
