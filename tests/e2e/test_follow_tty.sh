# A run followed on a terminal (tmux panes of 80x24 and 160x40) shows the
# status area orch run shows: `orch --server URL runs start W --follow`
# and `runs logs --follow RUN` against a real orchd, `orch runs logs
# --follow RUN` against the store while orch run drives the run (whose
# log lines show as they are written; the API's when the attempt ends). The area
# lists the running steps with their time, the counts and the run's time,
# is redrawn in place, says which step waits for approval with the command
# that approves it, and is gone at the end; the exit status is the run's.
# A step's output with escape sequences never reaches the terminal as
# such; NO_COLOR and a pipe give no colour (a pipe: no escape byte at
# all); --progress=plain and TERM=dumb give plain lines.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/tty.sh"
trap 'tty_cleanup; od_stop; t_cleanup' EXIT

# s1..s4 block on $T/go (s1 prints escape sequences first: a clear screen,
# a window title, red); gate waits for an approval beside them; last needs
# all of them.
printf '%s\n' "printf 'evil\\033[2J\\033]0;pwned\\007\\033[31mred\\n'" >"$T/evil.sh"
steps() {
  echo "      - {id: s1, uses: exec, with: {run: 'sh $T/evil.sh; while [ ! -e $T/go ]; do sleep 0.05; done'}}"
  for i in 2 3 4; do
    echo "      - {id: s$i, uses: exec, with: {run: 'echo line-$i; while [ ! -e $T/go ]; do sleep 0.05; done'}}"
  done
}
{
  echo "version: 1"
  echo "$OD_SERVER"
  echo "backends: {local: {uses: local}}"
  echo "workflows:"
  echo "  f:"
  echo "    steps:"
  steps
  echo "      - {id: gate, uses: approval, with: {message: 'ship it?'}}"
  echo "      - {id: last, uses: exec, needs: [s1, s2, s3, s4, gate], with: {run: 'echo done'}}"
  echo "  plain:"
  echo "    steps:"
  steps
} >"$T/od.in"
od_config "$T/orchd.yaml" <"$T/od.in"
od_start "$T/orchd.yaml"
export ORCH_TOKEN=writer-token
URL="unix:$OD_SOCK"
# The local workflow: the same steps without the approval (orch run drives it).
{
  echo "version: 1"
  echo "workflows:"
  echo "  plain:"
  echo "    steps:"
  steps
} >"$T/wf.yaml"
"$ORCH" validate "$T/wf.yaml" >/dev/null || fail "the local workflow does not validate"

# start COLS ROWS [ENV...] -- ORCH ARGS...: orch in a fresh pane, with
# the writer's token and this test's store.
start() {
  tty_start "$1" "$2" ORCH_TOKEN=writer-token "ORCH_STATE_DIR='$ORCH_STATE_DIR'" "${@:3}"
}
# N: the steps in all (the area's "/N"; "" when not known).
summaries() { grep -cE "^  [0-9]+$TOTAL done, [0-9]+ failed, [0-9]+ skipped, [0-9]+ running  " "$T/screen" || true; }
area_up() { screen; [ "$(summaries)" = 1 ] && [ "$(grep -cE '^  > s[1-4]  [0-9.]+(ms|s)' "$T/screen")" = 4 ]; }
area_moved() {
  screen
  grep -E "^  0$TOTAL done, 0 failed, 0 skipped, 4 running  [0-9.]+s\$" "$T/screen" |
    grep -qE '  ([1-9][0-9]*\.[0-9]+|[1-9][0-9]*)s$'
}
notice_up() { screen; grep -qF -- "  ? gate waits for approval: orch --server $URL runs approve $R gate" "$T/screen" ||
  { [ "${COLS:-160}" -lt 120 ] && grep -qE '^  \? gate waits for approval: orch --server ' "$T/screen"; }; }
parked() { api GET "/v1/runs/$R" "" reader; [ "$(resp "d['run']['state']")" = waiting ]; }

