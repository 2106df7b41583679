/* Read-only views of what this daemon was started with: its workflows
 * (GET /v1/workflows, /v1/workflows/NAME, from the config) and its plugins
 * (GET /v1/plugins, scanned at start). */
#include "host.h"
#include "http.h"
#include "inputs.h"
#include "runctl.h"

static json_t *orchd_workflow_json(const struct oc_workflow *w, int full)
{
    json_t *inputs = json_array();
    for (size_t i = 0; i < w->n_inputs; i++) {
        const struct oc_input_decl *d = &w->inputs[i];
        json_t *in = json_pack("{s:s,s:s,s:b,s:s?,s:s?}", "name", d->name, "type",
                               oc_input_type_name(d->type), "required", d->required,
                               "default", d->default_value, "description", d->description);
        if (d->pattern)
            json_object_set_new(in, "pattern", json_string(d->pattern));
        if (d->n_options) {
            json_t *o = json_array();
            for (size_t k = 0; k < d->n_options; k++)
                json_array_append_new(o, json_string(d->options[k]));
            json_object_set_new(in, "options", o);
        }
        json_array_append_new(inputs, in);
    }
    json_t *j = json_pack("{s:s,s:s?,s:o,s:i}", "name", w->name, "description", w->description,
                          "inputs", inputs, "step_count", (json_int_t)w->n_steps);
    if (!full)
        return j;
    json_t *steps = json_array(), *order = json_array();
    for (size_t i = 0; i < w->n_steps; i++) {
        const struct oc_step *s = &w->steps[i];
        json_t *needs = json_array();
        for (size_t k = 0; k < s->n_needs; k++)
            json_array_append_new(needs, json_string(s->needs[k]));
        json_array_append_new(steps, json_pack("{s:s,s:s,s:o,s:s?,s:s?,s:I,s:i,s:b}", "id",
                                               s->id, "uses", s->uses, "needs", needs,
                                               "backend", s->backend, "if", s->if_expr,
                                               "timeout_ms", (json_int_t)s->timeout_ms,
                                               "retry_attempts", (json_int_t)s->retry.attempts,
                                               "continue_on_error", s->continue_on_error));
        if (w->order)
            json_array_append_new(order, json_string(w->steps[w->order[i]].id));
    }
    json_object_set_new(j, "steps", steps);
    json_object_set_new(j, "order", order);
    return j;
}

void orchd_workflows_list(struct orchd_req *rq)
{
    json_t *a = json_array();
    for (size_t i = 0; i < rq->cfg->n_workflows; i++)
        json_array_append_new(a, orchd_workflow_json(&rq->cfg->workflows[i], 0));
    orchd_reply(rq, 200, json_pack("{s:o}", "workflows", a));
}

void orchd_workflows_get(struct orchd_req *rq)
{
    const struct oc_workflow *w = oc_config_workflow(rq->cfg, rq->params[0]);
    if (!w) {
        struct orch_error err;
        oc_error_init(&err);
        oc_workflow_missing(rq->cfg, rq->params[0], &err);
        orchd_fail_err(rq, &err);
        oc_error_clear(&err);
        return;
    }
    orchd_reply(rq, 200, json_pack("{s:o}", "workflow", orchd_workflow_json(w, 1)));
}

void orchd_plugins_list(struct orchd_req *rq)
{
    orchd_reply(rq, 200, json_pack("{s:O,s:O}", "plugins", rq->d->plugins, "errors",
                                   rq->d->plugin_errors));
}
