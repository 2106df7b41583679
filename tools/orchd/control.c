/* The daemon's control flags (paused, proof, draining): folding the stored
 * flags into struct orchd_control, and writing them (the config's
 * daemon.paused/proof at start, a schedule's last slot). The flags live in
 * the store, so they hold for every daemon sharing it; the keys are
 * core/flags.h's. */
#define _GNU_SOURCE
#include <string.h>

#include "flags.h"
#include "host.h"
#include "orchd.h"
#include "runctl.h"

int orchd_control_flag(struct orchd_control *c, const char *name, const char *value)
{
    int on = value && !strcmp(value, "1");
    if (!strcmp(name, OC_FLAG_PAUSED))
        c->paused = on;
    else if (!strcmp(name, OC_FLAG_PROOF))
        c->proof = on;
    else if (!strcmp(name, OC_FLAG_DRAINING))
        c->draining = on;
    else
        return 0;
    return 1;
}

int32_t orchd_control_cb(void *ud, const char *name, const char *value)
{
    orchd_control_flag(ud, name, value);
    return 0;
}

void orchd_flag_write(struct orchd *d, const char *name, const char *value)
{
    struct orch_error err;
    oc_error_init(&err);
    if (oc_flag_write(d->store, name, value, &err) != ORCH_OK)
        oc_log(ORCH_LOG_WARN, "scheduler", "flag %s: %s", name, oc_error_text(&err));
    oc_error_clear(&err);
}

void orchd_apply_config_control(struct orchd *d)
{
    if (orchd_cfg_of(d->cfg)->paused >= 0)
        orchd_flag_write(d, OC_FLAG_PAUSED, orchd_cfg_of(d->cfg)->paused ? "1" : NULL);
    if (orchd_cfg_of(d->cfg)->proof >= 0)
        orchd_flag_write(d, OC_FLAG_PROOF, orchd_cfg_of(d->cfg)->proof ? "1" : NULL);
}
