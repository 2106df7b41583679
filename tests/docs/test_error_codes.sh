#!/bin/bash
# Troubleshooting covers every error a user can meet: each status code of
# the SDK (sdk/include/orch/status.h) and each error code the HTTP API
# answers with (tools/orchd) has its section in docs/errors.md, and no
# section documents a code that no longer exists.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}"
S=$ORCH_SOURCE_DIR
doc="$S/docs/errors.md"
grep -oE '^ *ORCH_(OK|E_[A-Z_]+)' "$S/sdk/include/orch/status.h" | tr -d ' ' | sort -u >"$T/status"
[ "$(wc -l <"$T/status")" -ge 10 ] || fail "found only $(wc -l <"$T/status") status codes in status.h"
# The code is the string just before the message format.
grep -ohE 'orchd_fail\(.*"[a-z_]+", "' "$S"/tools/orchd/*.c |
  sed -E 's/.*"([a-z_]+)", "$/\1/' | sort -u >"$T/api"
[ "$(wc -l <"$T/api")" -ge 5 ] || fail "found only $(wc -l <"$T/api") API error codes in tools/orchd"
sed -n 's/^## \(ORCH_[A-Z_]*\)$/\1/p' "$doc" | sort -u >"$T/doc_status"
sed -n 's/^### `\([a-z_]*\)`.*/\1/p' "$doc" | sort -u >"$T/doc_api"
missing=$(comm -23 "$T/status" "$T/doc_status"; comm -23 "$T/api" "$T/doc_api")
[ -z "$missing" ] || fail "docs/errors.md lacks a section for: $(echo $missing)"
stale=$(comm -13 "$T/status" "$T/doc_status"; comm -13 "$T/api" "$T/doc_api")
[ -z "$stale" ] || fail "docs/errors.md documents codes that do not exist: $(echo $stale)"
pass "docs/errors.md: $(wc -l <"$T/status") status codes and $(wc -l <"$T/api") API error codes, each with its section"
