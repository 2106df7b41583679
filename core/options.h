/* Plugin options: the core validates a `with:`/config block against the
 * plugin's option table before any plugin code runs, and parses it into the
 * zeroed config struct the plugin reads. */
#ifndef OC_OPTIONS_H
#define OC_OPTIONS_H

#include <jansson.h>
#include <stdio.h>

#include <orch/orch.h>

#include "node.h"

/* Scalars that contain "${{" are not type-checked (they are checked again
 * after rendering); SECRET options must be a ${{ secrets.NAME }} reference. */
#define OC_OPTS_DEFER_TEMPLATES 1u

/* Validate `with` (a MAP node, or NULL for none) against d's options.
 * what names the owner in messages ("step build", "backend local"). Every
 * problem goes to diag with the node's file:line:col: unknown key (with the
 * closest valid key and the allowed list), wrong type, out of bounds, not
 * in the enum, required missing, secret given literally. When cfg_out is
 * non-NULL and there is no error, *cfg_out is a new config struct
 * (config_size bytes) with defaults applied, freed by oc_options_free.
 * Returns 0 when valid. */
int oc_options_apply(const struct orch_plugin_desc *d, const char *what,
                     const struct oc_node *with, uint32_t flags,
                     void **cfg_out, struct oc_diag *diag);
void oc_options_free(const struct orch_plugin_desc *d, void *cfg);

/* Option i of d's table, walked by option_size. */
const struct orch_option *oc_option_at(const struct orch_plugin_desc *d,
                                       uint32_t i);
const struct orch_option *oc_option_find(const struct orch_plugin_desc *d,
                                         const char *name);
const char *oc_option_type_name(uint32_t type);

/* Static well-formedness of the table (loader check 11 and orch-plugin
 * check): valid unique names, known types and flags, defaults that parse and
 * respect bounds, no default on REQUIRED/SECRET, enum default in the enum,
 * every option described, offsets inside config_size. */
orch_status oc_options_check_table(const struct orch_plugin_desc *d,
                                   struct orch_error *err);

/* `orch plugins info`: the table as text, and as JSON. */
void oc_options_print(const struct orch_plugin_desc *d, FILE *out);
json_t *oc_options_to_json(const struct orch_plugin_desc *d);

#endif
