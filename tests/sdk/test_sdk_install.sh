#!/bin/bash
# An author with only the installed SDK: install to a temporary prefix,
# generate plugins with `orch-plugin new`, build them out of tree (CMake
# package and pkg-config), write the step from the guide, pass the suite
# and run it in a workflow with the installed orch.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_BUILD_DIR:?}"
P="$T/prefix"
cmake --install "$ORCH_BUILD_DIR" --prefix "$P" >"$T/install.log" 2>&1 ||
  { cat "$T/install.log"; fail "cmake --install failed"; }
OP="$P/bin/orch-plugin"
for f in include/orch/orch.h include/orch/conformance.h lib/cmake/OrchSDK/OrchSDKConfig.cmake \
         lib/pkgconfig/orch-plugin.pc lib/pkgconfig/orch-conformance.pc \
         share/orch/sdk-template/step.c.in bin/orch bin/orch-plugin; do
  [ -e "$P/$f" ] || fail "the install lacks $f"
done
ls "$P"/lib*/liborch-conformance.so >/dev/null || fail "the install lacks liborch-conformance.so"
# The installed tools must not reach back into the build tree.
export ORCH_SDK_TEMPLATE_DIR= ORCH_PLUGIN_PATH=
SAN=()
[ "${ORCH_SANITIZE:-OFF}" = ON ] && SAN=(-fsanitize=address,undefined)
cmake_build() {  # dir
  cmake -S "$1" -B "$1/build" -DCMAKE_PREFIX_PATH="$P" -DCMAKE_C_FLAGS="${SAN[*]:-}" \
    -DCMAKE_MODULE_LINKER_FLAGS="${SAN[*]:-}" >"$T/cmake.log" 2>&1 &&
    cmake --build "$1/build" >>"$T/cmake.log" 2>&1 || { cat "$T/cmake.log"; fail "building $1"; }
}
op() { set +e; "$OP" "$@" >"$T/out" 2>&1; RC=$?; set -e; }

# 1. Fresh stubs of every kind build, pass check, and fail test saying
# what is not implemented.
for kind in step backend store; do
  (cd "$T" && "$OP" new "$kind" demo "$kind-demo" >/dev/null) || fail "orch-plugin new $kind"
  for f in CMakeLists.txt README.md conformance.yaml plugin.c; do
    [ -s "$T/$kind-demo/$f" ] || fail "orch-plugin new $kind wrote no $f"
  done
  cmake_build "$T/$kind-demo"
  op check "$T/$kind-demo/build/$kind-demo.so"
  expect_rc 0 "check of the $kind stub"
  op test "$T/$kind-demo/build/$kind-demo.so" --config "$T/$kind-demo/conformance.yaml"
  expect_rc 1 "test of the $kind stub"
  expect_out "is not implemented yet (a stub from orch-plugin new)" "$kind stub message"
done
op new step demo "$T/step-demo"
expect_rc 2 "new into a non-empty directory"
expect_out "exists and is not empty" "refusal"
op new widget x
expect_rc 2 "unknown kind"

# 2. The guide's step, built with find_package(OrchSDK) and tested.
"$OP" new step greet "$T/greet" >/dev/null
python3 - "$ORCH_SOURCE_DIR/docs/plugin-author-guide.md" "$T/greet" <<'PY'
import re, sys
doc = open(sys.argv[1]).read()
for lang, name, body in re.findall(r'```(\w+) file=(\S+)\n(.*?)```', doc, re.S):
    open(f'{sys.argv[2]}/{name}', 'w').write(body)
PY
cmake_build "$T/greet"
op test "$T/greet/build/step-greet.so" --config "$T/greet/conformance.yaml" --torture
expect_rc 0 "the guide's step passes its suite"
expect_out "0 failed" "summary"
(cd "$T/greet/build" && ctest >"$T/ctest.log" 2>&1) || { cat "$T/ctest.log"; fail "ctest of the author's project"; }
grep -q "100% tests passed, 0 tests failed out of 3" "$T/ctest.log" || fail "author ctest: $(tail -3 "$T/ctest.log")"
grep -q "step-greet/torture .*Passed" "$T/ctest.log" || fail "the template registers no torture run with ctest"
grep -q '^CMAKE_BUILD_TYPE:STRING=RelWithDebInfo$' "$T/greet/build/CMakeCache.txt" ||
  fail "the template sets no default build type"
# Installed under the prefix given to cmake --install, not the SDK's.
cmake --install "$T/greet/build" --prefix "$T/inst" >"$T/inst.log" 2>&1 ||
  { cat "$T/inst.log"; fail "cmake --install of the author's plugin"; }
ls "$T"/inst/lib*/orch/plugins/step-greet.so >/dev/null 2>&1 ||
  fail "cmake --install --prefix did not put the plugin under that prefix: $(cat "$T/inst.log")"

# 3. The same source built with pkg-config only, and the suite called from
# the author's own test program through liborch-conformance.
export PKG_CONFIG_PATH="$(dirname "$(ls "$P"/lib*/pkgconfig/orch-plugin.pc)")"
mkdir -p "$T/pc"
cc -std=c11 -shared -fPIC "${SAN[@]}" $(pkg-config --cflags orch-plugin) -Wl,--no-undefined \
  -o "$T/pc/step-greet.so" "$T/greet/plugin.c" || fail "pkg-config build of the plugin"
op check "$T/pc/step-greet.so"
expect_rc 0 "check of the pkg-config build"
cat >"$T/pc/suite.c" <<'C'
#include <orch/conformance.h>
int main(int argc, char **argv)
{
    struct orch_conformance_opts o = {.struct_size = sizeof o, .config_path = argv[2]};
    return argc == 3 ? orch_conformance_run(argv[1], &o) : 2;
}
C
cc -std=c11 "${SAN[@]}" $(pkg-config --cflags orch-conformance) -o "$T/pc/suite" "$T/pc/suite.c" \
  $(pkg-config --libs orch-conformance) || fail "building a test program against liborch-conformance"
"$T/pc/suite" "$T/pc/step-greet.so" "$T/greet/conformance.yaml" >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "the author's own suite program failed"; }

# 4. The installed orch runs a workflow with it.
cat >"$T/hello.yaml" <<'Y'
version: 1
workflows:
  hello:
    steps:
      - id: greet
        uses: greet
        with: {name: world, shout: true}
      - id: show
        uses: exec
        needs: [greet]
        with: {run: "echo got ${{ steps.greet.outputs.greeting }}"}
Y
set +e
ORCH_PLUGIN_PATH="$T/greet/build" "$P/bin/orch" run "$T/hello.yaml" hello >"$T/out" 2>&1
RC=$?
set -e
expect_rc 0 "the installed orch runs the author's plugin"
expect_out "got hello world!" "the greeting flows to the next step"
set +e
"$P/bin/orch" run "$T/hello.yaml" hello >"$T/out" 2>&1
RC=$?
set -e
expect_rc 2 "without the plugin path"
expect_out "greet" "the missing plugin is named"
pass "from the installed SDK to a passing plugin in a workflow"
