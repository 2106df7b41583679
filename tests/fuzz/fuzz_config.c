/* libFuzzer target: bytes -> the config reader (libyaml for YAML and JSON
 * alike) -> the model builder -> validation against the builtin plugins'
 * option tables, exactly what `orch validate` runs (orchd's sections
 * included, through the reader the CLI registers); and the same bytes as
 * a run's snapshot (what resume parses from a store, or a restored
 * backup, holds). No plugin code runs, no plugin file is loaded (the
 * registry has no search path); the one thing written is, at start, a
 * directory to run in whose wf.d/ holds one workflows file, so that a
 * relative workflows_dir reads that and never the fuzzer's own cwd. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "orchd_cfg.h"
#include "registry.h"
#include "util.h"

static char *fz_dir;

static void fz_dir_remove(void)
{
    oc_rm_rf(fz_dir);
}

static void fz_dir_make(void)
{
    const char *tmp = getenv("TMPDIR");
    fz_dir = oc_xasprintf("%s/orch-fuzz-config.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fz_dir) || chdir(fz_dir) != 0 || mkdir("wf.d", 0755) != 0)
        abort();
    atexit(fz_dir_remove);
    FILE *f = fopen("wf.d/a.yaml", "w");
    if (!f)
        abort();
    fputs("workflows:\n  from-dir:\n    steps:\n      - {id: a, uses: exec, with: {run: 'true'}}\n",
          f);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct oc_registry *reg;
    if (!reg) {
        reg = oc_registry_new_builtin();
        orchd_cfg_register();
        fz_dir_make();
    }
    /* Text as oc_config_parse_file hands it over: NUL-terminated, and a
     * file with a NUL in it is refused before parsing. */
    if (memchr(data, 0, size))
        return 0;
    char *text = oc_xstrndup((const char *)data, size);
    struct oc_diag diag = {0};
    /* As oc_config_load: validated even when the shape had errors. */
    struct oc_config *cfg = oc_config_parse_string_partial(text, "fuzz.yaml", &diag);
    if (cfg)
        oc_config_validate(cfg, reg, &diag);
    oc_config_free(cfg);
    cfg = oc_config_parse_snapshot(text, "fuzz.yaml", &diag);
    if (cfg)
        oc_config_validate(cfg, reg, &diag);
    oc_config_free(cfg);
    oc_diag_free(&diag);
    free(text);
    return 0;
}
