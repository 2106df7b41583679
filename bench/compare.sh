#!/usr/bin/env bash
# bench/compare.sh BEFORE AFTER [REPEATS]: orch at two commits on the same
# workloads as bench/run.sh, in one run, each repeat timing BEFORE then
# AFTER back to back, so a change of the machine's load falls on both
# sides alike. Writes bench/results/compare.md: per workload the median,
# min and max of each side, AFTER/BEFORE, and whether the difference is
# within the noise (the larger of the two sides' max-min spread). This is
# how a refactoring shows that no row got slower; it measures orch only
# (bench/run.sh is the comparison with other tools).
#
# The Docker, Fly and PostgreSQL rows run when ORCH_DOCKER_SOCKET,
# ORCH_FLY_URL (+ ORCH_FLY_TOKEN) and ORCH_PG_URL name running services
# (scripts/services/*.sh start them); a row without its service is written
# as "not measured", never guessed. Services are used, never restarted.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { echo "usage: bench/compare.sh BEFORE AFTER [REPEATS]" >&2; exit 2; }
REPEATS=${3:-5}
res="$src/bench/results"
mkdir -p "$res"
w=$(mktemp -d /tmp/orch-compare.XXXXXX)
trees=()
cleanup() {
  local t
  for t in "${trees[@]}"; do git -C "$src" worktree remove --force "$t" >/dev/null 2>&1 || true; done
  rm -rf "$w"
}
trap cleanup EXIT

# One Release build per side, in a detached worktree of its own.
declare -A BIN
for side in before after; do
  rev=$([ "$side" = before ] && echo "$1" || echo "$2")
  sha=$(git -C "$src" rev-parse --verify "$rev^{commit}") ||
    { echo "bench/compare: no commit $rev" >&2; exit 2; }
  t="$w/tree-$side"
  git -C "$src" worktree add --detach -q "$t" "$sha"
  trees+=("$t")
  "$t/scripts/build.sh" "$t/build" -DCMAKE_BUILD_TYPE=Release >"$w/build-$side.log" 2>&1 ||
    { echo "bench/compare: the $side build ($rev) failed: $w/build-$side.log" >&2; exit 1; }
  BIN[$side]="$t/build"
  echo "bench/compare: $side = $rev ($sha)"
done

python3 "$src/bench/gen.py" "$w"
cd "$w"
OUT="$w/times.tsv"
: >"$OUT"

# timed SIDE WORKLOAD SETUP -- CMD...: one timed run, appended to OUT in
# microseconds; a failed command is recorded as failed, not as a time.
timed() {
  local side=$1 workload=$2 setup=$3 t0 t1
  shift 4
  [ -n "$setup" ] && eval "$setup"
  t0=$(date +%s%N)
  if "$@" >/dev/null 2>"$w/last.err"; then
    t1=$(date +%s%N)
    printf '%s\t%s\t%s\n' "$workload" "$side" $(((t1 - t0) / 1000)) >>"$OUT"
  else
    printf '%s\t%s\tfailed\n' "$workload" "$side" >>"$OUT"
    echo "bench/compare: $workload ($side) failed: $(head -c 300 "$w/last.err")" >&2
  fi
}
orch_of() { echo "${BIN[$1]}/bin/orch"; }
exec_of() { echo "${BIN[$1]}/libexec/orch/orch-exec"; }

unmeasured=()
if [ -n "${ORCH_DOCKER_SOCKET:-}" ]; then
  cat >dock.yaml <<YAML
version: 1
backends:
  box: {uses: docker, with: {socket: $ORCH_DOCKER_SOCKET, image: orch-test/tools:2, pull: never, network: none}}
workflows:
  one:
    steps:
      - {id: a, uses: exec, with: {argv: ["true"]}}
YAML
else
  unmeasured+=("docker-first-step (ORCH_DOCKER_SOCKET unset)")
fi
if [ -n "${ORCH_FLY_URL:-}" ]; then
  export ORCH_SECRET_FLY=${ORCH_FLY_TOKEN:-orch-test-fly-token}
  cat >fly.yaml <<YAML
