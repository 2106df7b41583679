#ifndef OC_VERSION_H
#define OC_VERSION_H

#include <stdio.h>

/* "PROG VERSION", the plugin ABI, every plugin found and the search path. */
void oc_version_print(FILE *out, const char *prog);
/* The project's version, "0.4.0". */
const char *oc_version_string(void);

#endif
