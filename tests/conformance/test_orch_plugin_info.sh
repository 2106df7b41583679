#!/bin/bash
# orch-plugin info: by file and by name, as text and JSON, the same facts
# `orch plugins info` shows.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_PLUGIN_TOOL:?}"
op() { set +e; "$ORCH_PLUGIN_TOOL" "$@" >"$T/out" 2>&1; RC=$?; set -e; }

op info "$ORCH_PLUGIN_DIR/backend-local.so"
expect_rc 0 "info FILE"
expect_out "backend local 1.0.0 (ABI $(orch_abi), SDK 0.1.0)" "header line"
expect_out "capabilities: exec exec_stream put_file get_file list_dir attach list_owned signal" "caps"
expect_out "kill_grace         duration     default: 2s" "option table"

op info "$ORCH_TEST_PLUGIN_DIR/step-frozen.so" --json
expect_rc 0 "info FILE --json"
python3 - "$T/out" <<'PY' || fail "JSON info is wrong: $(cat "$T/out")"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["id"] == "step-frozen" and d["kind"] == "step" and d["abi"] == "1.0", d
assert d["caps"] == ["dry_run"], d["caps"]
names = {o["name"]: o for o in d["options"]}
assert names["name"]["required"] is True and names["times"]["default"] == "1", names
assert [o["name"] for o in d["outputs"]] == ["greeting"], d["outputs"]
PY

# By name, through the search path, and the same text as `orch plugins info`.
op info exec
expect_rc 0 "info NAME"
cp "$T/out" "$T/tool"
"$ORCH" plugins info exec >"$T/cli" 2>&1
diff -u "$T/cli" "$T/tool" || fail "orch-plugin info and orch plugins info disagree"

op info no-such-plugin
expect_rc 2 "unknown name"
expect_out "no-such-plugin" "the name is repeated"
op info
expect_rc 2 "no argument"
pass "orch-plugin info"
