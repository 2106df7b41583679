/* The environment handed to a step's commands, in layers. */
#ifndef OC_EXEC_ENV_H
#define OC_EXEC_ENV_H

#include <jansson.h>
#include <stdint.h>

#include <orch/orch.h>

/* Layers, each later one winning on the same name: step_env (the
 * request's ctx "env": env_passthrough values, the workflow's env:, the
 * step's env:), then the plugin's own variables (req_env, e.g. step-exec's
 * with: env:), then secret_env (the ctx "secret_env": the variables that
 * carry the secrets the step's script refers to). Every name appears once,
 * in the order it first appeared. The backend adds these to its own base
 * (backend-local: the executor's confined environ; docker: the image's).
 * A calloc'd array (free() it; never NULL) whose strings are borrowed
 * from the inputs; *n_out entries. */
struct orch_kv *oc_exec_env_merge(json_t *step_env, const struct orch_kv *req_env,
                                  uint32_t n_req, json_t *secret_env, uint32_t *n_out);

#endif
