/* Options flagged ORCH_OPTF_PATH_KIND (step-file's path, from, to): a path
 * whose kind ("host:", "artifact:", none = an instance path) is decided by
 * the literal text of the workflow file, never by what a template renders.
 * A run's inputs come from whoever may start it (an API token, a webhook):
 * were the kind decided after templating, `path: "${{ inputs.name }}"`
 * given "host:/etc/hostname" would read a file of the orch host. */
#ifndef OC_PATH_KIND_H
#define OC_PATH_KIND_H

#include <stddef.h>

/* The kind prefix of text: the word before ':' when text starts with
 * [a-z][a-z0-9_]*: ("host", "artifact"), copied into kind (cap bytes);
 * "" when there is none. Returns the prefix's length with its ':' (0 when
 * none). A prefix that holds a template is no prefix: "$" is not a word
 * character. */
size_t oc_path_kind(const char *text, char *kind, size_t cap);

/* The rendered value of a PATH_KIND option whose literal text is literal:
 * refused when its kind differs from the literal's, when the part after the
 * kind holds a ".." component, or when it is absolute while the literal's
 * was not; otherwise returned with "." and empty components removed
 * (malloc'd). NULL with *why (malloc'd, never the rendered value, which may
 * hold a secret) on refusal. */
char *oc_path_kind_confine(const char *literal, const char *rendered, char **why);

#endif