# in_place COLS ROWS: one summary line in the whole scrollback, each
# running step once, no line wider than the pane.
in_place() {
  scrollback
  [ "$(summaries)" = 1 ] || { cat "$T/screen"; fail "$1x$2: the area is redrawn in place, not appended"; }
  local dup
  dup=$(grep -oE '^  > s[0-9] ' "$T/screen" | sort | uniq -d)
  [ -z "$dup" ] || { cat "$T/screen"; fail "$1x$2: a step listed twice: $dup"; }
  awk -v c="$1" 'length($0) > c {bad = 1} END {exit bad}' "$T/screen" || fail "$1x$2: a line wider than the pane"
}
# The hostile bytes of s1's output never reach the terminal.
no_hostile() {
  if grep -qF -e $'\e[2J' -e $'\e]0;' -e $'\e[31mred' "$T/raw"; then
    cat -v "$T/raw" | grep -F evil | head -3
    fail "$1: a step's escape sequence reached the terminal"
  fi
  grep -qF -- '[s1] evil?[2J?]0;pwned??[31mred' "$T/screen" || { cat "$T/screen"; fail "$1: s1's line, its control bytes shown as '?'"; }
}
# remote_run: a run of f started over the API, its id in R.
remote_run() {
  api POST /v1/runs "{\"workflow\": \"${1:-f}\"}"
  expect_http 201 "start a run of ${1:-f}"
  R=$(resp "d['run']['id']")
}
approve() {
  "$ORCH" --server "$URL" runs approve "$R" gate >/dev/null || fail "approve $R gate"
}

# 1. runs start --follow at 80x24 and runs logs --follow at 160x40, both
# through the approval to the end.
TOTAL=/6
for how in "80 24 start" "160 40 logs"; do
  set -- $how
  COLS=$1
  rm -f "$T/go"
  if [ "$3" = start ]; then
    start "$1" "$2" -- --server "$URL" runs start f --follow
    first_line() { screen; grep -qE '^run r-[a-z0-9]+: queued' "$T/screen"; }
    wait_until "the run's first line" first_line
    R=$(grep -oE '^run r-[a-z0-9]+' "$T/screen" | head -1 | cut -c5-)
  else
    remote_run
    start "$1" "$2" -- --server "$URL" runs logs "$R" --follow
  fi
  wait_until "the status area at $1x$2 ($3)" area_up
  wait_until "the run's time to move while nothing happens ($3)" area_moved
  wait_until "the approval notice ($3)" notice_up
  in_place "$1" "$2"
  touch "$T/go"
  wait_until "the run to park on its approval ($3)" parked
  after_steps() { screen; grep -qE "^  4$TOTAL done, 0 failed, 0 skipped, 0 running  " "$T/screen"; }
  wait_until "the counts after the four steps ($3)" after_steps
  notice_up || { cat "$T/screen"; fail "$1x$2: the notice stays while the run is parked"; }
  approve
  wait_until "orch to end ($3)" ended
  [ "$(cat "$T/exit")" = 0 ] || { scrollback; cat "$T/screen"; fail "$1x$2 ($3): orch exited $(cat "$T/exit")"; }
  scrollback
  [ "$(summaries)" = 0 ] || { cat "$T/screen"; fail "$1x$2 ($3): the area is gone at the end"; }
  grep -qF -- "run $R succeeded in " "$T/screen" || { cat "$T/screen"; fail "$1x$2 ($3): the run's last line"; }
  [ "$(grep -cE '^ok (s[1-4]|last) succeeded in [0-9.]+(ms|s)$' "$T/screen")" = 5 ] ||
    { cat "$T/screen"; fail "$1x$2 ($3): an ok line with its duration for each step"; }
  grep -qF -- "gate approved by writer" "$T/screen" || { cat "$T/screen"; fail "$1x$2 ($3): the decision's line"; }
  grep -qF -- "[last] done" "$T/screen" || { cat "$T/screen"; fail "$1x$2 ($3): a step's log above its ok line"; }
  no_hostile "$1x$2 ($3)"
  pass "$1x$2: runs $3 --follow: running steps, counts, time, the approval notice, in place, gone at the end"
done

# 2. orch runs logs --follow RUN against the store while orch run drives it.
TOTAL=/4
rm -f "$T/go"
export ORCH_STATE_DIR="$T/local" # a store of its own: its newest run is this one
"$ORCH" run "$T/wf.yaml" plain >"$T/local.out" 2>&1 &
LOCAL=$!
T_PIDS+=("$LOCAL")
local_run() { R=$("$ORCH" --json runs list --limit 1 2>/dev/null | jq_py "d[0]['id'] if d else ''"); [ -n "$R" ]; }
wait_until "the local run in the store" local_run
COLS=80
start 80 24 -- -c "$T/wf.yaml" runs logs --follow "$R"
wait_until "the status area of the local run" area_up
wait_until "its time to move" area_moved
# The store's log is read as it grows: a running step's line is there
# before the step ends, above the area.
live_line() { screen; grep -qx '\[s2\] line-2' "$T/screen"; }
wait_until "a running step's line, live" live_line
in_place 80 24
touch "$T/go"
wait_until "orch runs logs --follow to end" ended
wait "$LOCAL" || fail "orch run of the local workflow: $(cat "$T/local.out")"
[ "$(cat "$T/exit")" = 0 ] || fail "runs logs --follow (store) exited $(cat "$T/exit")"
scrollback
[ "$(summaries)" = 0 ] || { cat "$T/screen"; fail "store: the area is gone at the end"; }
grep -qF -- "run $R succeeded in " "$T/screen" || { cat "$T/screen"; fail "store: the run's last line"; }
no_hostile "store"
pass "runs logs --follow RUN on the store: the same area, in place, gone at the end"

