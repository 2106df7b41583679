# Parser limits: documents nested 100,000 deep (YAML block, flow, JSON,
# mappings and sequences), an alias bomb, an oversized or endless config
# file and 100,000-deep ${{ }} expressions are refused by `orch validate`
# with their position, never a crash; orchd answers a 100,000-deep and an
# oversized body with a 4xx naming the limit and stays up. Run by the ASan
# tree too, where a recursion that follows the input's depth overflows the
# stack long before 100,000.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
cd "$T"
N=100000

# refused FILE WHAT FRAGMENT...: validate exits 2 (not a signal) and prints
# each fragment.
refused() {
  local f=$1 what=$2 frag
  shift 2
  set +e
  timeout 120 "$ORCH" validate "$f" >"$T/out" 2>&1
  RC=$?
  set -e
  [ "$RC" -eq 2 ] || { head -c 2000 "$T/out" >&2; fail "validate $what: exit $RC, not 2"; }
  for frag in "$@"; do expect_out "$frag" "$what"; done
  [ "$(wc -c <"$T/out")" -lt 4096 ] || fail "validate $what: the error is $(wc -c <"$T/out") bytes long"
}

# --- nesting in config files, each 100,000 deep
python3 - "$N" <<'PY'
import sys
n = int(sys.argv[1])
open('seq.yaml', 'w').write('- ' * n + 'x\n')                      # block sequences
open('flowseq.yaml', 'w').write('[' * n + ']' * n + '\n')           # flow sequences
open('flowmap.yaml', 'w').write('{a: ' * n + '1' + '}' * n + '\n')  # flow mappings
open('deep.json', 'w').write('{"a":' * n + '1' + '}' * n + '\n')    # JSON objects
open('jsonarr.json', 'w').write('[' * n + ']' * n + '\n')           # JSON arrays
# block mappings, one space of indent per level (2,000 deep: 100,000
# would take 5 GB of indentation)
open('map.yaml', 'w').write(''.join(' ' * i + 'a:\n' for i in range(2000)) + ' ' * 2000 + 'x\n')
# mixed, under a real key: a workflow's step with: block
open('mixed.yaml', 'w').write(
    'version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n'
    '        with:\n          run: "true"\n          x: ' + '[{a: ' * n + '1' + '}]' * n + '\n')
PY
limit="nested deeper than 64 levels"
refused seq.yaml "100,000 nested block sequences" "seq.yaml:1:129:" "$limit"
refused flowseq.yaml "100,000 nested flow sequences" "flowseq.yaml:1:65:" "$limit"
refused flowmap.yaml "100,000 nested flow mappings" "flowmap.yaml:1:" "$limit"
refused deep.json "100,000 nested JSON objects" "deep.json:1:" "$limit"
refused jsonarr.json "100,000 nested JSON arrays" "jsonarr.json:1:65:" "$limit"
refused map.yaml "2,000 nested block mappings" "map.yaml:65:65:" "$limit"
refused mixed.yaml "100,000 nested under with:" "mixed.yaml:9:" "$limit"
# The limit is not below what a real file needs: 60 levels are read (and
# the file fails for what it is, not for its depth).
python3 -c "print('version: 1\nworkflows: ' + '[' * 59 + ']' * 59)" >ok60.yaml
o validate ok60.yaml
expect_rc 2 "60 levels"
expect_no_out "nested deeper" "60 levels are within the limit"
pass "nesting 100,000 deep (block, flow, JSON; sequences and mappings) refused at level 65 with file:line:col"

# --- anchors and aliases: a billion-laughs bomb is refused at its first
# anchor (orch reads no anchors or aliases at all), as is a lone alias.
cat >laughs.yaml <<'Y'
version: 1
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
workflows: *i
Y
refused laughs.yaml "billion laughs" "laughs.yaml:2:4:" "anchors are not supported"
printf 'version: 1\nworkflows: *nothing\n' >alias.yaml
refused alias.yaml "an alias" "alias.yaml:2:12:" "aliases"
# anchors nested deep inside a flow collection
python3 -c "print('version: 1\nx: ' + '[&a ' * 30 + '1' + ']' * 30)" >anchors.yaml
refused anchors.yaml "nested anchors" "anchors.yaml:2:" "anchors are not supported"
pass "anchors/aliases (billion laughs) refused with their position"

# --- size: a config file past 16 MiB, and one that never ends
python3 -c "
import sys
line = '# ' + 'x' * 1021 + '\n'   # 1 KiB a line
sys.stdout.write('version: 1\n' + line * (17 * 1024))" >big.yaml
refused big.yaml "a 17 MiB config" "big.yaml:16385:" "larger than 16 MiB"
refused /dev/zero "an endless config (/dev/zero)" "/dev/zero:1:16777217:" "larger than 16 MiB"
# A mapping of a million keys (12 MB, under the limit) is read in linear
# time: the duplicate-key check was a linear search per key (hours for
# this file); the duplicate at its end is found and named.
python3 -c "
import sys
sys.stdout.write('version: 1\nx:\n' + ''.join('  k%d: 1\n' % i for i in range(1000000)) + '  k5: 2\n')" >keys.yaml
refused keys.yaml "a million keys" "keys.yaml:1000003:3:" "duplicate key 'k5' (first at line 8)"
pass "config files past 16 MiB refused at the byte past the limit (endless input too); a million keys read"

