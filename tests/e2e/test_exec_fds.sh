# An executor runs many commands (the engine's pool keeps it): a command
# that cannot start (its program not found) leaves no descriptor open in
# it. Three pipes leaked each time once filled an executor's table, after
# which every command it was given failed with "Too many open files".
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
{
  echo "version: 1"
  echo "server:"
  echo "  tokens: [{name: writer, sha256: HASH_writer, role: write}, {name: reader, sha256: HASH_reader, role: read}]"
  echo "worker: {tick: 100ms}"
  echo "workflows:"
  echo "  missing:"
  echo "    steps:"
  for i in $(seq 1 40); do
    echo "      - {id: m$i, uses: exec, with: {argv: [no-such-program-for-orch]}}"
  done
  echo "  one:"
  echo "    steps:"
  echo "      - {id: a, uses: exec, with: {run: 'true'}}"
} | od_config "$T/orchd.yaml"
od_start "$T/orchd.yaml"
# The most descriptors any executor of orchd's pool holds.
exec_fds() {
  local p n max=0
  for p in $(pgrep -P "$OD_PID" -f orch-exec || true); do
    n=$(ls /proc/"$p"/fd 2>/dev/null | wc -l)
    [ "$n" -gt "$max" ] && max=$n
  done
  echo "$max"
}
api POST /v1/runs '{"workflow": "one"}'
expect_http 201 "a run that starts the pool"
od_wait_run "$(resp "d['run']['id']")" succeeded
before=$(exec_fds)
[ "$before" -gt 0 ] || fail "no executor of orchd's pool found"
for round in 1 2 3; do
  api POST /v1/runs '{"workflow": "missing"}'
  expect_http 201 "a run of programs not found"
  od_wait_run "$(resp "d['run']['id']")" failed
done
api GET "/v1/runs/$(resp "d['run']['id']")" "" reader
resp "d['run']['steps'][0]['attempts'][0]['error']" | grepq "no-such-program-for-orch" ||
  fail "the step says which program was not found: $(cat "$T/resp")"
after=$(exec_fds)
[ "$after" -lt $((before + 10)) ] ||
  fail "120 programs not found left descriptors open in an executor: $before -> $after"
pass "programs not found leave no descriptor open in the executors ($before -> $after)"
