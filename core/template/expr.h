/* The ${{ }} expression language: a parser to a small tree and its
 * evaluator. Private to core/template. */
#ifndef OC_TEMPLATE_EXPR_H
#define OC_TEMPLATE_EXPR_H

#include <stddef.h>

#include "../template.h"

enum oc_ex_kind {
    OC_EX_LIT,    /* val */
    OC_EX_REF,    /* ns + parts */
    OC_EX_CALL,   /* name + args */
    OC_EX_NOT,    /* args[0] */
    OC_EX_BIN,    /* op, args[0], args[1] */
    OC_EX_INDEX,  /* args[0] indexed by args[1]: fromJSON(x).name, (x)[0] */
};

enum oc_ex_op { OC_OP_EQ, OC_OP_NE, OC_OP_LT, OC_OP_LE, OC_OP_GT, OC_OP_GE,
                OC_OP_AND, OC_OP_OR };

struct oc_ex {
    enum oc_ex_kind kind;
    enum oc_ex_op op;
    struct oc_val val;
    char *name;             /* REF: namespace; CALL: function */
    char **parts;
    size_t n_parts;
    struct oc_ex **args;
    size_t n_args;
    size_t col;             /* 1-based column in the expression */
    unsigned height;        /* levels of the tree from here down (a leaf is 1) */
};

/* Parse one expression (the text between ${{ and }}). NULL with *errmsg
 * ("column N: ...") on a syntax error. */
struct oc_ex *oc_ex_parse(const char *src, size_t len, char **errmsg);
void oc_ex_free(struct oc_ex *e);
/* Evaluate; 0 or -1 with *errmsg. */
int oc_ex_eval(const struct oc_ex *e, const struct oc_scope *sc,
               struct oc_val *out, int *secret, char **errmsg);
/* Every function the tree calls exists and gets as many arguments as it
 * takes, every reference starts with a context there is: 0, or -1 with
 * *errmsg ("column N: ..."). What validation refuses before a run. */
int oc_ex_check_names(const struct oc_ex *e, char **errmsg);
/* Whether the tree calls function name. */
int oc_ex_calls(const struct oc_ex *e, const char *name);
/* Whether the tree calls success(), failure(), always() or cancelled(). */
int oc_ex_has_status_call(const struct oc_ex *e);
/* Call fn for every reference; non-zero from fn stops (returns it). */
int oc_ex_walk_refs(const struct oc_ex *e,
                    int (*fn)(void *ud, const char *ns, const char *const *parts,
                              size_t n),
                    void *ud);

int oc_val_truthy(const struct oc_val *v);
/* The value as text: null "", booleans true/false, integral numbers
 * without a fraction. malloc'd. */
char *oc_val_text(const struct oc_val *v);

#endif
