#!/bin/bash
# The ABI guards of PLUGIN-ABI-GUIDE 10.11: offsets, exported symbols,
# status codes and docs, and an ABI 1.0 plugin in today's core.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_BUILD_DIR:?}" "${ORCH_PLUGIN_TOOL:?}"
A="$ORCH_SOURCE_DIR/tests/abi"

# 1. Every member of the 1.0 table is where it was, in the frozen headers
# exactly and in the current ones (which may only append).
"$ORCH_BUILD_DIR/tests/abi_offsets_frozen" | sort >"$T/frozen"
diff -u "$A/offsets-1.0.txt" "$T/frozen" || fail "frozen-1.0 headers differ from offsets-1.0.txt"
"$ORCH_BUILD_DIR/tests/abi_offsets_current" | sort >"$T/current"
while read -r key val; do
  case "$key" in
    sizeof) continue ;;
  esac
  now=$(awk -v k="$key" '$1 == k {print $2}' "$T/current")
  [ -n "$now" ] || fail "ABI 1.0 member $key was removed from the headers"
  [ "$now" = "$val" ] || fail "ABI 1.0 member $key moved from offset $val to $now"
done <"$A/offsets-1.0.txt"
grep '^sizeof' "$A/offsets-1.0.txt" | while read -r _ s n; do
  cur=$(awk -v s="$s" '$1 == "sizeof" && $2 == s {print $3}' "$T/current")
  [ "${cur:-0}" -ge "$n" ] || fail "struct $s shrank from $n to ${cur:-gone} bytes"
done
pass "offsets: $(grep -vc '^sizeof' "$A/offsets-1.0.txt") ABI 1.0 members in place"

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
  echo "$core_objs" | grep -qx "$obj" || continue
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
