# Helpers for bench/run.sh: timing a command several times and writing one
# row of the results table (median, min, max in ms, the exact command).
# Source after setting OUT (the results TSV) and REPEATS.

now_ns() { date +%s%N; }

# measure WORKLOAD TOOL SETUP-CMD -- CMD...: SETUP-CMD (a shell string, may
# be "") runs before each timed repeat, untimed (a fresh state dir, say).
measure() {
  local workload=$1 tool=$2 setup=$3
  shift 4
  local times=() i t0 t1
  for ((i = 0; i < REPEATS; i++)); do
    [ -n "$setup" ] && eval "$setup"
    t0=$(now_ns)
    "$@" >/dev/null 2>&1 || { echo "bench: $tool failed: $*" >&2; times+=(NaN); continue; }
    t1=$(now_ns)
    times+=($(((t1 - t0) / 1000)))
  done
  python3 - "$OUT" "$workload" "$tool" "$*" "${times[@]}" <<'PY'
import statistics, sys
out, workload, tool, cmd, *ts = sys.argv[1:]
us = [int(t) for t in ts if t != "NaN"]
with open(out, "a") as f:
    if us:
        f.write(f"{workload}\t{tool}\t{statistics.median(us)/1000:.2f}\t{min(us)/1000:.2f}\t"
                f"{max(us)/1000:.2f}\t{len(us)}\t{cmd}\n")
    else:
        f.write(f"{workload}\t{tool}\tfailed\t\t\t0\t{cmd}\n")
PY
}

# row WORKLOAD TOOL VALUE UNIT NOTE: a measured figure that is not a time.
row() {
  printf '%s\t%s\t%s\t\t\t1\t%s %s\n' "$1" "$2" "$3" "$4" "$5" >>"$OUT"
}
