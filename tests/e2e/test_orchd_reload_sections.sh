# Reload swaps every reloadable section, not only workflows and tokens
# (test_orchd_reload checks those): a schedule added by SIGHUP fires on
# its next minute (orchd's clock set just before one with --now), and the
# reload's log line counts it in and out; a webhook added is served and a removed
# one is 404; a notification added is delivered for the next run's end;
# worker.max_runs lowered to 1 holds a second run queued while the first
# runs.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
export ORCH_SECRET_HOOK_KEY=hook-key-0123456789
cfg() { # MAX_RUNS EXTRA-TOP-LEVEL-LINES
  od_config "$T/orchd.yaml" <<EOF2
version: 1
$OD_SERVER
worker: {tick: 100ms, max_runs: $1}
$2
workflows:
  hello:
    steps:
      - {id: h, uses: exec, with: {run: "echo hello"}}
  hold:
    inputs: {n: {default: "0"}}
    steps:
      - {id: s, uses: exec, with: {run: "touch $T/hold.\${{ inputs.n }}; while [ ! -e $T/hold.go ]; do sleep 0.05; done"}}
EOF2
}
reloads=1
reload() { # wait until the daemon says it applied the next generation
  reloads=$((reloads + 1))
  kill -HUP "$OD_PID"
  wait_until "generation $reloads" grepq -F "config reloaded (SIGHUP): generation $reloads" "$T/orchd.log"
}
count_runs() { # WORKFLOW [STATE]
  "$ORCH" --state-dir "$T/od" --json runs list --workflow "$1" ${2:+--state "$2"} --limit 100 | jq_py "len(d)"
}

# A notification receiver: each POST a line of $T/notes, "PATH BODY".
python3 - "$T/notes" "$T/notes.port" <<'PY' &
import http.server, sys
out, portfile = sys.argv[1:]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(out, "ab") as f:
            f.write(self.path.encode() + b" " + body + b"\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
open(portfile, "w").write(str(s.server_address[1]))
s.serve_forever()
PY
T_PIDS+=($!)
wait_file "$T/notes.port"
nport=$(cat "$T/notes.port")

cfg 4 ""
# The daemon's clock 15 s before a minute: a schedule added now fires at
# that minute, 15 s of real time later at most.
ORCH_STATE_DIR="$T/od" ORCH_LOG_LEVEL=info od_start "$T/orchd.yaml" --now 2026-03-02T02:00:45Z

# --- added: a schedule, a webhook, a notification
cfg 4 "schedules:
  minutely: {workflow: hello, cron: \"* * * * *\"}
webhooks:
  build: {workflow: hello, secret: \"\${{ secrets.HOOK_KEY }}\"}
notifications:
  - {url: \"http://127.0.0.1:$nport/n\", on: [succeeded]}"
reload
grepq -F "generation 2, 2 workflows, 1 schedules, 1 webhooks, 1 notifications" "$T/orchd.log" ||
  fail "the reload did not count what it added: $(grep 'config reloaded' "$T/orchd.log")"
scheduled() { [ "$(count_runs hello)" -ge 1 ]; }
wait_until "the added schedule to fire" scheduled
body='{"inputs": {}}'
sig=$(printf '%s' "$body" | openssl dgst -sha256 -hmac "$ORCH_SECRET_HOOK_KEY" | sed 's/.* //')
hook() {
  HTTP=$(curl -s -o "$T/resp" -w '%{http_code}' --unix-socket "$OD_SOCK" -X POST \
    -H "X-Orch-Signature: sha256=$sig" -H 'Content-Type: application/json' \
    -H "X-Orch-Delivery: d-$1" --data-binary "$body" http://orchd/v1/hooks/build)
}
hook 1
[ "$HTTP" = 201 ] || [ "$HTTP" = 202 ] || fail "the added webhook: HTTP $HTTP $(cat "$T/resp")"
noted() { [ -s "$T/notes" ] && grep "^/n " "$T/notes" | grepq -F '"succeeded"'; }
wait_until "the added notification to be delivered" noted
pass "SIGHUP added a schedule (it fired), a webhook (served) and a notification (delivered)"

# --- removed: all three; max_runs 4 -> 1. One notification stays, on
# another path: its delivery of the last run's end shows the notifier has
# sent what it had, so the removed one's absence means something.
cfg 1 "notifications:
  - {url: \"http://127.0.0.1:$nport/kept\", on: [succeeded]}"
reload
grepq -F "generation 3, 2 workflows, 0 schedules, 0 webhooks, 1 notifications" "$T/orchd.log" ||
  fail "the reload did not count what it removed: $(grep 'config reloaded' "$T/orchd.log")"
hook 2
[ "$HTTP" = 404 ] || fail "a removed webhook answers $HTTP, not 404"
: >"$T/notes"
api POST /v1/runs '{"workflow": "hold", "inputs": {"n": "1"}}'
expect_http 201 "the first held run"
r1=$(resp "d['run']['id']")
wait_file "$T/hold.1"
api POST /v1/runs '{"workflow": "hold", "inputs": {"n": "2"}}'
expect_http 201 "the second held run"
r2=$(resp "d['run']['id']")
# Ten ticks go by with the second still queued.
od_wait_ticks 10
api GET "/v1/runs/$r2" "" reader
[ "$(resp "d['run']['state']")" = queued ] || fail "max_runs 1: the second run is $(resp "d['run']['state']") while the first runs"
[ ! -e "$T/hold.2" ] || fail "max_runs 1: the second run's step started"
touch "$T/hold.go"
od_wait_run "$r1" succeeded
od_wait_run "$r2" succeeded
kept() { grepq -F "/kept " "$T/notes" && grep "^/kept " "$T/notes" | grepq -F "$r2"; }
wait_until "the kept notification of the last run" kept
! grep -q "^/n " "$T/notes" || fail "a removed notification was still delivered: $(cat "$T/notes")"
od_stop
pass "SIGHUP removed the schedule, the webhook and the notification; max_runs 1 held the second run queued"
