/* A workflow input's value against its declaration (type, options,
 * pattern, size): the one check every way a run is started goes through
 * (docs/config.md, "Inputs"). Values are JSON; the text form (--input
 * k=v, a default in the file) is converted by the declared type first. */
#ifndef OC_INPUTS_H
#define OC_INPUTS_H

#include <jansson.h>

#include <orch/status.h>

#include "config.h"

struct orch_error;

/* A value's most bytes (a json value: its compact text). */
#define OC_INPUT_MAX_BYTES (256 << 10)

const char *oc_input_type_name(int type); /* OC_INPUT_* */
/* OC_INPUT_*, or -1 for a name that is none. */
int oc_input_type_of(const char *name);

/* NULL when v (a JSON value) is a valid value of d, with *out (new ref)
 * the value stored: a string input also takes a number or a boolean, as
 * its text. Else why not (malloc'd), without the input's name. */
char *oc_input_value(const struct oc_input_decl *d, json_t *v, json_t **out);

/* The same for the text form: a number's text is a JSON number, a
 * boolean's true or false, a json input's text is parsed as JSON; a
 * string or choice is the text itself. */
char *oc_input_text(const struct oc_input_decl *d, const char *text, size_t len,
                    json_t **out);

/* The pattern compiled (whole-value match, POSIX ERE) into *re: NULL, or
 * why not (malloc'd). Back-references are refused: glibc matches them by
 * backtracking, in time exponential in the value's length. */
char *oc_input_pattern_compile(const char *pattern, regex_t **re);

/* A workflow's given inputs (a JSON object) checked: an undeclared name,
 * a missing required input or a bad value is refused (ORCH_E_CONFIG,
 * ORCH_E_INVALID_ARG) naming the input and why; *out (new ref) the values
 * with the defaults filled. */
orch_status oc_inputs_check(const struct oc_workflow *wf, json_t *given,
                            json_t **out, struct orch_error *err);
/* Given values that are strings read as the text form of their declared
 * type (the CLI's --input, a schedule's inputs); others kept. *out: new
 * ref, for oc_inputs_check. */
orch_status oc_inputs_from_text(const struct oc_workflow *wf, json_t *given, json_t **out,
                                struct orch_error *err);

#endif
