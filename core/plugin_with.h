/* Resolving secrets.NAME and env.NAME in a plugin's options. */
#ifndef OC_PLUGIN_WITH_H
#define OC_PLUGIN_WITH_H

#include "node.h"

/* A copy of with (NULL stays NULL) with every ${{ }} resolved; NULL with
 * *errmsg (malloc'd, file:line:col first, never a secret's value) when a
 * reference cannot be. */
struct oc_node *oc_with_resolve(const struct oc_node *with, char **errmsg);
/* The same for another part of the file that may name secrets and
 * variables (telemetry.traces.headers); hint names it in the message. */
struct oc_node *oc_refs_resolve(const struct oc_node *n, const char *hint, char **errmsg);

#endif
