# strategy.matrix in the engine (docs/config.md, "Matrix"): each combination
# is a step instance of its own, named `ID (v1, v2)`; max_parallel bounds
# the instances in flight (checked from the recorded start and end times:
# overlap counts, never durations); a matrix from a step's output; the
# group's outputs as lists; fail_fast cancelling siblings; kill -9 and
# resume re-running only the instances that did not succeed; the limit.
. "$(dirname "$0")/../lib/common.sh"
WAIT_S=120

# The most attempts of steps starting with PREFIX in flight at once in
# run $1, from their recorded started/finished times.
max_overlap() {
  run_json "$1" | jq_py "(lambda iv: max(sum(1 for s, e in iv if s <= t < e) for t, _ in iv))(
    [(ns(a['started']), ns(a['finished'])) for a in d['attempts'] if a['step'].startswith('$2') and a['started']])"
}

# --- 3x2 with one exclude, max_parallel 2 ---------------------------------
cat >"$T/grid.yaml" <<YAML
version: 1
workflows:
  grid:
    concurrency: 8
    steps:
      - id: test
        uses: exec
        strategy:
          matrix:
            os: [linux, mac, win]
            py: ["3.11", 3.12]
            exclude:
              - {os: win, py: 3.12}
          max_parallel: 2
        env: {OS: "\${{ matrix.os }}", PY: "\${{ matrix.py }}"}
        with:
          # Hold the place a moment, so that more than two in flight would
          # show in the recorded times if the bound did not hold.
          run: echo "\$OS \$PY" >> $T/grid.ran; sleep 0.3; echo "::set-output name=v::\$OS-\$PY"
YAML
o validate "$T/grid.yaml"
expect_rc 0 "the grid validates"
o run "$T/grid.yaml" grid
expect_rc 0 "the grid runs"
id=$(last_run_id)
names=$(run_json "$id" | jq_py "sorted(a['step'] for a in d['attempts'] if a['step'].startswith('test ('))")
[ "$names" = "['test (linux, 3.11)', 'test (linux, 3.12)', 'test (mac, 3.11)', 'test (mac, 3.12)', 'test (win, 3.11)']" ] ||
  fail "instances: $names"
[ "$(wc -l <"$T/grid.ran")" -eq 5 ] || fail "expected 5 executions, got $(wc -l <"$T/grid.ran")"
grepq -x "win 3.11" "$T/grid.ran" || fail "win 3.11 did not run"
grepq -x "win 3.12" "$T/grid.ran" && fail "the excluded win 3.12 ran"
ov=$(max_overlap "$id" "test (")
[ "$ov" -le 2 ] || fail "max_parallel 2, but $ov instances were in flight at once"
[ "$(state_of "$id" test)" = succeeded ] || fail "the group's state"
# The expansion is in the ledger, with every combination.
"$ORCH" --json runs events "$id" | jq_py "[e['data']['count'] for e in d if e['type']=='step.expanded']" >"$T/exp"
[ "$(cat "$T/exp")" = "[5]" ] || fail "step.expanded events: $(cat "$T/exp")"
"$ORCH" runs show "$id" >"$T/show"
grepq -F "test (mac, 3.12)" "$T/show" || fail "orch runs show lacks an instance"
pass "matrix: 3x2 less one exclude, named, at most 2 in flight"

# --- a dynamic fan-out of 50 from a step's output -------------------------
items=$(python3 -c 'import json; print(json.dumps(list(range(50)), separators=(",", ":")))')
cat >"$T/fan.yaml" <<YAML
version: 1
workflows:
  fan:
    concurrency: 8
    steps:
      - id: list
        uses: exec
        with: {run: "echo '::set-output name=items::$items'"}
      - id: fan
        uses: exec
        needs: [list]
        strategy:
          matrix: {item: "\${{ fromJSON(steps.list.outputs.items) }}"}
        env: {ITEM: "\${{ matrix.item }}"}
        with: {run: 'echo "::set-output name=x::v\$ITEM"'}
      - id: join
        uses: exec
        needs: [fan]
        env: {XS: "\${{ join(steps.fan.outputs.x, ',') }}", RESULT: "\${{ steps.fan.result }}"}
        with: {run: 'echo "joined=\$XS result=\$RESULT"'}
YAML
o run "$T/fan.yaml" fan
expect_rc 0 "the fan-out runs"
want=$(python3 -c 'print(",".join("v%d" % i for i in range(50)))')
expect_out "joined=$want result=success" "the downstream step read the list in order"
id=$(last_run_id)
n=$(run_json "$id" | jq_py "len([a for a in d['attempts'] if a['step'].startswith('fan (') and a['state']=='succeeded'])")
[ "$n" -eq 50 ] || fail "expected 50 succeeded instances, got $n"
[ "$(state_of "$id" 'fan (49)')" = succeeded ] || fail "fan (49) is named after its item"
# A dry run has no outputs for the matrix to read: the group is planned
# (a step.plan event says so), no instance runs, the steps after it plan.
o run --dry-run "$T/fan.yaml" fan
expect_rc 0 "the dry run of a dynamic matrix"
id=$(last_run_id)
"$ORCH" --json runs events "$id" >"$T/dry.json"
jq_py "any(e['type']=='step.plan' and e['data']['step']=='fan' and 'would expand strategy.matrix' in e['data']['plan'] for e in d)" <"$T/dry.json" | grepq True ||
  fail "no plan of the matrix in the dry run: $(cat "$T/dry.json")"
