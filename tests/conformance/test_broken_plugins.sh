#!/bin/bash
# Each deliberately broken plugin is caught by orch-plugin, with a message
# that says exactly what is wrong, and the runner survives crashes and
# hangs of the plugin under test.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_PLUGIN_TOOL:?}"
TP="$ORCH_TEST_PLUGIN_DIR"

op() {
  set +e
  "$ORCH_PLUGIN_TOOL" "$@" >"$T/out" 2>&1
  RC=$?
  set -e
}
has() { grep -qF -- "$1" "$T/out" || { cat "$T/out" >&2; fail "expected: $1"; }; }

op check "$TP/step-badmajor.so"
expect_rc 1 "orch-plugin"
has "FAIL  check/abi-and-sizes"
has "ABI major 2 is not this SDK's major 1"
has "refused by orch (ABI $(orch_abi)): ABI major 2 is not this orch's major 1"

op test "$TP/step-badmajor.so"
expect_rc 2 "orch-plugin"
has "ABI major 2 is not this orch's major 1"

op check "$TP/step-newminor.so"
expect_rc 1 "orch-plugin"
has "built for a newer minor (1.7 > $(orch_abi))"

op check "$TP/step-nullslot.so"
expect_rc 1 "orch-plugin"
has "mandatory step slot 'run' is NULL"

op check "$TP/step-capnoslot.so"
expect_rc 1 "orch-plugin"
has "declares the capability for slot 'plan' but the slot is NULL"

op check "$TP/step-badcaps.so"
expect_rc 1 "orch-plugin"
has "unknown capability bits 0x10000000000"
# orch itself refuses it too (it was loaded with a warning).
cat >"$T/badcaps.yaml" <<'Y'
version: 1
workflows:
  w:
    steps:
      - {id: a, uses: badcaps}
Y
ORCH_PLUGIN_PATH="$TP" o validate "$T/badcaps.yaml"
[ "$RC" -ne 0 ] || { cat "$T/out" >&2; fail "orch validate accepted a plugin with unknown capability bits"; }
expect_out "unknown capability bits 0x10000000000" "orch names the refusal"

op check "$TP/step-badopts.so"
expect_rc 1 "orch-plugin"
has "FAIL  check/option-table"
has "'n'"

op check "$TP/step-exports.so"
expect_rc 1 "orch-plugin"
has "exports 'broken_helper' besides orch_plugin_entry"

op test "$TP/step-leaky.so"
expect_rc 1 "orch-plugin"
has "FAIL  step/run-and-outputs"
has "step.run leaked 1 host allocation (made with host->alloc and never freed"

op test "$TP/step-liar.so"
expect_rc 1 "orch-plugin"
has "run set output 'undeclared', which the plugin does not declare"
has "plan had 1 side effect"

cat >"$T/segv.yaml" <<'Y'
with: {mode: segv}
Y
op test "$TP/step-crash.so" --config "$T/segv.yaml"
expect_rc 1 "orch-plugin"
has "step.run crashed (SIGSEGV, signal 11)"
has "orch-plugin: step-crash:"

cat >"$T/hang.yaml" <<'Y'
with: {mode: hang}
Y
op test "$TP/step-crash.so" --config "$T/hang.yaml" --run run-and-outputs --timeout 2
expect_rc 1 "orch-plugin"
has "step.run hung (> "
has "no result after 2000 ms; killed"

cat >"$T/exit.yaml" <<'Y'
with: {mode: exit}
Y
op test "$TP/step-crash.so" --config "$T/exit.yaml" --run run-and-outputs
expect_rc 1 "orch-plugin"
has "step.run ended the case's process (exit status 3)"

# A backend slot reached from a step slot (host->inst_exec) is named
# inside it.
# What the hung command started is killed with the case (it runs in a
# process group of its own, in the case's directory).
linger="linger-$$-$RANDOM"
printf 'with: {name: %s, mode: linger}\n' "$linger" >"$T/linger.yaml"
op test "$TP/step-abi11.so" --config "$T/linger.yaml" --run run-and-outputs --timeout 2
expect_rc 1 "orch-plugin with a step hanging in its instance"
has "backend.exec (inside step.run) hung (> "
left=
for ((i = 0; i < 600; i++)); do
  left=$(grep -l "ORCH_ABI11_LINGER=$linger" /proc/[0-9]*/environ 2>/dev/null || true)
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || fail "the hung case's command was left running: $left"

# A crash while loading names the stage: constructors or the descriptor's init.
ORCH_CRASH_LOAD=ctor op test "$TP/step-crash.so"
expect_rc 2 "orch-plugin with a crashing constructor"
has "loading crashed with SIGSEGV (in a constructor (dlopen))"
ORCH_CRASH_LOAD=init op test "$TP/step-crash.so"
expect_rc 2 "orch-plugin with a crashing init"
has "loading crashed with SIGSEGV (in orch_plugin_entry or the descriptor's init)"

