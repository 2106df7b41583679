/* ${{ expr }} templates in option values and `if:` expressions.
 *
 * Expressions: string literals ('single quoted', '' escapes a quote),
 * numbers, true/false/null, references (inputs.NAME, steps.ID.outputs.NAME,
 * steps.ID.result, secrets.NAME, env.NAME), operators ! == != < <= > >= &&
 * || and parentheses, and functions success() failure() always()
 * cancelled() contains(a, b) startsWith(a, b) endsWith(a, b) format('{0}-{1}', a, b). */
#ifndef OC_TEMPLATE_H
#define OC_TEMPLATE_H

#include <jansson.h>
#include <stddef.h>

/* JSON: an array or an object (fromJSON's; a JSON scalar becomes the
 * value of its kind), indexed with .name, ['name'] or [N]. */
enum oc_val_kind { OC_VAL_NULL, OC_VAL_STR, OC_VAL_NUM, OC_VAL_BOOL, OC_VAL_JSON };

struct oc_val {
    enum oc_val_kind kind;
    char *s;   /* STR: malloc'd */
    double num;
    int b;
    json_t *j; /* JSON: a reference the value holds */
};
void oc_val_free(struct oc_val *v);

#define OC_LOOKUP_REFUSED (-2)

struct oc_scope {
    void *ud;
    /* Resolve a reference: ns is "inputs", "steps", "secrets" or "env";
     * parts are the rest (steps.build.outputs.sha -> {"build", "outputs",
     * "sha"}). Return 0 and fill *out (s malloc'd), setting *is_secret for
     * secret values; -1 when it does not exist; OC_LOOKUP_REFUSED when it
     * exists but may not be used, with out->s (malloc'd) saying why. */
    int (*lookup)(void *ud, const char *ns, const char *const *parts, size_t n,
                  struct oc_val *out, int *is_secret);
    /* success(), failure(), always(), cancelled(): 1 or 0. */
    int (*status_fn)(void *ud, const char *name);
    /* hashFiles(patterns): 0 with *out (malloc'd) the text that stands for
     * the hash until the step's executor reads the files; -1 with *err
     * (malloc'd). NULL: hashFiles is refused here (only a step's with: and
     * env: have an instance to read). */
    int (*hash_files)(void *ud, const char *const *patterns, size_t n, char **out,
                      char **err);
};

int oc_template_has(const char *s); /* contains "${{" */

/* Replace every ${{ expr }} in `in` by its value as text. *secret_out (may
 * be NULL) is set when a secret was interpolated. 0, or -1 with *errmsg
 * (malloc'd) naming the expression and the problem. */
int oc_template_render(const char *in, const struct oc_scope *sc, char **out,
                       int *secret_out, char **errmsg);

/* Called for each expression of a template whose value is secret: the
 * text to write in its place (malloc'd), or NULL with *err (malloc'd).
 * before/len: the output so far; name: NAME when the expression is exactly
 * secrets.NAME, else NULL; value: what the expression gave. */
typedef char *(*oc_secret_subst_fn)(void *ud, const char *before, size_t len,
                                    const char *name, const char *value, char **err);
/* oc_template_render, with every secret value replaced by what subst says
 * (subst NULL: written as it is). */
int oc_template_render_subst(const char *in, const struct oc_scope *sc,
                             oc_secret_subst_fn subst, void *ud, char **out,
                             int *secret_out, char **errmsg);

/* Evaluate an `if:` (with or without the ${{ }} wrapper). A condition that
 * calls none of the status functions behaves as `success() && (cond)`. */
int oc_expr_eval_bool(const char *expr, const struct oc_scope *sc, int *result,
                      char **errmsg);

/* The value of a string that is exactly one ${{ expr }} (spaces around
 * allowed), kept as its kind: a list from fromJSON stays a list. 0 with
 * *out (the caller frees it), or -1 with *errmsg (malloc'd): not one
 * expression, a syntax error, or the evaluation's error. */
int oc_template_eval_value(const char *s, const struct oc_scope *sc, struct oc_val *out,
                           char **errmsg);

/* Parse only: call fn for every reference in a template (is_expr 0) or an
 * expression (is_expr 1); fn returning non-zero stops with -1. Syntax errors
 * give -1 with *errmsg. For config validation. */
/* Whether a template (is_expr: an `if:`) calls function name; a syntax
 * error is no call (validation reports it). */
int oc_template_calls(const char *s, int is_expr, const char *name);
int oc_template_refs(const char *s, int is_expr,
                     int (*fn)(void *ud, const char *ns,
                               const char *const *parts, size_t n),
                     void *ud, char **errmsg);

/* Secret redaction for everything the core prints or stores. */
struct oc_redactor;
struct oc_buf;
/* Shorter values are not registered (too many false hits). */
#define OC_REDACT_MIN 4
struct oc_redactor *oc_redactor_new(void);
void oc_redactor_free(struct oc_redactor *r);
/* Registers the value, each line of a multi-line value, and its base64,
 * URL-escaped and JSON-escaped forms (each form of 4 bytes or more). */
void oc_redactor_add(struct oc_redactor *r, const char *secret);
/* The longest registered form, in bytes (0 with none): a stream keeps back
 * fewer bytes than this. */
size_t oc_redactor_longest(const struct oc_redactor *r);
/* A malloc'd copy of in[0..len) with every registered secret replaced by
 * "***"; *out_len set. Safe with r == NULL (plain copy). */
char *oc_redact(const struct oc_redactor *r, const char *in, size_t len,
                size_t *out_len);
/* One output stream cut into chunks: appends to out the redacted bytes now
 * known not to start a secret and keeps the rest (fewer bytes than the
 * longest form) in held, the stream's own buffer, for the next chunk. */
void oc_redact_stream(const struct oc_redactor *r, struct oc_buf *held, const char *in,
                      size_t len, struct oc_buf *out);
/* The stream ended: the bytes held back, redacted, go to out. */
void oc_redact_stream_end(const struct oc_redactor *r, struct oc_buf *held,
                          struct oc_buf *out);

#endif
