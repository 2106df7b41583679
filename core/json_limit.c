/* The nesting scan before jansson: one pass, a counter, no recursion. */
#include "json_limit.h"

#include <stdio.h>
#include <string.h>

int oc_json_nesting_check(const char *text, size_t len, size_t max, json_error_t *err)
{
    size_t depth = 0, line = 1, col = 0;
    int in_string = 0, escaped = 0;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        col++;
        if (c == '\n') {
            line++;
            col = 0;
        }
        if (in_string) {
            /* A backslash makes the next byte part of the string whatever
             * it is; jansson refuses the escapes it does not know, so the
             * two never disagree on where a string ends before jansson
             * stops. */
            if (escaped)
                escaped = 0;
            else if (c == '\\')
                escaped = 1;
            else if (c == '"')
                in_string = 0;
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max) {
                if (err) {
                    memset(err, 0, sizeof *err);
                    err->line = (int)line;
                    err->column = (int)col;
                    err->position = (int)i;
                    snprintf(err->text, sizeof err->text,
                             "nested deeper than %zu levels (the limit)", max);
                    snprintf(err->source, sizeof err->source, "<nesting check>");
                }
                return -1;
            }
        } else if ((c == ']' || c == '}') && depth) {
            depth--;
        }
    }
    return 0;
}

json_t *oc_json_loadb_bounded(const char *text, size_t len, size_t flags, json_error_t *err)
{
    if (oc_json_nesting_check(text, len, OC_MAX_NESTING, err) != 0)
        return NULL;
    return json_loadb(text, len, flags, err);
}

json_t *oc_json_loads_bounded(const char *text, size_t flags, json_error_t *err)
{
    return oc_json_loadb_bounded(text, strlen(text), flags, err);
}
