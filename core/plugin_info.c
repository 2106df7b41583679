#include "plugin_info.h"

#include "options.h"

static json_t *oc_caps_json(const struct orch_plugin_desc *d)
{
    json_t *a = json_array();
    for (unsigned b = 0; b < 64; b++) {
        uint64_t bit = 1ull << b;
        if (!(d->caps & bit))
            continue;
        const char *n = oc_cap_slot_name(d->kind, bit);
        if (n)
            json_array_append_new(a, json_string(n));
        else
            json_array_append_new(a, json_sprintf("unknown-bit-%u", b));
    }
    return a;
}

static json_t *oc_outputs_json(const struct orch_plugin_desc *d)
{
    json_t *a = json_array();
    if (d->kind != ORCH_KIND_STEP)
        return a;
    const struct orch_step_vtable *vt = d->vtable;
    for (uint32_t i = 0; i < vt->output_count; i++) {
        const struct orch_output_decl *o =
            (const void *)((const char *)vt->outputs + (size_t)i * vt->output_size);
        json_array_append_new(a, json_pack("{s:s,s:s?}", "name", o->name,
                                           "description", o->description));
    }
    return a;
}

json_t *oc_plugin_info_json(const struct oc_plugin *p)
{
    const struct orch_plugin_desc *d = p->desc;
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s?,s:s?,s:s,s:b}", "id", p->id,
                          "kind", oc_kind_name(d->kind), "name", d->name,
                          "version", d->version, "description", d->description,
                          "license", d->license, "sdk_version", d->sdk_version,
                          "path", p->path, "builtin", p->builtin);
    json_object_set_new(j, "abi", json_sprintf("%u.%u", d->abi_major, d->abi_minor));
    json_object_set_new(j, "caps", oc_caps_json(d));
    json_object_set_new(j, "options", oc_options_to_json(d));
    if (d->kind == ORCH_KIND_STEP)
        json_object_set_new(j, "outputs", oc_outputs_json(d));
    return j;
}

void oc_plugin_info_print(const struct oc_plugin *p, FILE *out)
{
    const struct orch_plugin_desc *d = p->desc;
    fprintf(out, "%s %s %s (ABI %u.%u, SDK %s)\n", oc_kind_name(d->kind), d->name,
            d->version, d->abi_major, d->abi_minor, d->sdk_version ? d->sdk_version : "?");
    if (d->description)
        fprintf(out, "%s\n", d->description);
    if (d->license)
        fprintf(out, "license: %s\n", d->license);
    fprintf(out, "from: %s\ncapabilities:", p->path);
    json_t *caps = oc_caps_json(d);
    size_t i;
    json_t *c;
    json_array_foreach(caps, i, c) fprintf(out, " %s", json_string_value(c));
    fprintf(out, "%s\n\noptions:\n", json_array_size(caps) ? "" : " (none)");
    json_decref(caps);
    oc_options_print(d, out);
    if (d->kind == ORCH_KIND_STEP) {
        json_t *outs = oc_outputs_json(d);
        fprintf(out, "\noutputs:\n%s", json_array_size(outs) ? "" : "  (none)\n");
        json_array_foreach(outs, i, c)
            fprintf(out, "  %-18s %s\n", json_string_value(json_object_get(c, "name")),
                    json_string_value(json_object_get(c, "description")) ?
                        json_string_value(json_object_get(c, "description")) : "");
        json_decref(outs);
    }
}
