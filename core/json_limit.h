/* How deeply a document read from outside may nest, and JSON reading that
 * keeps to it. orch's tree walkers (node.c, the config reader, the
 * template scope) recurse over documents; refusing anything deeper than
 * OC_MAX_NESTING where the document enters is what keeps their stack use
 * small and independent of the input. */
#ifndef OC_JSON_LIMIT_H
#define OC_JSON_LIMIT_H

#include <jansson.h>
#include <stddef.h>

/* Levels of mappings/objects and sequences/arrays, counting the outermost
 * one: a config file, an API body, a JSON value given on the command line
 * or answered by a server. */
#define OC_MAX_NESTING 64

/* 0 when text nests at most max levels; -1 with err filled (text naming
 * the limit, line, column and position of the bracket that goes too deep)
 * otherwise. A single pass without recursion, meant to run before
 * json_loadb: jansson's parser recurses once per level, to 2048. Invalid
 * JSON that is not too deep passes; json_loadb reports it. */
int oc_json_nesting_check(const char *text, size_t len, size_t max, json_error_t *err);

/* json_loadb after oc_json_nesting_check(OC_MAX_NESTING): NULL with err
 * filled for too deep or invalid text. err may be NULL. */
json_t *oc_json_loadb_bounded(const char *text, size_t len, size_t flags, json_error_t *err);
/* The same for a NUL-terminated text. */
json_t *oc_json_loads_bounded(const char *text, size_t flags, json_error_t *err);

#endif
