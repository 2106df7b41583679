/* step-exec's private header: shell.c (the shell: option: what runs a run:
 * script, and how the script reaches the instance). */
#ifndef SE_EXEC_H
#define SE_EXEC_H

#include <orch/orch.h>

/* The variable the script travels in to the bootstrap. */
#define SE_SCRIPT_VAR "ORCH_RUN_SCRIPT"

/* The command line a shell: value stands for ({0}: the script's file);
 * NULL is the default, sh -e {0}. Static or spec itself. */
const char *se_shell_line(const char *spec);

/* ORCH_OK, or ORCH_E_CONFIG naming what is wrong with the value. */
orch_status se_shell_check(const struct orch_host *h, const char *spec, struct orch_error *err);

/* The /bin/sh -c text that writes $ORCH_RUN_SCRIPT to a file, opens it,
 * removes it and execs the shell's words on it (out:host; NULL on OOM). */
char *se_shell_bootstrap(const struct orch_host *h, const char *spec);

#endif
