#!/bin/bash
# The plugin kit from the installed SDK alone: a step that builds its
# output with orch/kit.h (CMake package and pkg-config) passes its suite
# under torture (so the kit allocates through the host), and a step that
# links the HTTP client (orch/kit_http.h) builds, links libcurl and still
# exports only its entry point.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_BUILD_DIR:?}"
P="$T/prefix"
cmake --install "$ORCH_BUILD_DIR" --prefix "$P" >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "cmake --install failed"; }
for f in include/orch/kit.h include/orch/kit_reap.h include/orch/kit_http.h; do
  [ -e "$P/$f" ] || fail "the install lacks $f"
done
ls "$P"/lib*/liborch-kit.a "$P"/lib*/liborch-kit-http.a "$P"/lib*/pkgconfig/orch-kit-http.pc \
  >/dev/null || fail "the install lacks the kit's libraries or orch-kit-http.pc"
export ORCH_SDK_TEMPLATE_DIR= ORCH_PLUGIN_PATH=
OP="$P/bin/orch-plugin"
SAN=()
[ "${ORCH_SANITIZE:-OFF}" = ON ] && SAN=(-fsanitize=address,undefined)
S="$T/kitdemo"
mkdir -p "$S"
cat >"$S/greet.c" <<'C'
/* step-greet: its greeting made with the kit. */
#include <orch/kit.h>
#include <orch/orch.h>

static const struct orch_host *greet_host;

struct greet_cfg {
    const char *name;
};

static const struct orch_option greet_options[] = {
    ORCH_OPTION(struct greet_cfg, name, "name", ORCH_OPT_STRING, ORCH_OPTF_REQUIRED, NULL,
                "who to greet"),
};

static const struct orch_output_decl greet_outputs[] = {
    {sizeof(struct orch_output_decl), "greeting", "the greeting"},
};

/* "hello 'NAME' (N bytes)" in host memory, or NULL. */
static char *greet_text(const struct greet_cfg *cfg)
{
    struct pk_buf b = {.h = greet_host};
    char *q = pk_shquote(greet_host, cfg->name);
    pk_add(&b, "hello ");
    pk_add(&b, q);
    greet_host->free(q);
    char *n = pk_printf(greet_host, " (%zu bytes)", b.len);
    pk_add(&b, n);
    greet_host->free(n);
    return pk_buf_take(&b);
}

static orch_status greet_run(struct orch_ctx *ctx, const void *cfgp, struct orch_error *err)
{
    char *text = greet_text(cfgp);
    if (!text)
        return greet_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    orch_status rc = greet_host->output_set(ctx, "greeting", text);
    greet_host->free(text);
    return rc;
}

static const struct orch_step_vtable greet_vtable = {
    .struct_size = sizeof(struct orch_step_vtable),
    .run = greet_run,
    .outputs = greet_outputs,
    .output_size = sizeof(struct orch_output_decl),
    .output_count = 1,
};

static const struct orch_plugin_desc greet_desc = {
    ORCH_PLUGIN_DESC_INIT,
    .kind = ORCH_KIND_STEP,
    .name = "greet",
    .version = "1.0.0",
    .description = "says hello with the plugin kit",
    .license = "MIT",
    .options = greet_options,
    .option_count = sizeof greet_options / sizeof greet_options[0],
    .config_size = sizeof(struct greet_cfg),
    .vtable_size = sizeof(struct orch_step_vtable),
    .vtable = &greet_vtable,
};

ORCH_PLUGIN_DEFINE(step, greet, greet_desc, greet_host)
C
# The HTTP client: a step that GETs a URL and gives the status.
sed -e 's/greet/fetch/g' -e 's/"name"/"url"/' -e 's/who to fetch/what to get/' \
    -e 's/says hello with the plugin kit/gets a URL with the kit/' \
    -e 's|#include <orch/kit.h>|#include <orch/kit_http.h>|' "$S/greet.c" >"$S/fetch.c"
