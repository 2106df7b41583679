# A run that crashes the engine does not crash-loop the daemon. orchd is
# killed with SIGSEGV and SIGABRT while it drives one run (a long step),
# and restarted by a supervisor loop here, as systemd or a container
# runtime would: after worker.max_engine_crashes (3) crashes the run is
# failed with the reason, once, and the daemon goes on: a healthy run
# completes. Then the crash that did this for real: an approval step in a
# dry run (orch run --dry-run) and in proof mode (orchd) is planned, not a
# segfault.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

od_config "$T/orchd.yaml" <<EOF
version: 1
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
worker:
  tick: 200ms
  lease_ttl: 2s
  max_engine_crashes: 3
workflows:
  long:
    steps:
      - id: s
        uses: exec
        with:
          run: echo \$\$ >> $T/long.pids; sleep 600
  quick:
    steps:
      - id: q
        uses: exec
        with:
          run: echo quick
  gated:
    steps:
      - id: build
        uses: exec
        with:
          run: touch $T/gated-ran
      - id: ok
        uses: approval
        needs: [build]
        with:
          message: ship it?
      - id: ship
        uses: exec
        needs: [ok]
        with:
          run: touch $T/shipped
EOF

starts() { [ -e "$T/long.pids" ] && wc -l <"$T/long.pids" || echo 0; }
wait_starts() { # N
  local i
  for ((i = 0; i < 600; i++)); do
    [ "$(starts)" -ge "$1" ] && return 0
    alive "$OD_PID" || { cat "$T/orchd.log" >&2; fail "orchd died before the step's start $1"; }
    sleep 0.1
  done
  fail "the long step did not start a $1th time"
}
crash() { # SIGNAL
  kill -"$1" "$OD_PID"
  local i
  for ((i = 0; i < 600; i++)); do alive "$OD_PID" || break; sleep 0.1; done
  alive "$OD_PID" && fail "orchd survived SIG$1"
  wait "$OD_PID" 2>/dev/null || true
}

od_start "$T/orchd.yaml"
api POST /v1/runs '{"workflow":"long"}'; expect_http 201 "start the long run"
R=$(resp "d['run']['id']")
# The supervisor: each time the daemon drives the long step, it crashes.
signals=(SEGV ABRT SEGV)
for ((n = 1; n <= 3; n++)); do
  wait_starts "$n"
  crash "${signals[$((n - 1))]}"
  od_start "$T/orchd.yaml"
done
od_wait_run "$R" failed 60
api GET "/v1/runs/$R" "" reader
resp "d['run']['error']" >"$T/err"
grep -qF "the engine crashed 3 times while driving this run; left for a human" "$T/err" ||
  fail "the failed run's reason: $(cat "$T/err")"
[ "$(starts)" -eq 3 ] || fail "the long step started $(starts) times, not 3"
n_finished=$("$ORCH" --json runs events "$R" | jq_py "len([e for e in d if e['type']=='run.finished'])")
[ "$n_finished" = 1 ] || fail "run.finished written $n_finished times"
alive "$OD_PID" || fail "orchd is not running after failing the run"

api POST /v1/runs '{"workflow":"quick"}'; expect_http 201 "start a healthy run"
Q=$(resp "d['run']['id']")
od_wait_run "$Q" succeeded 60
pass "after 3 crashes the run is failed with the reason, once, and the daemon runs the next"
for p in $(cat "$T/long.pids"); do pkill -9 -g "$p" 2>/dev/null || kill -9 "$p" 2>/dev/null || true; done

# The approval in proof mode: planned and taken as approved, the daemon
# stays up, nothing runs for real.
api POST /v1/control '{"proof":true}' admin; expect_http 200 "proof mode on"
api POST /v1/runs '{"workflow":"gated"}'; expect_http 201 "start the gated run in proof mode"
G=$(resp "d['run']['id']")
od_wait_run "$G" succeeded 60
alive "$OD_PID" || { cat "$T/orchd.log" >&2; fail "orchd died planning an approval"; }
"$ORCH" runs events "$G" >"$T/gevents"
grep -q 'would wait for approval: ship it?' "$T/gevents" || fail "the approval's plan: $(cat "$T/gevents")"
[ ! -e "$T/gated-ran" ] && [ ! -e "$T/shipped" ] || fail "proof mode ran a command"
api POST /v1/control '{"proof":false}' admin
od_stop
pass "an approval in proof mode is planned"

# The same through the CLI.
cp "$T/orchd.yaml" "$T/cli.yaml"
o run --dry-run "$T/cli.yaml" gated
expect_rc 0 "orch run --dry-run of a workflow with an approval"
"$ORCH" runs events "$(last_run_id)" >"$T/cevents"
grep -q 'would wait for approval: ship it?' "$T/cevents" || fail "the approval's plan: $(cat "$T/cevents")"
[ ! -e "$T/gated-ran" ] && [ ! -e "$T/shipped" ] || fail "the dry run ran a command"
pass "an approval in a dry run is planned"
