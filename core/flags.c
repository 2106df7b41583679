/* Control flag keys (flags.h). */
#include "flags.h"

#include <string.h>

#include "util.h"

int oc_flag_is_switch(const char *key)
{
    return key && (!strcmp(key, OC_FLAG_PAUSED) || !strcmp(key, OC_FLAG_PROOF) ||
                   !strcmp(key, OC_FLAG_DRAINING));
}

char *oc_flag_key(const char *prefix, const char *name)
{
    return oc_xasprintf("%s%s", prefix, name);
}

const char *oc_flag_name(const char *key, const char *prefix)
{
    size_t n = strlen(prefix);
    return key && !strncmp(key, prefix, n) ? key + n : NULL;
}
