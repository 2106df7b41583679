#include "libcurl.h"

#include <dlfcn.h>
#include <stdio.h>

const struct oc_libcurl *oc_libcurl(const char **why)
{
    static struct oc_libcurl lc;
    static int state; /* 0 not tried, 1 loaded, -1 failed */
    static char error[256];
    if (!state) {
        state = -1;
        void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
        struct {
            const char *name;
            void **slot;
        } syms[] = {
            {"curl_easy_init", (void **)&lc.easy_init},
            {"curl_easy_setopt", (void **)&lc.easy_setopt},
            {"curl_easy_perform", (void **)&lc.easy_perform},
            {"curl_easy_getinfo", (void **)&lc.easy_getinfo},
            {"curl_easy_strerror", (void **)&lc.easy_strerror},
            {"curl_easy_cleanup", (void **)&lc.easy_cleanup},
            {"curl_slist_append", (void **)&lc.slist_append},
            {"curl_slist_free_all", (void **)&lc.slist_free_all},
            {"curl_easy_escape", (void **)&lc.easy_escape},
            {"curl_free", (void **)&lc.free},
        };
        if (!h)
            snprintf(error, sizeof error, "cannot load libcurl: %s", dlerror());
        for (size_t i = 0; h && i < sizeof syms / sizeof *syms; i++) {
            *syms[i].slot = dlsym(h, syms[i].name);
            if (!*syms[i].slot) {
                snprintf(error, sizeof error, "libcurl.so.4 lacks %s", syms[i].name);
                dlclose(h);
                h = NULL;
            }
        }
        if (h)
            state = 1;
    }
    if (state < 0 && why)
        *why = error;
    return state > 0 ? &lc : NULL;
}
