/* Locations and the checks that keep a step inside its instance's work
 * dir and its run's artifacts. */
#define _GNU_SOURCE
#include <string.h>

#include "file.h"

/* Lexical clean-up of a relative path: "." and empty parts go; ".." climbs
 * and may not climb out. 0 when it stays inside and is not empty. */
static int sf_clean_relative(const char *in, char *out, size_t cap)
{
    if (!in || !*in || in[0] == '/' || strlen(in) >= cap)
        return -1;
    size_t len = 0;
    const char *p = in;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            if (len == 0)
                return -1; /* above the root */
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else if (n && !(n == 1 && p[0] == '.')) {
            if (len)
                out[len++] = '/';
            memcpy(out + len, p, n);
            len += n;
        }
        p += n + (slash ? 1 : 0);
    }
    out[len] = 0;
    return len ? 0 : -1;
}

orch_status sf_loc_parse(const char *text, const char *option, struct sf_loc *out,
                         struct orch_error *err)
{
    if (!text || !*text)
        return sf_host->error_set(err, ORCH_E_CONFIG, "'%s' is empty", option);
    if (!strncmp(text, "host:", 5)) {
        out->where = SF_HOST;
        if (!text[5] || strlen(text + 5) >= sizeof out->path)
            return sf_host->error_set(err, ORCH_E_INVALID_ARG, "'%s': bad host path",
                                      option);
        strcpy(out->path, text + 5);
        return ORCH_OK;
    }
    const char *p = text;
    out->where = SF_INSTANCE;
    if (!strncmp(text, "artifact:", 9)) {
        out->where = SF_ARTIFACT;
        p = text + 9;
    } else if (!strncmp(text, "instance:", 9)) {
        p = text + 9;
    }
    if (sf_clean_relative(p, out->path, sizeof out->path) != 0)
        return sf_host->error_set(err, ORCH_E_INVALID_ARG,
                                  "'%s': %s escapes the %s (paths are relative and "
                                  "stay inside it)",
                                  option, p,
                                  out->where == SF_ARTIFACT ? "run's artifacts"
                                                            : "instance's work dir");
    return ORCH_OK;
}

const char *sf_loc_kind(const struct sf_loc *l)
{
    return l->where == SF_HOST ? "host" : l->where == SF_ARTIFACT ? "artifact" : "instance";
}
