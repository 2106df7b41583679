/* libFuzzer target: bytes -> the config reader (libyaml for YAML and JSON
 * alike) -> the model builder -> validation against the builtin plugins'
 * option tables, exactly what `orch validate` runs (orchd's sections
 * included, through the reader the CLI registers). No plugin code runs,
 * no plugin file is loaded (the registry has no search path) and nothing
 * is written. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "orchd_cfg.h"
#include "registry.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct oc_registry *reg;
    if (!reg) {
        reg = oc_registry_new_builtin();
        orchd_cfg_register();
    }
    /* Text as oc_config_parse_file hands it over: NUL-terminated, and a
     * file with a NUL in it is refused before parsing. */
    if (memchr(data, 0, size))
        return 0;
    char *text = oc_xstrndup((const char *)data, size);
    struct oc_diag diag = {0};
    struct oc_config *cfg = oc_config_parse_string(text, "fuzz.yaml", &diag);
    if (cfg)
        oc_config_validate(cfg, reg, &diag);
    oc_config_free(cfg);
    oc_diag_free(&diag);
    free(text);
    return 0;
}
