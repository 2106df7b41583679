/* orchd at start: the HMAC keys its webhooks and notifications name must
 * be set and long enough (orchd_cfg.h). */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "host.h"
#include "orchd_cfg.h"
#include "util.h"

/* What is wrong with the secret NAME's value, or NULL. */
static const char *od_hmac_secret_problem(const char *name, size_t *len)
{
    char *v = oc_secret_lookup(name);
    *len = v ? strlen(v) : 0;
    free(v);
    if (!v)
        return "is not set";
    if (!*len)
        return "is empty";
    return *len < ORCHD_HMAC_SECRET_MIN ? "is too short" : NULL;
}

static int od_check_hmac_secret(struct oc_diag *diag, const struct oc_pos *pos, const char *what,
                                const char *name)
{
    size_t len;
    const char *why = od_hmac_secret_problem(name, &len);
    if (!why)
        return 0;
    const char *dir = getenv("ORCH_SECRETS_DIR");
    char *file = dir && *dir ? oc_xasprintf(" or the file %s/%s", dir, name) : oc_xstrdup("");
    oc_diag_add(diag, pos,
                "%s: its secret ${{ secrets.%s }} (environment variable "
                "ORCH_SECRET_%s%s) %s "
                "(%zu bytes): an HMAC key must be at least %d bytes, or anyone "
                "could sign "
                "requests; orchd does not start",
                what, name, name, file, why, len, ORCHD_HMAC_SECRET_MIN);
    free(file);
    return 1;
}

size_t orchd_cfg_check_secrets(const struct orchd_cfg *d, struct oc_diag *diag)
{
    size_t bad = 0;
    for (size_t i = 0; i < d->n_hooks; i++) {
        if (!d->hooks[i].secret)
            continue;
        char *what = oc_xasprintf("webhook %s", d->hooks[i].name);
        bad +=
            (size_t)od_check_hmac_secret(diag, &d->hooks[i].secret_pos, what, d->hooks[i].secret);
        free(what);
    }
    for (size_t i = 0; i < d->n_notifications; i++) {
        if (!d->notifications[i].secret)
            continue;
        char *what = oc_xasprintf("notifications[%zu]", i);
        bad += (size_t)od_check_hmac_secret(diag, &d->notifications[i].secret_pos, what,
                                            d->notifications[i].secret);
        free(what);
    }
    return bad;
}
