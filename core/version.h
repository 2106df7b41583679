#ifndef OC_VERSION_H
#define OC_VERSION_H

#include <stdio.h>

/* "PROG VERSION", the plugin ABI, every plugin found and the search path. */
void oc_version_print(FILE *out, const char *prog);
/* orch's version, e.g. "0.1.0" (static). */
const char *oc_version(void);

#endif
