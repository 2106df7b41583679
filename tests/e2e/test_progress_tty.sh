# orch run on a terminal (tmux panes of 80x24 and 160x40): a status area
# under the log lists the steps running now with their elapsed time and
# the counts done/failed/skipped/total with the run's time, is redrawn in
# place (one summary line on the screen and in the scrollback, whatever
# happened before) and moves while nothing happens; it is gone when the run
# ends. Colour on a terminal, none with NO_COLOR or --color=never; no
# escape byte at all when stdout is not a terminal; --progress=plain and
# TERM=dumb give the plain lines; Ctrl-C exits 130 with the run cancelled.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/tty.sh"
{
  echo "version: 1"
  echo "workflows:"
  echo "  w:"
  echo "    steps:"
  for i in $(seq -w 1 20); do
    echo "      - {id: s$i, uses: exec, with: {run: 'echo line-$i; while [ ! -e $T/go ]; do sleep 0.05; done'}}"
  done
} >"$T/wf.yaml"
"$ORCH" validate "$T/wf.yaml" >/dev/null || fail "the workflow does not validate"

# start COLS ROWS [ENV...] -- [ORCH ARGS...]: orch run in a fresh pane.
start() {
  rm -f "$T/go"
  tty_start "$@" run "${RUN_ARGS:-'$T/wf.yaml' w}"
}
summaries() { grep -cE '^  [0-9]+/20 done, [0-9]+ failed, [0-9]+ skipped, [0-9]+ running  ' "$T/screen" || true; }
area_up() { screen; [ "$(summaries)" = 1 ] && grep -qE '^  > s[0-9]{2}  [0-9.]+(ms|s)' "$T/screen"; }
# The run's time on the summary line, in seconds (at least 1 once moved).
area_moved() {
  screen
  grep -E '^  0/20 done, 0 failed, 0 skipped, [0-9]+ running  [0-9.]+s$' "$T/screen" |
    grep -qE '  ([1-9][0-9]*\.[0-9]+|[1-9][0-9]*)s$'
}
grep_started() { screen; grep -q '^\[s[0-9][0-9]\] line-' "$T/screen"; }

for size in "80 24" "160 40"; do
  set -- $size
  start "$1" "$2" -- ""
  wait_until "the status area at $1x$2" area_up
  wait_until "the run's time to move while nothing happens" area_moved
  # Redrawn in place: many redraws later, one summary line in the whole
  # scrollback, and each running step listed once.
  scrollback
  [ "$(summaries)" = 1 ] || { cat "$T/screen"; cat -v "$T/raw" | head -8; fail "$1x$2: the area is redrawn in place, not appended"; }
  dup=$(grep -oE '^  > s[0-9]{2} ' "$T/screen" | sort | uniq -d)
  [ -z "$dup" ] || { cat "$T/screen"; fail "$1x$2: a step listed twice: $dup"; }
  awk -v c="$1" 'length($0) > c {bad = 1} END {exit bad}' "$T/screen" ||
    fail "$1x$2: a line wider than the pane"
  touch "$T/go"
  wait_until "the run to end" ended
  [ "$(cat "$T/exit")" = 0 ] || fail "$1x$2: orch exited $(cat "$T/exit")"
  scrollback
  [ "$(summaries)" = 0 ] || { cat "$T/screen"; fail "$1x$2: the area is gone at the end"; }
  grep -qE '^run r-[a-z0-9]+ succeeded' "$T/screen" || { cat "$T/screen"; fail "$1x$2: the run's last line"; }
  [ "$(grep -cE '^ok s[0-9]{2} succeeded' "$T/screen")" = 20 ] || { cat "$T/screen"; fail "$1x$2: 20 ok lines"; }
  pass "$1x$2: running steps and counts in place, moving, gone at the end"
done

# Colour on a terminal; none with NO_COLOR, nor with --color=never.
start 80 24 -- ""
wait_until "the status area" area_up
touch "$T/go"
wait_until "the run to end" ended
screen_esc
grep -qF $'\e[32mok' "$T/screen" || { cat -v "$T/screen" | head; fail "ok in green on a terminal"; }
for how in "NO_COLOR=1 --" "-- --color=never"; do
  # shellcheck disable=SC2086
  start 80 24 $how
  wait_until "the status area ($how)" area_up
  touch "$T/go"
  wait_until "the run to end" ended
  screen_esc
  if grep -qE $'\e\\[(3[0-9]|1;3)' "$T/screen"; then cat -v "$T/screen" | head; fail "colour with $how"; fi
done
pass "colour on a terminal, none with NO_COLOR or --color=never"

# Plain lines: not a terminal (no escape byte at all), --progress=plain
# and TERM=dumb (no area).
touch "$T/go" # the steps end at once
"$ORCH" run "$T/wf.yaml" w >"$T/pipe.out" 2>&1 || fail "orch run into a pipe"
if grep -q $'\e' "$T/pipe.out"; then fail "an escape byte in output that is not a terminal"; fi
[ "$(grep -cE '^ok s[0-9]{2} succeeded' "$T/pipe.out")" = 20 ] || fail "the plain lines"
for how in "-- --progress=plain" "TERM=dumb --"; do
  # shellcheck disable=SC2086
  start 80 24 $how
  wait_until "the steps to start ($how)" grep_started
  screen
  [ "$(summaries)" = 0 ] || { cat "$T/screen"; fail "a status area with $how"; }
  touch "$T/go"
  wait_until "the run to end" ended
