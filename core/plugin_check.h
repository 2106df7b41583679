/* The admission checks on a plugin descriptor (plugin_check.c), apart from
 * the loader that finds the file (registry.h). */
#ifndef OC_PLUGIN_CHECK_H
#define OC_PLUGIN_CHECK_H

#include <orch/orch.h>

/* The checks on a descriptor after the entry returned it (steps 3-11);
 * used by the loader and by `orch-plugin check`. path and expected_id
 * (from the file name) may be NULL. */
orch_status oc_plugin_check_desc(const struct orch_plugin_desc *d,
                                 const char *path, const char *expected_id,
                                 struct orch_error *err);

/* For `orch-plugin check`: every disagreement between capabilities and
 * slots (mandatory slot NULL, capability without slot, slot without
 * capability, unknown bits), one call of fn each. Returns the count. */
int oc_plugin_slot_report(const struct orch_plugin_desc *d,
                          void (*fn)(void *ud, const char *msg), void *ud);
/* The lower-case name of one capability bit of kind, NULL if unknown. */
const char *oc_cap_slot_name(uint32_t kind, uint64_t bit);

const char *oc_kind_name(uint32_t kind); /* "backend", "step", "store", "?" */
/* Tests only: admit plugins up to `minor` and say so in refusals, as a core
 * of that older minor would (its own host table stays the current one). */
void oc_registry_pretend_abi_minor(uint16_t minor);
/* The refusal every check and the loader produce: "PATH: plugin ID (ABI
 * x.y) refused by orch (ABI a.b): why". path NULL = builtin, d may be NULL
 * (then the ABI is "unknown"). Returns code. */
orch_status oc_plugin_refuse(struct orch_error *err, orch_status code,
                             const char *path, const char *id,
                             const struct orch_plugin_desc *d,
                             const char *fmt, ...) ORCH_PRINTF(6, 7);

#endif
