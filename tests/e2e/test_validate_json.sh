# orch --json validate: the verdict and every error and warning as data
# ({file, line, col, message}), the same diagnostics the text form prints
# as file:line:col: message, exit 2 when the file is not valid; a file that
# cannot be read is an error with no place.
. "$(dirname "$0")/../lib/common.sh"

cat >"$T/bad.yaml" <<'YAML'
version: 1
workflows:
  w:
    inputs:
      ref: {type: nosuch}
    steps:
      - {id: a, uses: exec, with: {run: "true"}, bogus: 1}
      - {id: b, uses: exec, needs: [zz], with: {run: "true"}}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "text: invalid"
grep -F "$T/bad.yaml:" "$T/out" | grep -v "^orch:" >"$T/text" || true
[ -s "$T/text" ] || fail "the text form printed no diagnostics: $(cat "$T/out")"
"$ORCH" --json validate "$T/bad.yaml" >"$T/json" 2>"$T/json.err" && fail "--json validate of a bad file exited 0"
python3 - "$T/json" "$T/text" <<'PY' || fail "the JSON diagnostics do not match the text ones"
import json, sys
d = json.load(open(sys.argv[1]))
text = [l.rstrip("\n") for l in open(sys.argv[2])]
assert d["valid"] is False and d["warnings"] == [], d
errs = d["errors"]
assert len(errs) == len(text) >= 2, (errs, text)
for e, t in zip(errs, text):
    assert set(e) == {"file", "line", "col", "message"}, e
    assert f'{e["file"]}:{e["line"]}:{e["col"]}: {e["message"]}' == t, (e, t)
assert any(e["line"] == 5 for e in errs), "the bad type's line"
PY
[ ! -s "$T/json.err" ] || fail "--json validate wrote to stderr: $(cat "$T/json.err")"
pass "--json validate: every error with file, line, col, message, as the text form says them"

cat >"$T/warn.yaml" <<'YAML'
version: 1
workflows:
  w:
    inputs:
      who: {default: world}
    steps:
      - {id: a, uses: exec, with: {run: "echo ${{ inputs.who }}"}}
YAML
"$ORCH" --json validate "$T/warn.yaml" >"$T/json" || fail "a file with a warning is valid"
python3 - "$T/json" <<'PY' || fail "the warning is not in the JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is True and d["errors"] == [] and len(d["warnings"]) == 1, d
w = d["warnings"][0]
assert w["line"] == 7 and "warning" not in w["message"][:8] and "inputs.who" in w["message"], w
assert d["workflows"] == [{"name": "w", "steps": 1, "file": d["file"]}], d
PY
pass "--json validate: warnings listed, the file valid"

"$ORCH" --json validate "$T/missing.yaml" >"$T/json" 2>/dev/null && fail "a missing file is valid"
python3 - "$T/json" <<'PY' || fail "a missing file's JSON"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["valid"] is False and len(d["errors"]) == 1, d
assert "missing.yaml" in d["errors"][0]["message"], d
PY
pass "--json validate of a missing file: one error naming it"