# --- steps: more than 10,000 in a workflow are refused (validation and the
# engine compare steps pairwise); a chain of 10,000, each step naming the
# first one's output, validates (the needs walk was a recursion as deep as
# the chain is long).
python3 - <<'PY'
head = 'version: 1\nworkflows:\n  w:\n    steps:\n      - {id: s0, uses: exec, with: {run: "true"}}\n'
def chain(n):
    return head + ''.join('      - {id: s%d, uses: exec, needs: [s%d], with: {run: "echo ${{ steps.s0.outputs.x }}"}}\n'
                          % (i, i - 1) for i in range(1, n))
open('chain10k.yaml', 'w').write(chain(10000))
open('chain100k.yaml', 'w').write(chain(100001))
PY
o validate chain10k.yaml
expect_rc 0 "a chain of 10,000 steps"
refused chain100k.yaml "100,001 steps" "chain100k.yaml:10005:9:" "workflow w has 100001 steps; the limit is 10000"
pass "a chain of 10,000 steps validates; 100,001 steps are refused at the 10,001st"

# --- ${{ }} expressions 100,000 deep: parentheses, '!', and operator
# chains (a tree as tall as the chain is long)
python3 - "$N" <<'PY'
import sys
n = int(sys.argv[1])
head = ('version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n'
        '        with:\n          run: "true"\n')
open('paren.yaml', 'w').write(head + '        if: ${{ ' + '(' * n + 'true' + ')' * n + ' }}\n')
open('not.yaml', 'w').write(head + '        if: ${{ ' + '!' * n + 'true }}\n')
open('and.yaml', 'w').write(head + '        if: ${{ ' + ' && '.join(['true'] * n) + ' }}\n')
open('or.yaml', 'w').write(head.replace('run: "true"', 'run: "echo ${{ ' +
                           ' || '.join(["'x'"] * n) + ' }}"'))
open('call.yaml', 'w').write(head + "        if: ${{ " + "contains(" * n + "'a'" +
                             ", 'a')" * n + " }}\n")
PY
deep="expression nested too deeply (the limit is 64 levels)"
refused paren.yaml "100,000 parentheses" "paren.yaml:9:" "$deep"
refused not.yaml "100,000 '!'" "not.yaml:9:" "$deep"
refused and.yaml "an && chain of 100,000" "and.yaml:9:" "$deep"
refused or.yaml "an || chain of 100,000 in run:" "or.yaml:8:" "$deep"
refused call.yaml "100,000 nested calls" "call.yaml:9:" "$deep"
printf 'version: 1\nworkflows:\n  w:\n    steps:\n      - id: a\n        uses: exec\n        if: ${{ %s }}\n        with: {run: "true"}\n' \
  "$(python3 -c "print(' && '.join(['true'] * 40))")" >and40.yaml
o validate and40.yaml
expect_rc 0 "a 40-term && chain is an ordinary expression"
pass "\${{ }} nested or chained 100,000 deep refused with the step's position"

# --- orchd: bodies 100,000 deep and past max_body
od_config "$T/orchd.yaml" <<EOF
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
workflows:
  hello:
    inputs: {who: {default: world}}
    steps:
      - id: greet
        uses: exec
        with: {run: "echo hello"}
EOF
od_start "$T/orchd.yaml"
python3 -c "print('[' * $N + ']' * $N, end='')" >"$T/deep.body"
python3 -c "print('{\"workflow\":\"hello\",\"inputs\":' + '{\"a\":' * $N + '1' + '}' * $N + '}', end='')" >"$T/deepobj.body"
python3 -c "print('{\"workflow\":\"hello\",\"inputs\":{\"who\":\"' + 'a' * (2 << 20) + '\"}}', end='')" >"$T/big.body"
post_file() { # PATH FILE
  HTTP=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X POST \
    -H "Authorization: Bearer writer-token" -H 'Content-Type: application/json' \
    --data-binary "@$2" "http://orchd$1")
}
post_file /v1/runs "$T/deep.body"
expect_http 400 "100,000 nested arrays"
[ "$(resp "d['error']['code']")" = too_deep ] || fail "deep body: $(cat "$T/resp")"
grep -q "deeper than 64 levels" "$T/resp" || fail "the limit is not named: $(cat "$T/resp")"
grep -q "line 1 column 65" "$T/resp" || fail "no position: $(cat "$T/resp")"
post_file /v1/runs "$T/deepobj.body"
expect_http 400 "100,000 nested objects under inputs"
[ "$(resp "d['error']['code']")" = too_deep ] || fail "deep inputs: $(cat "$T/resp")"
post_file /v1/instances "$T/deep.body"
expect_http 400 "a deep body on another route"
[ "$(resp "d['error']['code']")" = too_deep ] || fail "deep instances body: $(cat "$T/resp")"
post_file /v1/runs "$T/big.body"
expect_http 413 "a 2 MiB body (server.max_body is 1M)"
grep -q "max_body" "$T/resp" || fail "the size limit is not named: $(cat "$T/resp")"
alive "$OD_PID" || fail "orchd died"
api GET /health "" ""; expect_http 200 "orchd still answers"
api POST /v1/runs '{"workflow":"hello","inputs":{"who":"you"}}'; expect_http 201 "an ordinary run after the attacks"
pass "orchd: bodies 100,000 deep (400 too_deep, with the position) and past max_body (413) refused; it stays up"
