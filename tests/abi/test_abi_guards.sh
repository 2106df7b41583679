#!/bin/bash
# The ABI guards of PLUGIN-ABI-GUIDE 10.11: offsets, exported symbols,
# status codes and docs, and ABI 1.0 and 1.1 plugins in today's core.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_BUILD_DIR:?}" "${ORCH_PLUGIN_TOOL:?}"
A="$ORCH_SOURCE_DIR/tests/abi"

# 1. Every member of each frozen table (1.0, 1.1, 1.2, 1.3) is where it
# was, in that version's frozen headers exactly and in the current ones
# (which may only append). The 1.1 table includes backend reap_commands and
# workdir, 1.2 the store's tick ledger, 1.3 its run retention.
"$ORCH_BUILD_DIR/tests/abi_offsets_current" | sort >"$T/current"
for v in 1.0 1.1 1.2 1.3; do
  exe=abi_offsets_frozen
  [ "$v" = 1.0 ] || exe="abi_offsets_frozen_${v/./_}"
  "$ORCH_BUILD_DIR/tests/$exe" | sort >"$T/frozen-$v"
  diff -u "$A/offsets-$v.txt" "$T/frozen-$v" || fail "frozen-$v headers differ from offsets-$v.txt"
  while read -r key val; do
    case "$key" in
      sizeof) continue ;;
    esac
    now=$(awk -v k="$key" '$1 == k {print $2}' "$T/current")
    [ -n "$now" ] || fail "ABI $v member $key was removed from the headers"
    [ "$now" = "$val" ] || fail "ABI $v member $key moved from offset $val to $now"
  done <"$A/offsets-$v.txt"
  grep '^sizeof' "$A/offsets-$v.txt" | while read -r _ s n; do
    cur=$(awk -v s="$s" '$1 == "sizeof" && $2 == s {print $3}' "$T/current")
    [ "${cur:-0}" -ge "$n" ] || fail "struct $s shrank from $n to ${cur:-gone} bytes (ABI $v)"
  done
  pass "offsets: $(grep -vc '^sizeof' "$A/offsets-$v.txt") ABI $v members in place"
done
# 1.1 and 1.2 are frozen with the slots their issues named: a table without
# them would let them move unnoticed.
for m in orch_backend_vtable.reap_commands orch_backend_vtable.workdir \
         orch_host.strdup_printf orch_host.json_quote orch_host.output_set_len \
         orch_store_vtable.run_stats; do
  grep -q "^$m " "$A/offsets-1.1.txt" || fail "offsets-1.1.txt lacks $m"
done
for m in orch_store_vtable.tick_append orch_store_vtable.tick_list \
         orch_store_vtable.tick_prune orch_tick_rec.errors; do
  grep -q "^$m " "$A/offsets-1.2.txt" || fail "offsets-1.2.txt lacks $m"
done
for m in orch_store_vtable.run_list_ended orch_store_vtable.run_delete \
         orch_store_vtable.reclaim orch_run_purge.instances; do
  grep -q "^$m " "$A/offsets-1.3.txt" || fail "offsets-1.3.txt lacks $m"
done
# The current headers' minor is the newest frozen one (a 1.4 slot needs a
# frozen-1.4 and its table before it ships).
minor=$(sed -n 's/^#define ORCH_ABI_MINOR \([0-9]*\)$/\1/p' "$ORCH_SOURCE_DIR/sdk/include/orch/abi.h")
[ -d "$A/frozen-1.$minor" ] && [ -f "$A/offsets-1.$minor.txt" ] ||
  fail "ABI 1.$minor has no tests/abi/frozen-1.$minor and offsets-1.$minor.txt"
"$ORCH_BUILD_DIR/tests/abi_offsets_frozen_1_$minor" 2>/dev/null | sort | diff -q - "$T/current" >/dev/null ||
  fail "sdk/include differs in layout from frozen-1.$minor: freeze a new minor or revert"
pass "ABI 1.$minor is frozen and sdk/include matches it"

# 2. liborch-conformance exports only orch_ symbols; the core's own
# globals are all oc_ or orch_ (names starting "__" are the compiler's, such
# as ASan's __odr_asan.*).
so=$(ls "$ORCH_BUILD_DIR"/lib*/liborch-conformance.so | head -1)
bad=$(nm -D --defined-only "$so" | awk '$2 ~ /[TDBRVW]/ {print $3}' |
      grep -v -E '^(orch_|_init$|_fini$|_edata$|_end$|__bss_start$|__asan|__ubsan|__odr_asan|__sanitizer|__lsan)' || true)
[ -z "$bad" ] || fail "liborch-conformance exports symbols without the orch_ prefix: $bad"
core_objs=$(cd "$ORCH_SOURCE_DIR/core" && find . -name '*.c' -printf '%f.o\n' | sort -u)
nm --defined-only "$ORCH_BUILD_DIR/core/liborchcore.a" 2>/dev/null | awk '
  /:$/ {obj = substr($1, 1, length($1) - 1); next}
  NF == 3 && $2 ~ /[TDBRV]/ {print obj, $3}' >"$T/syms"
