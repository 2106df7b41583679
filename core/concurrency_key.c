/* A concurrency group's key: rendered from its template over the run's
 * inputs, named in the store by its sha256, shown to people escaped and
 * cut short. Pure: no store, no engine (core/concurrency.h). */
#define _GNU_SOURCE
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "concurrency.h"
#include "host.h"
#include "template.h"
#include "util.h"

#define OC_CGROUP_SHOWN_MAX 120

/* inputs.NAME as text: a string as it is, any other value its compact
 * JSON text (true, 3, ["a"]); validate.c refuses any other context. */
static int oc_cgroup_lookup(void *ud, const char *ns, const char *const *parts, size_t n,
                            struct oc_val *out, int *is_secret)
{
    json_t *inputs = ud;
    memset(out, 0, sizeof *out);
    *is_secret = 0;
    if (strcmp(ns, "inputs") || n != 1)
        return -1;
    json_t *v = json_object_get(inputs, parts[0]);
    if (!v)
        return -1;
    out->kind = OC_VAL_STR;
    out->s = json_is_string(v) ? oc_xstrdup(json_string_value(v))
                               : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
    return 0;
}

static int oc_cgroup_status(void *ud, const char *name)
{
    (void)ud;
    (void)name;
    return 1;
}

orch_status oc_cgroup_key(const struct oc_workflow *wf, json_t *inputs, char **key,
                          struct orch_error *err)
{
    *key = NULL;
    if (!wf->cgroup.key)
        return ORCH_OK;
    struct oc_scope sc = {.ud = inputs, .lookup = oc_cgroup_lookup,
                          .status_fn = oc_cgroup_status};
    char *out = NULL, *why = NULL;
    if (oc_template_render(wf->cgroup.key, &sc, &out, NULL, &why) != 0) {
        orch_status rc = oc_error_set(err, ORCH_E_INVALID_ARG,
                                      "workflow %s: concurrency_group.key: %s", wf->name,
                                      why ? why : "cannot be rendered");
        free(why);
        return rc;
    }
    if (!*out) {
        free(out);
        return oc_error_set(err, ORCH_E_INVALID_ARG,
                            "workflow %s: concurrency_group.key '%s' renders empty for these "
                            "inputs (give the inputs it uses a value)",
                            wf->name, wf->cgroup.key);
    }
    *key = out;
    return ORCH_OK;
}

void oc_cgroup_key_id(const char *key, char id[OC_CGROUP_ID_LEN + 1])
{
    struct sha256_ctx c;
    uint8_t d[SHA256_DIGEST_SIZE];
    sha256_init(&c);
    sha256_update(&c, strlen(key), (const uint8_t *)key);
    sha256_digest(&c, sizeof d, d);
    for (size_t i = 0; i < sizeof d; i++)
        snprintf(id + 2 * i, 3, "%02x", d[i]);
}

char *oc_cgroup_key_shown(const char *key)
{
    struct oc_buf b = {0};
    size_t len = strlen(key), i = 0;
    for (; i < len && b.len < OC_CGROUP_SHOWN_MAX; i++) {
        unsigned char c = (unsigned char)key[i];
        if (c == '\\')
            oc_buf_addf(&b, "\\\\");
        else if (c < 0x20 || c == 0x7f)
            oc_buf_addf(&b, "\\x%02x", c);
        else
            oc_buf_addf(&b, "%c", c);
    }
    if (i < len) {
        /* Cut before the last character when it may be cut short: what
         * is shown stays valid UTF-8 (a whole one may go too). */
        if (b.len && ((unsigned char)b.data[b.len - 1] & 0x80)) {
            while (b.len && ((unsigned char)b.data[b.len - 1] & 0xc0) == 0x80)
                b.len--;
            if (b.len && ((unsigned char)b.data[b.len - 1] & 0xc0) == 0xc0)
                b.len--;
        }
        b.data[b.len] = 0;
        oc_buf_addf(&b, "... (%zu bytes)", len);
    }
    return b.data ? b.data : oc_xstrdup("");
}
