# The web UI in a real browser: Debian's chromium, headless, driven by
# puppeteer-core (tests/lib/ui_browser.mjs) against orchd on a TCP port.
# Log in through the page; the runs list shows a run started over the API
# and keeps the focus across refreshes; the run page's graph has one node
# per step, the workflow's edges and live states while the steps wait for
# files this test creates; a step's log streams, stdout and stderr marked;
# an approval is approved through its generated form (reached with Tab)
# and the run succeeds, another is rejected from it; cancel and requeue
# work; a run starts from the workflows page's form; a call step's child
# run is linked both ways; a read token sees no action buttons; no console
# error, no CSP violation, no request to another origin. Screenshots of
# each page go to $ORCH_BUILD_DIR/ui-screenshots/.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/npm_tools.sh"
[ -x /usr/bin/chromium ] || fail "chromium is needed (scripts/deps.sh --test installs it)"
BROWSER_TOOLS=$(browser_tools) || fail "cannot install puppeteer-core"
export BROWSER_TOOLS

GO=$T/go
mkdir -p "$GO"
od_config "$T/orchd.yaml" <<EOF2
version: 1
$OD_SERVER
worker: {tick: 100ms}
workflows:
  flow:
    steps:
      - id: prep
        uses: exec
        with: {run: "echo hello-out; echo hello-err >&2; while [ ! -e $GO/prep ]; do sleep 0.1; done"}
      - id: build
        uses: exec
        needs: [prep]
        with: {run: "while [ ! -e $GO/build ]; do sleep 0.1; done; echo built"}
      - id: test
        uses: exec
        needs: [prep]
        with: {run: "echo tested"}
      - id: gate
        uses: approval
        needs: [build, test]
        with:
          message: "Ship it?"
          inputs: {ticket: string, replicas: number, force: boolean}
          required: [ticket]
      - id: ship
        uses: exec
        needs: [gate]
        with: {run: "echo shipping \${{ steps.gate.outputs.approved }}"}
  greet:
    description: "Say hello"
    inputs:
      who: {default: world}
      times: {type: number, default: 2}
      loud: {type: boolean, default: false}
      color: {type: choice, options: [red, blue], required: true}
    steps:
      - id: say
        uses: exec
        with: {run: "echo hello \${{ inputs.who }} \${{ inputs.times }} \${{ inputs.loud }} \${{ inputs.color }}"}
  outer:
    steps:
      - id: call
        uses: workflow:greet
        with: {who: child, color: red}
  slow:
    steps:
      - id: wait
        uses: exec
        with: {run: "echo waiting; while [ ! -e $GO/never ]; do sleep 0.1; done"}
EOF2
PORT=$(free_port)
# A browser needs TCP: od_start's unix socket will not do.
"$ORCHD" --config "$T/orchd.yaml" --listen "127.0.0.1:$PORT" >>"$T/orchd.log" 2>&1 &
T_PIDS+=($!)
wait_until "orchd on 127.0.0.1:$PORT" curl -sf "http://127.0.0.1:$PORT/health" -o /dev/null

SHOTS=${ORCH_BUILD_DIR:-$ORCH_BIN/..}/ui-screenshots
mkdir -p "$SHOTS"
export UI_BASE="http://127.0.0.1:$PORT" UI_SHOTS=$SHOTS UI_GO=$GO
node "$ORCH_SOURCE_DIR/tests/lib/ui_browser.mjs" || fail "the browser test failed (above)"
for f in login runs run step-log approval cancelled workflows reader; do
  [ -s "$SHOTS/$f.png" ] || fail "no screenshot $SHOTS/$f.png"
done
pass "the web UI works in Chromium (screenshots in $SHOTS)"
