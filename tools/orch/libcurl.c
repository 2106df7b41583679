#include "libcurl.h"

#include <dlfcn.h>
#include <stdio.h>

#include "cli.h"

const struct cli_libcurl *cli_libcurl(void)
{
    static struct cli_libcurl lc;
    static int state; /* 0 not tried, 1 loaded, -1 failed */
    if (state)
        return state > 0 ? &lc : NULL;
    state = -1;
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        cli_err("the client commands need libcurl: %s", dlerror());
        return NULL;
    }
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
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        *syms[i].slot = dlsym(h, syms[i].name);
        if (!*syms[i].slot) {
            cli_err("libcurl.so.4 lacks %s", syms[i].name);
            return NULL;
        }
    }
    state = 1;
    return &lc;
}
