/* The names of artifacts, pure (no store, no config): what a step may
 * give (a run's own, runs/RUN/NAME, ns/NS/NAME[@V]) and the key rules of
 * run artifacts (run_artifacts.h) and shared namespaces (artifact_ns.h).
 * Apart from both so the config's checks use them without a call cycle. */
#include <stdlib.h>
#include <string.h>

#include "artifact_ns.h"
#include "run_artifacts.h"
#include "util.h"

char *oc_artifact_key(const char *run_id, const char *name)
{
    return oc_xasprintf("runs/%s/artifacts/%s", run_id, name);
}

int oc_artifact_name_ok(const char *name)
{
    if (!name || !*name || name[0] == '/' || strlen(name) > 512)
        return 0;
    for (const char *p = name; *p; p++)
        if ((unsigned char)*p < 0x20)
            return 0;
    const char *part = name;
    for (;;) {
        const char *slash = strchr(part, '/');
        size_t len = slash ? (size_t)(slash - part) : strlen(part);
        if (len == 0 || (len == 1 && part[0] == '.') ||
            (len == 2 && part[0] == '.' && part[1] == '.'))
            return 0;
        if (!slash)
            return 1;
        part = slash + 1;
    }
}

enum oc_artifact_ref oc_artifact_ref_parse(const char *name, char **run_id, const char **rest)
{
    *run_id = NULL;
    *rest = name;
    if (!oc_artifact_name_ok(name))
        return OC_ART_BAD;
    if (!strncmp(name, "ns/", 3)) {
        *rest = name + 3;
        return OC_ART_NAMESPACE;
    }
    if (strncmp(name, "runs/", 5))
        return OC_ART_OWN;
    const char *id = name + 5, *slash = strchr(id, '/');
    size_t len = slash ? (size_t)(slash - id) : 0;
    /* A run id as orch makes them (r- and base32), or any id of 1-64
     * [A-Za-z0-9_-]: nothing that could mean another key. */
    if (!len || len > 64 || !slash[1])
        return OC_ART_BAD;
    for (size_t i = 0; i < len; i++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", id[i]))
            return OC_ART_BAD;
    *run_id = oc_xstrndup(id, len);
    *rest = slash + 1;
    return OC_ART_OTHER_RUN;
}


int oc_artns_ns_ok(const char *ns)
{
    if (!ns || !*ns || strlen(ns) > OC_ARTNS_NS_MAX)
        return 0;
    if (!((ns[0] >= 'a' && ns[0] <= 'z') || (ns[0] >= '0' && ns[0] <= '9')))
        return 0;
    for (const char *p = ns; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyz0123456789_-", *p))
            return 0;
    return 1;
}

int oc_artns_name_ok(const char *name)
{
    return oc_artifact_name_ok(name) && !strchr(name, '@');
}

uint64_t oc_artns_version_parse(const char *s)
{
    if (!s || !*s || s[0] == '0' || strlen(s) > 16)
        return 0;
    uint64_t v = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    return v <= OC_ARTNS_VERSION_MAX ? v : 0;
}

int oc_artns_ref_parse(const char *rest, struct oc_artns_ref *out, char **why)
{
    memset(out, 0, sizeof *out);
    *why = NULL;
    const char *slash = rest ? strchr(rest, '/') : NULL;
    if (!slash || slash == rest || !slash[1]) {
        *why = oc_xstrdup("a namespace artifact is ns/NAMESPACE/NAME[@VERSION]");
        return -1;
    }
    char *ns = oc_xstrndup(rest, (size_t)(slash - rest));
    if (!oc_artns_ns_ok(ns)) {
        *why = oc_xasprintf("namespace '%.64s%s' is not a namespace name (1-%d of a-z, 0-9, "
                            "'_', '-', starting with a letter or digit)",
                            ns, strlen(ns) > 64 ? "..." : "", OC_ARTNS_NS_MAX);
        free(ns);
        return -1;
    }
    const char *at = strrchr(slash + 1, '@');
    char *name = at ? oc_xstrndup(slash + 1, (size_t)(at - slash - 1)) : oc_xstrdup(slash + 1);
    uint64_t version = 0;
    if (at && !(version = oc_artns_version_parse(at + 1))) {
        *why = oc_xasprintf("'@%.32s' is not a version (1, 2, 3, ... without a leading zero)",
                            at + 1);
    } else if (!oc_artns_name_ok(name)) {
        *why = oc_xstrdup("the name in a namespace must be relative, without '.', '..' or "
                          "empty parts, control characters or '@', at most 512 bytes");
    }
    if (*why) {
        free(ns);
        free(name);
        return -1;
    }
    *out = (struct oc_artns_ref){.ns = ns, .name = name, .version = version};
    return 0;
}

void oc_artns_ref_free(struct oc_artns_ref *r)
{
    free(r->ns);
    free(r->name);
    r->ns = r->name = NULL;
}

char *oc_artns_key(const char *ns, const char *name, uint64_t version)
{
    return oc_xasprintf("ns/%s/%s@%llu", ns, name, (unsigned long long)version);
}

char *oc_artns_stream(const char *ns)
{
    return oc_xasprintf("ns/%s", ns);
}

