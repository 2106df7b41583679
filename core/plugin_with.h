/* Resolving secrets.NAME and env.NAME in a plugin's options. */
#ifndef OC_PLUGIN_WITH_H
#define OC_PLUGIN_WITH_H

#include "node.h"

/* A copy of with (NULL stays NULL) with every ${{ }} resolved; NULL with
 * *errmsg (malloc'd, file:line:col first, never a secret's value) when a
 * reference cannot be. */
struct oc_node *oc_with_resolve(const struct oc_node *with, char **errmsg);

#endif