[ "$(state_of "$id" join)" = succeeded ] || fail "the step after a planned matrix is $(state_of "$id" join)"
pass "matrix: a dynamic fan-out of 50, outputs as a list; a dry run plans it"

# --- fail_fast: one fails, the others (waiting on a file never made) end
# cancelled, and the run fails ---------------------------------------------
cat >"$T/ff.yaml" <<YAML
version: 1
workflows:
  ff:
    concurrency: 8
    steps:
      - id: t
        uses: exec
        strategy:
          matrix: {n: [1, 2, 3]}
        env: {N: "\${{ matrix.n }}"}
        with:
          run: |
            touch $T/ff.started.\$N
            if [ "\$N" = 1 ]; then
              i=0; until [ -e $T/ff.started.2 ] && [ -e $T/ff.started.3 ]; do
                i=\$((i + 1)); [ \$i -lt 1200 ] || exit 3; sleep 0.1; done
              exit 1
            fi
            until [ -e $T/ff.never ]; do sleep 0.1; done
YAML
o run "$T/ff.yaml" ff
expect_rc 1 "the run fails"
id=$(last_run_id)
[ "$(run_state "$id")" = failed ] || fail "the run's state"
[ "$(state_of "$id" 't (1)')" = failed ] || fail "t (1) failed"
[ "$(state_of "$id" 't (2)')" = cancelled ] || fail "t (2) was not cancelled: $(state_of "$id" 't (2)')"
[ "$(state_of "$id" 't (3)')" = cancelled ] || fail "t (3) was not cancelled: $(state_of "$id" 't (3)')"
[ "$(state_of "$id" t)" = failed ] || fail "the group failed"
pass "matrix: fail_fast cancels the running siblings"

# --- kill -9 mid-matrix, then resume: only what did not succeed re-runs ---
# 1 and 2 succeed at once; 3, 4, 5 wait for a release file; 6 never starts
# (max_parallel 3) before the kill.
cat >"$T/res.yaml" <<YAML
version: 1
workflows:
  res:
    concurrency: 8
    steps:
      - id: m
        uses: exec
        strategy:
          matrix: {n: [1, 2, 3, 4, 5, 6]}
          max_parallel: 3
        env: {N: "\${{ matrix.n }}"}
        with:
          run: |
            echo x >> $T/res.count.\$N
            echo \$\$ >> $T/res.pids
            if [ "\$N" -gt 2 ]; then
              touch $T/res.started.\$N
              until [ -e $T/res.release ]; do sleep 0.1; done
            fi
      - id: after
        uses: exec
        needs: [m]
        with: {run: "echo x >> $T/res.after"}
YAML
"$ORCH" run "$T/res.yaml" res >"$T/res1.out" 2>&1 &
orch_pid=$!
T_PIDS+=("$orch_pid")
wait_file "$T/res.started.3" 120
wait_file "$T/res.started.4" 120
wait_file "$T/res.started.5" 120
id=$(last_run_id)
wait_until "m (1) and m (2) recorded succeeded" \
  bash -c "[ \"\$(\"$ORCH\" --json runs show $id | python3 -c 'import json,sys; d=json.load(sys.stdin); print(sum(1 for a in d[\"attempts\"] if a[\"step\"] in (\"m (1)\", \"m (2)\") and a[\"state\"] == \"succeeded\"))')\" = 2 ]"
kill -9 "$orch_pid"
wait "$orch_pid" 2>/dev/null || true
for p in $(cat "$T/res.pids"); do pkill -9 -g "$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done
[ ! -e "$T/res.count.6" ] || fail "m (6) started before the kill (max_parallel 3)"
# A copy of the store whose record of the expansion was changed behind
# orch's back: resume fails the group rather than evaluate the matrix
# again (which could make other instances than those that ran).
cp -r "$ORCH_STATE_DIR" "$T/state-tampered"
python3 - "$T/state-tampered/orch.db" "$id" <<'PY' || fail "could not change the step.expanded record"
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = db.execute("UPDATE events SET data_json = ? WHERE type = 'step.expanded' AND run_id = ?",
               ('{"step":"m","count":1,"instances":"not a list"}', sys.argv[2])).rowcount
