/* Commands an interrupted exec left on the SSH host: each exec's wrapper
 * recorded its new session's id in ROOT/<id>/.orch-pgid-<tag> before the
 * command could run (PK_GROUP_RUN_RECORDED), and removes the file when the
 * exec returns; a file left names a command whose exec never returned.
 * reap_commands kills each such group and waits until none of it is left. */
#include <stdlib.h>

#include "ssh.h"

/* POSIX sh (dash, bash, busybox): `gone P` when no live process has group
 * P (a zombie is gone; /proc is read where the host has one, kill -0 alone
 * elsewhere). A .tmp record is a command not yet let go: its waiting
 * leader is killed the same way. Up to 30 s per group after SIGKILL. */
static const char sb_reap_script[] =
    "gone() { kill -0 -\"$1\" 2>/dev/null || return 0; [ -r /proc/self/stat ] || return 1; "
    "for s in /proc/[0-9]*/stat; do { read -r r <\"$s\"; } 2>/dev/null || continue; "
    "r=${r##*\") \"}; set -- \"$1\" $r; [ \"$4\" = \"$1\" ] && [ \"$2\" != Z ] && return 1; "
    "done; return 0; }; "
    "for f in \"$1\"/.orch-pgid-*; do [ -f \"$f\" ] || continue; p=$(cat \"$f\" 2>/dev/null); "
    "case \"$p\" in ''|*[!0-9]*|0|1) rm -f \"$f\"; continue;; esac; "
    "kill -KILL -\"$p\" 2>/dev/null; i=0; "
    "until gone \"$p\"; do if [ $i -ge 300 ]; then echo \"process group $p of an interrupted "
    "command still has processes 30 s after SIGKILL\"; exit 1; fi; kill -KILL -\"$p\" "
    "2>/dev/null; sleep 0.1; i=$((i+1)); done; rm -f \"$f\"; done";

orch_status sb_reap_commands(struct orch_instance *in, struct orch_ctx *ctx,
                             struct orch_error *err)
{
    (void)ctx;
    /* Under sh whatever the login shell (see sb_kill_group). */
    char *qs = sb_quote(sb_reap_script);
    char *qd = sb_quote(in->dir);
    char *cmd = qs && qd ? sb_printf("exec sh -c %s sh %s", qs, qd) : NULL;
    int status = -1;
    char *out = NULL;
    orch_status rc = cmd ? sb_run(in->be, cmd, &out, &status, err)
                         : sb_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    if (rc == ORCH_OK && status != 0)
        rc = sb_host->error_set(err, status == 1 ? ORCH_E_TIMEOUT : ORCH_E_IO,
                                "reaping the commands left in %s on %s: %s",
                                in->dir, in->be->cfg.host,
                                out && *out ? out : "the reap script failed");
    sb_host->free(out);
    sb_host->free(cmd);
    sb_host->free(qd);
    sb_host->free(qs);
    return rc;
}