# 3. No colour with NO_COLOR or --color=never; colour by default.
TOTAL=/4
COLS=80
for how in "-- --color=auto" "NO_COLOR=1 --" "-- --color=never"; do
  rm -f "$T/go"
  remote_run plain
  # shellcheck disable=SC2086
  start 80 24 $how --server "$URL" runs logs "$R" --follow
  wait_until "the area ($how)" area_up
  screen_esc
  cp "$T/screen" "$T/screen.area"
  touch "$T/go"
  wait_until "orch to end ($how)" ended
  screen_esc
  if [ "$how" = "-- --color=auto" ]; then
    grep -qF -- $'\e[32mok' "$T/screen" || { cat -v "$T/screen" | head; fail "ok in green on a terminal"; }
  elif grep -qE $'\e\\[(3[0-9]|1;3)' "$T/screen" "$T/screen.area"; then
    cat -v "$T/screen" | head
    fail "colour with $how"
  fi
done
pass "colour on a terminal, none with NO_COLOR or --color=never"

# 4. Plain lines: into a pipe (no escape byte at all), --progress=plain
# and TERM=dumb (no area).
rm -f "$T/go"
remote_run plain
touch "$T/go"
"$ORCH" --server "$URL" runs logs "$R" --follow >"$T/pipe.out" 2>&1 || fail "runs logs --follow into a pipe: $(cat "$T/pipe.out")"
if grep -q $'\e' "$T/pipe.out"; then cat -v "$T/pipe.out"; fail "an escape byte in output that is not a terminal"; fi
[ "$(grep -cE '^ok s[1-4] succeeded in ' "$T/pipe.out")" = 4 ] || { cat "$T/pipe.out"; fail "the plain lines"; }
grep -qF -- '[s1] evil?[2J?]0;pwned??[31mred' "$T/pipe.out" || { cat "$T/pipe.out"; fail "s1's line in the pipe"; }
for how in "-- --progress=plain" "TERM=dumb --"; do
  rm -f "$T/go"
  remote_run plain
  # shellcheck disable=SC2086
  start 80 24 $how --server "$URL" runs logs "$R" --follow
  started_line() { screen; grep -qF -- "run $R started" "$T/screen"; }
  wait_until "the run's first line ($how)" started_line
  # The four steps have started in the ledger: a redraw would show by now.
  steps_running() { api GET "/v1/runs/$R" "" reader; [ "$(resp "sum(1 for s in d['run']['steps'] if s['state'] == 'running')")" = 4 ]; }
  wait_until "the four steps to run ($how)" steps_running
  lines_in() { screen; [ "$(grep -cE '^-> s[1-4] started' "$T/screen")" = 4 ]; }
  wait_until "the four start lines ($how)" lines_in
  [ "$(summaries)" = 0 ] || { cat "$T/screen"; fail "a status area with $how"; }
  touch "$T/go"
  wait_until "orch to end ($how)" ended
  [ "$(cat "$T/exit")" = 0 ] || fail "$how: orch exited $(cat "$T/exit")"
done
pass "plain lines into a pipe (no escape byte), with --progress=plain and TERM=dumb"

# 5. The exit status is the run's; Ctrl-C leaves the run going and exits 130.
rm -f "$T/go"
remote_run plain
start 80 24 -- --server "$URL" runs logs "$R" --follow
wait_until "the area before Ctrl-C" area_up
tty_keys C-c
wait_until "orch to exit after Ctrl-C" ended
[ "$(cat "$T/exit")" = 130 ] || fail "Ctrl-C: exit $(cat "$T/exit"), not 130"
api GET "/v1/runs/$R" "" reader
[ "$(resp "d['run']['state']")" = running ] || fail "Ctrl-C while following does not touch the run"
scrollback
[ "$(summaries)" = 0 ] || { cat "$T/screen"; fail "the area is gone after Ctrl-C"; }
touch "$T/go"
od_wait_run "$R" succeeded
pass "Ctrl-C: exit 130, the area gone, the run goes on"
