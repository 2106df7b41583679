# Helpers of the never-two-copies tests (e2e/test_no_double_exec.sh,
# integration/test_ssh_no_double_exec.sh). Source after common.sh.

# nd_kill_copies: what a broken build leaves behind must not outlive the
# test (call from the EXIT trap).
nd_kill_copies() {
  local p g
  for p in $(cat "$T"/*/pids 2>/dev/null); do
    g=$(sed 's/.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f3) || continue
    [ -n "$g" ] && [ "$g" -gt 1 ] && kill -9 -- "-$g" 2>/dev/null || true
    kill -9 "$p" 2>/dev/null || true
  done
}

# nd_step_script DIR: DIR/step.sh, the step's command. Each copy takes a
# lock (flock -n) that it and its children hold until all are gone, and
# checks that no earlier copy is alive: either failing writes OVERLAP.
nd_step_script() {
  local d=$1
  mkdir -p "$d"
  cat >"$d/step.sh" <<SH
exec 9>>"$d/lock"
if ! flock -n 9; then echo "OVERLAP: the lock is held, pid \$\$" >>"$d/overlap"; exit 1; fi
for p in \$(cat "$d/pids" 2>/dev/null); do
  st=\$(sed 's/.*) //' /proc/\$p/stat 2>/dev/null | cut -c1)
  if [ -n "\$st" ] && [ "\$st" != Z ]; then echo "OVERLAP: copy \$p is alive" >>"$d/overlap"; fi
done
echo \$\$ >>"$d/pids"
echo "\$\$ start \$(date +%s%N)" >>"$d/log"
n=\$(wc -l <"$d/pids")
touch "$d/started.\$n"
# The first copy sleeps until killed; a later one ends once released.
# (Deciding by the release file alone raced: a release touched just after
# started.1 let the first copy end on its own.)
if [ "\$n" = 1 ] || [ ! -e "$d/release" ]; then sleep 600; fi
echo "\$\$ end \$(date +%s%N)" >>"$d/log"
SH
}

# nd_check DIR CASE: two copies started, one ended, the first is gone, no
# overlap.
nd_check() {
  local d=$1 first
  [ ! -e "$d/overlap" ] || fail "$2: $(cat "$d/overlap")"
  [ "$(grep -c ' start ' "$d/log")" = 2 ] || fail "$2: expected two starts: $(cat "$d/log")"
  [ "$(grep -c ' end ' "$d/log")" = 1 ] || fail "$2: expected one end: $(cat "$d/log")"
  first=$(head -1 "$d/pids")
  ! alive "$first" || fail "$2: the first copy ($first) is still running"
}

# nd_run_then_kill_orch DIR: `orch run DIR/wf.yaml w` in the background,
# killed (-9) once the step's command has started; the run's id in $id.
nd_run_then_kill_orch() {
  local d=$1 orch_pid
  "$ORCH" run "$d/wf.yaml" w >"$d/run.out" 2>&1 &
  orch_pid=$!
  T_PIDS+=("$orch_pid")
  wait_file "$d/started.1" 60
  id=$(last_run_id)
  kill -9 "$orch_pid"
  wait "$orch_pid" 2>/dev/null || true
}
