/* The process's own environment, and the little of it a command inherits.
 *
 * orch and orchd run with whatever their operator exported: ORCH_SECRET_*,
 * a systemd unit's EnvironmentFile, tokens. An executor (orch-exec) keeps
 * a private copy of that environment for what the core reads there (secret
 * sources, ${{ env.NAME }} in plugin options, ORCH_LOG_LEVEL) and reduces
 * its environ to the base variables and the operator's env_passthrough
 * names before any plugin code runs, so a backend that starts processes
 * from environ (backend-local) passes nothing else on. See
 * docs/security.md, "Step environments and secrets". */
#ifndef OC_PROC_ENV_H
#define OC_PROC_ENV_H

/* PATH HOME LANG LC_* TZ TMPDIR: what every command on the machine may
 * see of the executor's environment. */
int oc_env_is_base(const char *name);

/* Whether NAME is a secret source (ORCH_SECRET_*, ORCH_SECRETS_DIR, and
 * the conventional secret variables): never passed through, never read as
 * ${{ env.NAME }}. */
int oc_env_is_secret_source(const char *name);

/* A variable that holds a secret by the field's convention (DATABASE_URL),
 * read as ${{ secrets.NAME }} when neither ORCH_SECRET_NAME nor the secrets
 * directory has it. */
int oc_env_is_conventional_secret(const char *name);

/* A valid variable name: [A-Za-z_][A-Za-z0-9_]*. */
int oc_env_name_ok(const char *name);

/* Copy environ aside, then reduce it to the base variables and the names
 * in keep_csv (comma-separated, may be NULL; secret sources in it are
 * ignored). Once, before any thread starts. */
void oc_env_confine(const char *keep_csv);

/* NAME in the process's environment as it was started: the private copy
 * once confined, getenv before. Borrowed. */
const char *oc_env_get(const char *name);

#endif