done
pass "plain lines when not a terminal (no escape byte), with --progress=plain and TERM=dumb"

# Ctrl-C: the run is cancelled, orch exits 130.
start 80 24 -- ""
wait_until "the status area" area_up
tty_keys C-c
wait_until "orch to exit after Ctrl-C" ended
[ "$(cat "$T/exit")" = 130 ] || fail "Ctrl-C: exit $(cat "$T/exit"), not 130"
run=$("$ORCH" --json runs list --limit 1 | jq_py "d[0]['id']")
[ "$("$ORCH" --json runs show "$run" | jq_py "d['state']")" = cancelled ] || fail "Ctrl-C cancels the run"
scrollback
[ "$(summaries)" = 0 ] || { cat "$T/screen"; fail "the area is gone after Ctrl-C"; }
pass "Ctrl-C: exit 130, the run cancelled, the area gone"

# What reaches stderr while the area is up (a plugin that writes to its
# executor's stderr, as careless ones do) scrolls above the area in whole
# lines: the area stays one block under them.
export ORCH_PLUGIN_PATH="$ORCH_TEST_PLUGIN_DIR"
{
  echo "version: 1"
  echo "workflows:"
  echo "  noisy:"
  echo "    steps:"
  echo "      - {id: hold, uses: exec, with: {run: 'while [ ! -e $T/go ]; do sleep 0.05; done'}}"
  echo "      - {id: noise, uses: crash, with: {mode: stderr}}"
} >"$T/noisy.yaml"
noise_up() { scrollback; [ "$(grep -cE '^plugin-noise-[1-5] straight to the executor.s stderr$' "$T/screen")" = 5 ]; }
RUN_ARGS="'$T/noisy.yaml' noisy" start 80 24 -- ""
wait_until "the plugin's stderr lines on the screen" noise_up
area2_up() { screen; [ "$(grep -cE '^  [0-9]/2 done, ' "$T/screen")" = 1 ] && grep -qE '^  > hold  ' "$T/screen"; }
wait_until "the area under them" area2_up
screen
last=$(grep -vE '^$' "$T/screen" | tail -1)
case $last in "  0/2 done, "*|"  1/2 done, "*) ;; *) cat "$T/screen"; fail "the area is not the last thing on the screen: '$last'" ;; esac
sed -n '/plugin-noise-1/,$p' "$T/screen" | grep -E '^  > hold' >/dev/null || { cat "$T/screen"; fail "the area is not under the stderr lines"; }
touch "$T/go"
wait_until "the run to end" ended
[ "$(cat "$T/exit")" = 0 ] || fail "the noisy run exited $(cat "$T/exit")"
scrollback
[ "$(summaries)" = 0 ] && ! grep -qE '^  [0-9]+/2 done' "$T/screen" || { cat "$T/screen"; fail "a piece of the area stayed among the stderr lines"; }
pass "stderr written while the area is up scrolls above it in whole lines"

# What orch says after the run, or instead of it, stays on the screen and
# no piece of the area stays above it: a parked run's "waits for a
# decision", an idempotent repeat's "already exists".
cat >"$T/gate.yaml" <<'EOF2'
version: 1
workflows:
  gate:
    steps:
      - {id: ok, uses: approval, with: {message: "go?"}}
  once:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF2
"$ORCH" run "$T/gate.yaml" once --idempotency-key k1 >/dev/null || fail "the first run with key k1"
for how in "gate|waits for a decision" "once --idempotency-key k1|already exists for idempotency key"; do
  RUN_ARGS="'$T/gate.yaml' ${how%%|*}" start 80 24 -- ""
  wait_until "orch to end (${how%%|*})" ended
  scrollback
  grepq "${how#*|}" "$T/screen" || { cat "$T/screen"; fail "orch's last words are on the screen (${how%%|*})"; }
  if grep -qE '^  [0-9]+/1 done' "$T/screen"; then cat "$T/screen"; fail "a piece of the area stayed (${how%%|*})"; fi
done
pass "a parked run's and an idempotent repeat's last words stay, no piece of the area above them"

# A matrix step's instances are steps of the run: the area's total grows
# by them once the step expands (1 step, 3 instances: 4 in all).
cat >"$T/mx.yaml" <<EOF2
version: 1
workflows:
  mx:
    steps:
      - id: m
        uses: exec
        strategy: {matrix: {n: [1, 2, 3]}}
        with: {run: 'while [ ! -e $T/go ]; do sleep 0.05; done'}
EOF2
RUN_ARGS="'$T/mx.yaml' mx" start 80 24 -- ""
mx_up() { screen; grep -qE '^  0/4 done, 0 failed, 0 skipped, 3 running  ' "$T/screen"; }
wait_until "the area to count the matrix's instances" mx_up
touch "$T/go"
wait_until "the matrix run to end" ended
[ "$(cat "$T/exit")" = 0 ] || fail "the matrix run exited $(cat "$T/exit")"
scrollback
grepq '=> m: 3 instances' "$T/screen" || { cat "$T/screen"; fail "no line for the expansion"; }
pass "a matrix step's instances count in the area's total"
