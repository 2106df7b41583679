/* See exec_env.h. */
#include "exec_env.h"

#include <string.h>

#include "util.h"

static void oc_kv_put(struct orch_kv *kv, uint32_t *n, const char *key, const char *value)
{
    if (!key || !value)
        return;
    for (uint32_t i = 0; i < *n; i++)
        if (!strcmp(kv[i].key, key)) {
            kv[i].value = value;
            return;
        }
    kv[(*n)++] = (struct orch_kv){key, value};
}

static void oc_kv_put_json(struct orch_kv *kv, uint32_t *n, json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) oc_kv_put(kv, n, k, json_string_value(v));
}

struct orch_kv *oc_exec_env_merge(json_t *step_env, const struct orch_kv *req_env,
                                  uint32_t n_req, json_t *secret_env, uint32_t *n_out)
{
    size_t cap = json_object_size(step_env) + n_req + json_object_size(secret_env);
    struct orch_kv *kv = oc_xcalloc(cap + 1, sizeof *kv);
    uint32_t n = 0;
    oc_kv_put_json(kv, &n, step_env);
    for (uint32_t i = 0; req_env && i < n_req; i++)
        oc_kv_put(kv, &n, req_env[i].key, req_env[i].value ? req_env[i].value : "");
    oc_kv_put_json(kv, &n, secret_env);
    *n_out = n;
    return kv;
}