db.commit()
sys.exit(0 if n == 1 else 1)
PY
touch "$T/res.release"
ORCH_STATE_DIR="$T/state-tampered" o resume "$id"
expect_rc 1 "resume with a changed record"
ORCH_STATE_DIR="$T/state-tampered" "$ORCH" --json runs show "$id" >"$T/tampered.json"
jq_py "[a['error'] for a in d['attempts'] if a['step']=='m'][-1]" <"$T/tampered.json" | grepq "does not fit its strategy" ||
  fail "the group's error: $(cat "$T/tampered.json")"
for n in 1 2 3 4 5; do
  [ "$(wc -l <"$T/res.count.$n")" -eq 1 ] || fail "m ($n) ran again on the changed record"
done
[ ! -e "$T/res.count.6" ] || fail "m (6) ran on the changed record"
o resume "$id"
expect_rc 0 "resume finishes the run"
for n in 1 2 6; do
  [ "$(wc -l <"$T/res.count.$n")" -eq 1 ] || fail "m ($n) ran $(wc -l <"$T/res.count.$n") times, want 1"
done
for n in 3 4 5; do
  [ "$(wc -l <"$T/res.count.$n")" -eq 2 ] || fail "m ($n) ran $(wc -l <"$T/res.count.$n") times, want 2"
done
[ "$(wc -l <"$T/res.after")" -eq 1 ] || fail "after ran more than once"
[ "$(run_state "$id")" = succeeded ] || fail "the resumed run's state"
"$ORCH" --json runs events "$id" | jq_py "len([e for e in d if e['type']=='step.expanded'])" >"$T/exp"
[ "$(cat "$T/exp")" = 1 ] || fail "resume expanded again: $(cat "$T/exp") step.expanded events"
pass "matrix: kill -9 and resume re-run only the unfinished instances"

# --- the limit, and refusals ----------------------------------------------
cat >"$T/lim.yaml" <<YAML
version: 1
workflows:
  lim:
    steps:
      - id: big
        uses: exec
        strategy:
          matrix: {a: [1, 2, 3], b: [1, 2]}
          limit: 5
        with: {run: 'true'}
YAML
o validate "$T/lim.yaml"
expect_rc 2 "a static matrix past its limit is refused"
expect_out "lim.yaml:8:19: step big: strategy.matrix: the matrix makes 6 instances (the product of its lists); the limit is 5" "at file:line:col"
o run "$T/lim.yaml" lim
[ "$RC" -ne 0 ] || fail "the run of a matrix past its limit started"
# Names are the instances' keys: two combinations named alike are refused
# (a dynamic matrix alike fails its step with the same words).
cat >"$T/dup.yaml" <<'YAML'
version: 1
workflows:
  dup:
    steps:
      - id: d
        uses: exec
        strategy:
          matrix: {include: [{a: "1, 2", b: "3"}, {a: "1", b: "2, 3"}]}
        with: {run: 'true'}
YAML
o validate "$T/dup.yaml"
expect_rc 2 "two instances named alike are refused"
expect_out "dup.yaml:8:19: step d: strategy.matrix: two of its instances would both be named 'd (1, 2, 3)'" "at file:line:col"

big=$(python3 -c 'import json; print(json.dumps(list(range(300)), separators=(",", ":")))')
cat >"$T/dyn.yaml" <<YAML
version: 1
workflows:
  dyn:
    steps:
      - id: list
        uses: exec
        with: {run: "echo '::set-output name=items::$big'; echo '::set-output name=obj::{\"a\":1}'"}
      - id: fan
        uses: exec
        needs: [list]
        strategy:
          matrix: {item: "\${{ fromJSON(steps.list.outputs.items) }}"}
        with: {run: "echo x >> $T/dyn.ran"}
      - id: odd
        uses: exec
        needs: [list]
        strategy:
          matrix: {item: "\${{ fromJSON(steps.list.outputs.obj) }}"}
        with: {run: "echo x >> $T/dyn.ran"}
YAML
o run "$T/dyn.yaml" dyn
expect_rc 1 "a dynamic matrix past the limit fails the run"
expect_out "strategy.matrix of step fan: the matrix makes 300 instances (the product of its lists); the limit is 256" "names the step, the count and the limit"
expect_out "strategy.matrix of step odd: matrix 'item':" "a value that is no list is refused"
expect_out "gave an object, not a list" "saying what it gave"
[ ! -e "$T/dyn.ran" ] || fail "an instance of a refused matrix ran"

cat >"$T/ctx.yaml" <<YAML
version: 1
workflows:
  ctx:
    steps:
      - id: plain
        uses: exec
        with: {run: 'echo \${{ matrix.os }}'}
YAML
o validate "$T/ctx.yaml"
expect_rc 2 "matrix outside a matrix step is refused"
expect_out "ctx.yaml:7:" "at file:line:col"
expect_out "matrix.os: this step has no strategy.matrix" "saying why"
pass "matrix: limits and refusals"