python3 - "$S/fetch.c" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
a = s.index('/* "hello')
b = s.index('static const struct orch_step_vtable')
s = s[:a] + r'''static orch_status fetch_run(struct orch_ctx *ctx, const void *cfgp, struct orch_error *err)
{
    const struct fetch_cfg *cfg = cfgp;
    struct pk_http c;
    if (pk_http_init(&c, fetch_host) != 0)
        return fetch_host->error_set(err, ORCH_E_NOMEM, "out of memory");
    struct pk_http_req rq = {.method = "GET", .url = cfg->name, .ctx = ctx, .timeout_ms = 5000};
    struct pk_http_resp rs;
    orch_status st = pk_http_perform(&c, &rq, &rs);
    st = pk_http_error(fetch_host, err, st, &rs, cfg->name);
    char *code = st == ORCH_OK ? pk_printf(fetch_host, "%ld", rs.status) : NULL;
    if (code)
        st = fetch_host->output_set(ctx, "fetching", code);
    fetch_host->free(code);
    pk_http_resp_free(&rs);
    pk_http_cleanup(&c);
    return st;
}

''' + s[b:]
open(p, 'w').write(s)
PY
cat >"$S/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(kitdemo LANGUAGES C)
find_package(OrchSDK REQUIRED)
orch_add_plugin(KIND step NAME greet SOURCES greet.c)
orch_add_plugin(KIND step NAME fetch SOURCES fetch.c LIBS OrchSDK::kit_http)
CM
cmake -S "$S" -B "$S/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="${SAN[*]:-}" \
  -DCMAKE_MODULE_LINKER_FLAGS="${SAN[*]:-}" >"$T/cmake.log" 2>&1 &&
  cmake --build "$S/build" >>"$T/cmake.log" 2>&1 || { cat "$T/cmake.log"; fail "building the kit's plugins"; }
pass "plugins using orch/kit.h and orch/kit_http.h build from the installed SDK"

printf 'with:\n  name: "it'"'"'s me"\noutputs: [greeting]\n' >"$S/conformance.yaml"
for so in "$S/build/step-greet.so" "$S/build/step-fetch.so"; do
  set +e; "$OP" check "$so" >"$T/out" 2>&1; RC=$?; set -e
  expect_rc 0 "check of $(basename "$so")"
  exported=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBRVW]/ {print $3}' | grep -v '^_' | sort)
  [ "$exported" = orch_plugin_entry ] || fail "$(basename "$so") exports more than its entry: $exported"
done
ldd "$S/build/step-fetch.so" | grepq libcurl || fail "step-fetch does not link libcurl"
ldd "$S/build/step-greet.so" | grepq libcurl && fail "step-greet links libcurl without asking for it"
set +e; "$OP" test "$S/build/step-greet.so" --config "$S/conformance.yaml" --torture >"$T/out" 2>&1; RC=$?; set -e
expect_rc 0 "the kit step passes its suite under torture"
expect_out "0 failed" "summary"
pass "only the entry exported, libcurl only with the HTTP client, the kit's memory is the host's"

# pkg-config only.
export PKG_CONFIG_PATH="$(dirname "$(ls "$P"/lib*/pkgconfig/orch-plugin.pc)")"
mkdir -p "$T/pc"
cc -std=c11 -shared -fPIC "${SAN[@]}" -Wl,--no-undefined -o "$T/pc/step-greet.so" "$S/greet.c" \
  $(pkg-config --cflags --libs orch-plugin) || fail "pkg-config build with the kit"
cc -std=c11 -shared -fPIC "${SAN[@]}" -Wl,--no-undefined -o "$T/pc/step-fetch.so" "$S/fetch.c" \
  $(pkg-config --cflags --libs orch-kit-http) || fail "pkg-config build with the HTTP client"
for so in "$T/pc/step-greet.so" "$T/pc/step-fetch.so"; do
  set +e; "$OP" check "$so" >"$T/out" 2>&1; RC=$?; set -e
  expect_rc 0 "check of the pkg-config build $(basename "$so")"
done
pass "the kit through pkg-config"