# Crashes, hangs and leaks name the slot they happened in: the backend's
# and the store's as well as the step's.
cat >"$T/segv-exec.yaml" <<'Y'
with: {root: "segv:exec"}
Y
op test "$TP/backend-liar.so" --config "$T/segv-exec.yaml" --run lifecycle
expect_rc 1 "orch-plugin"
has "backend.exec crashed (SIGSEGV, signal 11)"
cat >"$T/segv-create.yaml" <<'Y'
with: {root: "segv:create"}
Y
op test "$TP/backend-liar.so" --config "$T/segv-create.yaml" --run lifecycle
expect_rc 1 "orch-plugin"
has "backend.create crashed (SIGSEGV, signal 11)"
cat >"$T/hang-exec.yaml" <<'Y'
with: {root: "hang:exec"}
Y
op test "$TP/backend-liar.so" --config "$T/hang-exec.yaml" --run lifecycle --timeout 2
expect_rc 1 "orch-plugin"
has "backend.exec hung (> "
has "no result after 2000 ms; killed"
cat >"$T/leak-create.yaml" <<'Y'
with: {root: "leak:create"}
Y
op test "$TP/backend-liar.so" --config "$T/leak-create.yaml" --run 'lifecycle|torture' --torture
expect_rc 1 "orch-plugin"
has "backend.create leaked 3 host allocations (made with host->alloc and never freed; found after close)"
has "backend.create leaked 1 host allocation (made with host->alloc and never freed; found after open, create, exec, destroy, close with host allocation #"
cat >"$T/hang-cas.yaml" <<Y
with: {inner: "$ORCH_PLUGIN_DIR/store-sqlite.so", path: "\${TMP}/s.db", fail: run_cas, hang: true}
Y
op test "$TP/store-faulty.so" --config "$T/hang-cas.yaml" --run runs-idempotency-cas --timeout 2
expect_rc 1 "orch-plugin"
has "store.run_cas hung (> "
has "no result after 2000 ms; killed"

op test "$TP/backend-liar.so" --config "$ORCH_SOURCE_DIR/tests/plugins/backend-liar/conformance.yaml" \
  --run 'streams-apart|env|files|owned' --tap "$T/liar.tap"
expect_rc 1 "orch-plugin"
has "exec: stderr bytes appeared on stdout"
has "env not honoured"
has "cwd not honoured"
has "get_file after put_file returned different bytes"
has "list_dir: data.bin has mode 0, want the 0640 given to put_file"
has "list_owned lists live instance"
grep -q '^not ok .* - backend/exec/streams-apart' "$T/liar.tap" || fail "TAP lacks the failed case"
grep -q '^1\.\.4$' "$T/liar.tap" || fail "TAP plan is not 1..4"

# A backend that returns TIMEOUT but kills nothing fails the case, and the
# suite kills what it left behind (it stayed running).
cat >"$T/leak.yaml" <<'Y'
with: {root: "leak:timeout"}
Y
mark="orch-leak-$$-$RANDOM"
ORCH_LIAR_MARK=$mark op test "$TP/backend-liar.so" --config "$T/leak.yaml" --run 'exec/timeout'
expect_rc 1 "orch-plugin"
has "after timeout the command's processes still run"
left=
for ((i = 0; i < 600; i++)); do
  left=$(grep -l "ORCH_LIAR_MARK=$mark" /proc/[0-9]*/environ 2>/dev/null || true)
  [ -z "$left" ] && break
  sleep 0.1
done
[ -z "$left" ] || fail "the conformance suite left the timed-out command running: $left"

# An instance id from libc malloc (the core frees it with host->free) is
# caught by the host allocator's ownership check and blamed on create.
cat >"$T/malloc.yaml" <<'Y'
with: {root: "malloc:id"}
Y
op test "$TP/backend-liar.so" --config "$T/malloc.yaml" --run 'lifecycle'
expect_rc 1 "orch-plugin"
has "create: ref->id was not allocated with host->alloc/strdup (libc malloc?)"

# An unset ${env.X} in conformance.yaml is a usage error naming X and where.
printf 'with:\n  root: "${env.ORCH_CF_SURELY_UNSET}/x"\n' >"$T/unset.yaml"
op test "$TP/backend-liar.so" --config "$T/unset.yaml"
expect_rc 2 "orch-plugin"
has "unset.yaml:2:9: \${env.ORCH_CF_SURELY_UNSET}: the environment variable ORCH_CF_SURELY_UNSET is not set"
# image/size/region take ${env.NAME} too, with the same check.
printf 'with: {root: x}\nimage: "${env.ORCH_CF_IMAGE_UNSET}"\n' >"$T/unset-image.yaml"
op test "$TP/backend-liar.so" --config "$T/unset-image.yaml"
expect_rc 2 "orch-plugin"
has "unset-image.yaml:2:8: \${env.ORCH_CF_IMAGE_UNSET}: the environment variable ORCH_CF_IMAGE_UNSET is not set"
printf 'with: {root: x}\nimage: "${env.ORCH_CF_IMAGE}"\n' >"$T/image.yaml"
ORCH_CF_IMAGE=debian:12 op test "$TP/backend-liar.so" --config "$T/image.yaml" --run lifecycle
expect_rc 0 "orch-plugin with an image from the environment"

# secrets: take ${env.NAME} too (they were checked, then passed unexpanded).
printf 'with: {mode: secret}\nsecrets: {token: "${env.ORCH_CF_TOKEN}"}\n' >"$T/secret.yaml"
ORCH_CF_TOKEN=s3cret op test "$TP/step-crash.so" --config "$T/secret.yaml" --run run-and-outputs
expect_rc 0 "orch-plugin with a secret from the environment"
has "PASS  step/run-and-outputs"

# Usage errors and unloadable files are exit 2 with a reason.
op test /nonexistent/step-x.so
expect_rc 2 "orch-plugin"
has "/nonexistent/step-x.so: No such file or directory"
echo "not an elf" >"$T/step-junk.so"
op check "$T/step-junk.so"
expect_rc 1 "orch-plugin"
has "not an ELF file"
op test "$TP/step-crash.so" --run '('
expect_rc 2 "orch-plugin"
has "--run '(' is not a valid regular expression"
cat >"$T/bad.yaml" <<'Y'
with: {mode: ok}
outptus: [x]
Y
op test "$TP/step-crash.so" --config "$T/bad.yaml"
expect_rc 2 "orch-plugin"
has "bad.yaml:2:1"
has "outptus"
pass "every broken plugin caught with a precise message"
