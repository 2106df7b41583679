/* Workflow inputs against their declarations: the value checks shared by
 * config load (a default), the CLI and schedules (the text form) and every
 * run's creation (oc_inputs_check, before anything is stored). */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "inputs.h"
#include "json_limit.h"
#include "node.h"
#include "util.h"

static const char *const oc_type_names[] = {"string", "number", "boolean", "choice", "json"};

const char *oc_input_type_name(int type)
{
    return type >= 0 && type <= OC_INPUT_JSON ? oc_type_names[type] : "?";
}

int oc_input_type_of(const char *name)
{
    for (int i = 0; i <= OC_INPUT_JSON; i++)
        if (!strcmp(name, oc_type_names[i]))
            return i;
    return -1;
}

static const char *oc_json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* The value, quoted, when it is short printable ASCII; else nothing: an
 * error message never carries a megabyte or a terminal escape. */
static char *oc_quote_short(const char *s, size_t len)
{
    if (len > 40)
        return oc_xstrdup("");
    for (size_t i = 0; i < len; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return oc_xstrdup("");
    return oc_xasprintf(" (got '%.*s')", (int)len, s);
}

/* A string's bytes: the size first (before any copy or match), then NUL
 * and UTF-8 (the CLI's text is taken unchecked so that this says why). */
static char *oc_text_check(const char *s, size_t len)
{
    if (len > OC_INPUT_MAX_BYTES)
        return oc_xasprintf("is %zu bytes; the limit is %d", len, OC_INPUT_MAX_BYTES);
    if (memchr(s, 0, len))
        return oc_xstrdup("contains a NUL byte");
    size_t n;
    char *fixed = oc_utf8_lossy(s, len, &n);
    int bad = n != len || memcmp(fixed, s, len);
    free(fixed);
    return bad ? oc_xstrdup("is not valid UTF-8") : NULL;
}

char *oc_input_value(const struct oc_input_decl *d, json_t *v, json_t **out)
{
    *out = NULL;
    if (d->type == OC_INPUT_NUMBER || d->type == OC_INPUT_BOOLEAN) {
        int ok = d->type == OC_INPUT_NUMBER ? json_is_number(v) : json_is_boolean(v);
        if (!ok)
            return oc_xasprintf("must be a %s, not %s", oc_input_type_name(d->type),
                                oc_json_kind(v));
        *out = json_incref(v);
        return NULL;
    }
    if (d->type == OC_INPUT_JSON) {
        char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        size_t len = t ? strlen(t) : 0;
        free(t);
        if (len > OC_INPUT_MAX_BYTES)
            return oc_xasprintf("is %zu bytes as JSON; the limit is %d", len,
                                OC_INPUT_MAX_BYTES);
        *out = json_incref(v);
        return NULL;
    }
    /* string and choice: text, as a number or a boolean was before types. */
    json_t *s;
    if (json_is_string(v))
        s = json_incref(v);
    else if (json_is_number(v) || json_is_boolean(v)) {
        char *t = json_dumps(v, JSON_ENCODE_ANY);
        s = json_string(t);
        free(t);
    } else
        return oc_xasprintf("must be a %s, not %s", oc_input_type_name(d->type),
                            oc_json_kind(v));
    const char *t = json_string_value(s);
    size_t len = json_string_length(s);
    char *why = oc_text_check(t, len);
    if (!why && d->type == OC_INPUT_CHOICE) {
        size_t i;
        for (i = 0; i < d->n_options; i++)
            if (strlen(d->options[i]) == len && !memcmp(d->options[i], t, len))
                break;
        if (i == d->n_options) {
            struct oc_buf all = {0};
            for (size_t j = 0; j < d->n_options; j++)
                oc_buf_addf(&all, "%s%s", j ? ", " : "", d->options[j]);
            char *got = oc_quote_short(t, len);
            why = oc_xasprintf("must be one of %s%s", all.data, got);
            free(got);
            oc_buf_free(&all);
        }
    }
    if (!why && d->re && regexec(d->re, t, 0, NULL, 0) != 0) {
        char *got = oc_quote_short(t, len);
        why = oc_xasprintf("does not match the pattern '%s'%s", d->pattern, got);
        free(got);
    }
    if (why)
        json_decref(s);
    else
        *out = s;
    return why;
}

char *oc_input_text(const struct oc_input_decl *d, const char *text, size_t len,
                    json_t **out)
{
    *out = NULL;
    if (len > OC_INPUT_MAX_BYTES)
        return oc_xasprintf("is %zu bytes; the limit is %d", len, OC_INPUT_MAX_BYTES);
    json_t *v = NULL;
    char *why = NULL;
    if (d->type == OC_INPUT_NUMBER) {
        char *t = oc_xstrndup(text, len);
        json_error_t e;
        if (memchr(text, 0, len) || !oc_json_number_text(t))
            why = oc_xasprintf("must be a number (JSON syntax: 42, -1.5, 1e3)");
        else if (!(v = json_loads(t, JSON_DECODE_ANY, &e)))
            why = oc_xasprintf("is a number out of range (%s)", e.text);
        free(t);
    } else if (d->type == OC_INPUT_BOOLEAN) {
        if (len == 4 && !memcmp(text, "true", 4))
            v = json_true();
        else if (len == 5 && !memcmp(text, "false", 5))
            v = json_false();
        else
            why = oc_xstrdup("must be true or false");
    } else if (d->type == OC_INPUT_JSON) {
        json_error_t e;
        why = oc_text_check(text, len);
        if (!why && !(v = oc_json_loadb_bounded(text, len,
                                                 JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &e)))
            why = oc_xasprintf("is not JSON: %s at character %d", e.text, e.position);
    } else {
        v = json_stringn_nocheck(text, len);
    }
    if (why)
        return why;
    why = oc_input_value(d, v, out);
    json_decref(v);
    return why;
}

char *oc_input_pattern_compile(const char *pattern, regex_t **re)
{
    *re = NULL;
    for (const char *p = pattern; *p; p++) {
        if (*p != '\\')
            continue;
        if (p[1] >= '1' && p[1] <= '9')
            return oc_xasprintf("back-references (\\%c) are not allowed: their matching "
                                "time grows exponentially with the value", p[1]);
        if (p[1])
            p++;
    }
    /* The pattern alone first: wrapped, an unbalanced one such as
     * "[a-z]+)|(.*" would close the wrapper's group and open its own, and
     * compile into "anything". */
    regex_t *r = oc_xcalloc(1, sizeof *r);
    int rc = regcomp(r, pattern, REG_EXTENDED | REG_NOSUB);
    if (!rc) {
        regfree(r);
        /* Whole value: a pattern constrains what the value is, not what it
         * holds. */
        char *whole = oc_xasprintf("^(%s)$", pattern);
        rc = regcomp(r, whole, REG_EXTENDED | REG_NOSUB);
        free(whole);
    }
    if (rc) {
        char msg[256];
        regerror(rc, r, msg, sizeof msg);
        free(r);
        return oc_xasprintf("is not a POSIX extended regular expression (%s)", msg);
    }
    *re = r;
    return NULL;
}

static orch_status oc_input_refused(const struct oc_workflow *wf, const char *name, char *why,
                                    struct orch_error *err)
{
    oc_error_set(err, ORCH_E_INVALID_ARG, "workflow %s: input '%s' %s", wf->name, name, why);
    free(why);
    return ORCH_E_INVALID_ARG;
}

static const struct oc_input_decl *oc_decl(const struct oc_workflow *wf, const char *name)
{
    for (size_t i = 0; i < wf->n_inputs; i++)
        if (!strcmp(wf->inputs[i].name, name))
            return &wf->inputs[i];
    return NULL;
}

orch_status oc_inputs_from_text(const struct oc_workflow *wf, json_t *given, json_t **out,
                                struct orch_error *err)
{
    json_t *in = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(given, k, v) {
        const struct oc_input_decl *d = oc_decl(wf, k);
        json_t *typed = NULL;
        if (!d || !json_is_string(v)) {
            /* Unknown: oc_inputs_check names it; not text: a YAML mapping
             * or number, already a value. */
            json_object_set(in, k, v);
            continue;
        }
        char *why = oc_input_text(d, json_string_value(v), json_string_length(v), &typed);
        if (why) {
            json_decref(in);
            return oc_input_refused(wf, k, why, err);
        }
        json_object_set_new(in, k, typed);
    }
    *out = in;
    return ORCH_OK;
}

orch_status oc_inputs_check(const struct oc_workflow *wf, json_t *given,
                            json_t **out, struct orch_error *err)
{
    json_t *in = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(given, k, v) {
        const struct oc_input_decl *d = oc_decl(wf, k);
        if (!d) {
            const char **names = oc_xcalloc(wf->n_inputs + 1, sizeof *names);
            for (size_t j = 0; j < wf->n_inputs; j++)
                names[j] = wf->inputs[j].name;
            const char *near = oc_closest(k, names, wf->n_inputs);
            /* The caller's name, escaped and cut: it reaches logs and answers. */
            char *shown = oc_escape_bytes(k, strlen(k), 64);
            oc_error_set(err, ORCH_E_CONFIG,
                         "workflow %s has no input '%s'%s%s%s", wf->name, shown,
                         near ? " (did you mean '" : "", near ? near : "",
                         near ? "'?)" : "");
            free(shown);
            free(names);
            json_decref(in);
            return ORCH_E_CONFIG;
        }
        json_t *typed = NULL;
        char *why = oc_input_value(d, v, &typed);
        if (why) {
            json_decref(in);
            return oc_input_refused(wf, k, why, err);
        }
        json_object_set_new(in, k, typed);
    }
    for (size_t i = 0; i < wf->n_inputs; i++) {
        const struct oc_input_decl *d = &wf->inputs[i];
        if (json_object_get(in, d->name))
            continue;
        if (d->default_json) {
            json_object_set_new(in, d->name, json_deep_copy(d->default_json));
        } else if (d->required) {
            json_decref(in);
            return oc_error_set(err, ORCH_E_CONFIG,
                                "workflow %s: input '%s' is required (give it with --input %s=VALUE)",
                                wf->name, d->name, d->name);
        }
    }
    *out = in;
    return ORCH_OK;
}