version: 1
backends:
  fly: {uses: fly-machines, with: {api_url: "$ORCH_FLY_URL", token: "\${{ secrets.FLY }}", app: bench-compare, create_app: true, image: orch-test/tools:2}}
workflows:
  one:
    steps:
      - {id: a, uses: exec, with: {argv: ["true"]}}
YAML
else
  unmeasured+=("fly-create-exec-destroy (ORCH_FLY_URL unset)")
fi
[ -n "${ORCH_PG_URL:-}" ] || unmeasured+=("durable-queue (ORCH_PG_URL unset)")
Q=${BENCH_QUEUE_N:-2000}

for ((i = 0; i < REPEATS; i++)); do
  for side in before after; do
    o=$(orch_of $side)
    export ORCH_EXEC=$(exec_of $side) ORCH_LOG_LEVEL=error
    timed $side chain-200 "rm -rf st" -- "$o" --state-dir st run chain.yaml chain
    timed $side fan-1000 "rm -rf st" -- "$o" --state-dir st run fan.yaml fan
    timed $side start-1 "rm -rf st" -- "$o" --state-dir st run one.yaml one
    [ -f dock.yaml ] && timed $side docker-first-step "rm -rf st" -- "$o" --state-dir st run dock.yaml one
    [ -f fly.yaml ] && timed $side fly-create-exec-destroy "rm -rf st" -- "$o" --state-dir st run fly.yaml one
    if [ -n "${ORCH_PG_URL:-}" ]; then
      ms=$("$src/bench/queue/orch.sh" "${BIN[$side]}/bin/orchd" "$ORCH_PG_URL" "$Q" "$w" 2>/dev/null | tail -1) || ms=
      if [[ "$ms" =~ ^[0-9]+$ ]]; then
        printf 'durable-queue-%s\t%s\t%s\n' "$Q" "$side" $((ms * 1000)) >>"$OUT"
      else
        printf 'durable-queue-%s\t%s\tfailed\n' "$Q" "$side" >>"$OUT"
      fi
    fi
  done
done

python3 - "$OUT" "$res/compare.md" "$1" "$2" "$REPEATS" "$(cut -d' ' -f1-3 /proc/loadavg)" \
  "${unmeasured[@]}" <<'PY'
import statistics, sys
out, md, before, after, repeats, load, *unmeasured = sys.argv[1:]
rows = {}
for line in open(out):
    wl, side, us = line.rstrip("\n").split("\t")
    rows.setdefault(wl, {"before": [], "after": [], "failed": 0})
    if us == "failed":
        rows[wl]["failed"] += 1
    else:
        rows[wl][side].append(int(us) / 1000)
lines = [f"# orch {before} -> {after}: {repeats} interleaved repeats", "",
         f"Load (1/5/15 min) at the end: {load}.", "",
         "| workload | before median (min-max) ms | after median (min-max) ms | after/before | verdict |",
         "|---|---|---|---|---|"]
for wl, r in rows.items():
    b, a = r["before"], r["after"]
    if not b or not a or r["failed"]:
        lines.append(f"| {wl} | {len(b)} runs | {len(a)} runs | - | {r['failed']} failed runs |")
        continue
    mb, ma = statistics.median(b), statistics.median(a)
    noise = max(max(b) - min(b), max(a) - min(a))
    verdict = ("too few repeats to tell" if min(len(a), len(b)) < 3
               else "within noise" if abs(ma - mb) <= noise
               else ("slower" if ma > mb else "faster") + " beyond noise")
    lines.append(f"| {wl} | {mb:.1f} ({min(b):.1f}-{max(b):.1f}) | {ma:.1f} ({min(a):.1f}-{max(a):.1f}) "
                 f"| {ma / mb:.3f} | {verdict} |")
for u in unmeasured:
    lines.append(f"| {u} | not measured | | | |")
open(md, "w").write("\n".join(lines) + "\n")
print("\n".join(lines))
PY
