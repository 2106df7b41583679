/* A step's strategy.matrix made into its instances: the combinations, in
 * order, and the name of each. The one owner of the expansion rule
 * (GitHub Actions' semantics, docs/config.md "Matrix") and of the naming
 * rule `ID (v1, v2)`; pure, so every case is unit tested
 * (tests/unit/test_matrix.c).
 *
 * The rule:
 * - The keys of the matrix other than include and exclude are its
 *   vectors, each a non-empty list of values (strings, numbers, booleans,
 *   null, or objects and lists, which compare as JSON). The combinations
 *   are their product, the first key outermost (it changes slowest).
 * - exclude: a list of objects; a combination is removed when it has
 *   every key:value of one of them (a partial match is enough).
 * - include: a list of objects, after exclude, in order. Each is added to
 *   every combination whose vector values it does not change (its keys
 *   that are vectors have the combination's values): its other keys are
 *   set, an earlier include's values overwritten. One that can be added
 *   to none is a combination of its own, at the end. A matrix of only
 *   include is its entries.
 * - At most `limit` combinations (before and after include); more, or
 *   none, is an error that says how many and what the limit is.
 */
#ifndef OC_MATRIX_H
#define OC_MATRIX_H

#include <jansson.h>
#include <stddef.h>

/* The combinations of matrix (an object as described above): *out, a
 * list of objects. 0, or -1 with *why (malloc'd) saying what is wrong in
 * words that name the key. */
int oc_matrix_expand(const json_t *matrix, size_t limit, json_t **out, char **why);

/* The name of the instance of step id with combination c: "id (v1, v2)",
 * the values in the combination's key order, a string as it is, any
 * other value as compact JSON. malloc'd. */
char *oc_matrix_instance_id(const char *id, const json_t *c);

/* *names: oc_matrix_instance_id of each combination of combos, in order.
 * 0, or -1 with *why (malloc'd) when two combinations would have one name
 * (a name is an instance's key in the store). */
int oc_matrix_names(const char *id, const json_t *combos, json_t **names, char **why);

/* The default for limit: instances one step may expand to. */
#define OC_MATRIX_LIMIT_DEFAULT 256

#endif