while read -r obj sym; do
  echo "$core_objs" | grepq -x "$obj" || continue
  case "$sym" in oc_* | orch_* | __*) ;; *) fail "core object $obj defines global '$sym' without the oc_/orch_ prefix" ;; esac
done <"$T/syms"
[ -s "$T/syms" ] || fail "no symbols read from liborchcore.a"
pass "exported symbols carry the orch_ prefix"

# 3. status.h, orch_strerror and docs/errors.md agree, code by code.
grep -oE 'ORCH_(OK|E_[A-Z_]+) = [0-9]+' "$ORCH_SOURCE_DIR/sdk/include/orch/status.h" |
  awk '{print $3, $1}' >"$T/codes"
grep -oE '^## ORCH_(OK|E_[A-Z_]+)$' "$ORCH_SOURCE_DIR/docs/errors.md" | cut -c4- >"$T/doc_names"
awk '{print $2}' "$T/codes" | diff -u - "$T/doc_names" ||
  fail "docs/errors.md sections differ from the codes in status.h (order and names)"
"$ORCH_BUILD_DIR/tests/abi_status" >"$T/texts"
n=$(wc -l <"$T/codes")
last=$(tail -1 "$T/texts")
case "$last" in "$n "*unknown*) ;; *) fail "orch_strerror of an unknown code: '$last'" ;; esac
head -n "$n" "$T/texts" | awk '{ $1 = ""; print }' | sort | uniq -d >"$T/dups"
[ ! -s "$T/dups" ] || fail "orch_strerror gives the same text to two codes: $(cat "$T/dups")"
head -n "$n" "$T/texts" | grep -i unknown && fail "a defined code has no orch_strerror text"
pass "status codes: $n codes agree between status.h, orch_strerror and docs/errors.md"

# 4. A plugin compiled against the frozen ABI 1.0 headers loads and passes.
"$ORCH_PLUGIN_TOOL" check "$ORCH_TEST_PLUGIN_DIR/step-frozen.so" >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "orch-plugin check refused the ABI 1.0 plugin"; }
"$ORCH_PLUGIN_TOOL" test "$ORCH_TEST_PLUGIN_DIR/step-frozen.so" --config "$A/frozen-plugin/conformance.yaml" --torture >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "the ABI 1.0 plugin fails its suite in the current core"; }
grep -q "0 failed" "$T/out" || fail "unexpected summary: $(tail -1 "$T/out")"
pass "a plugin built against the frozen ABI 1.0 headers loads and passes"

# 5. A plugin compiled against the frozen ABI 1.1 headers, using 1.1's option
# forms, host slots and optional-backend capability, loads and passes (its run
# checks the slots' contracts; a 1.0 core refusing it is in test_loader.c).
"$ORCH_PLUGIN_TOOL" check "$ORCH_TEST_PLUGIN_DIR/step-abi11.so" >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "orch-plugin check refused the ABI 1.1 plugin"; }
"$ORCH_PLUGIN_TOOL" test "$ORCH_TEST_PLUGIN_DIR/step-abi11.so" --config "$A/abi11-plugin/conformance.yaml" --torture >"$T/out" 2>&1 ||
  { cat "$T/out"; fail "the ABI 1.1 plugin fails its suite in the current core"; }
grep -q "0 failed" "$T/out" || fail "unexpected summary: $(tail -1 "$T/out")"
pass "a plugin built against the frozen ABI 1.1 headers loads and passes"

# 6. The same plugin in a real run, through the executor: with `backend:`
# named it is bound to a local instance and host->inst_workdir is where
# `pwd` runs (its run compares them); without, the optional backend is not
# used and inst_workdir is NULL. Its outputs come through output_set_len
# (only the first len bytes) and json_quote.
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: bound
        uses: abi11
        backend: local
        with: {name: 'a "b"', mode: shout, times: 2}
      - id: unbound
        uses: abi11
        with: {name: c}
      - id: show
        uses: exec
        needs: [bound, unbound]
        with:
          env:
            B: "\${{ steps.bound.outputs.greeting }}|\${{ steps.bound.outputs.quoted }}|\${{ steps.bound.outputs.bound }}"
            U: "\${{ steps.unbound.outputs.greeting }}|\${{ steps.unbound.outputs.bound }}"
          run: 'printf "bound=%s\nunbound=%s\n" "\$B" "\$U"'
YAML
cd "$T"
export ORCH_PLUGIN_PATH="$ORCH_TEST_PLUGIN_DIR"
o run "$T/wf.yaml" w
expect_rc 0 "the ABI 1.1 plugin's workflow"
expect_out 'bound=HELLO a "b", 2 times|"a \"b\""|yes' "outputs set with output_set_len and json_quote, on an instance"
expect_out "unbound=hello c, 1 times|no" "the optional-backend step without backend: ran without an instance"
pass "the ABI 1.1 plugin runs through the executor, bound and unbound"
