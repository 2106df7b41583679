# A 1000-step fan-out/fan-in completes with every step recorded once.
. "$(dirname "$0")/../lib/common.sh"
n=1000
{
  echo "version: 1"
  echo "workflows:"
  echo "  fan:"
  echo "    concurrency: 16"
  echo "    steps:"
  echo "      - {id: root, uses: exec, with: {run: 'true'}}"
  for ((i = 0; i < n; i++)); do
    echo "      - {id: s$i, uses: exec, needs: [root], with: {run: 'echo $i'}}"
  done
  printf "      - id: join\n        uses: exec\n        needs: ["
  for ((i = 0; i < n; i++)); do printf "s%d%s" "$i" $([ $i -lt $((n - 1)) ] && echo ", "); done
  printf "]\n        with: {run: 'echo joined'}\n"
} >"$T/fan.yaml"
o run "$T/fan.yaml" fan --concurrency 4
expect_rc 0 "fan-out succeeds"
expect_out "joined" "the join step ran"
id=$(last_run_id)
count=$(run_json "$id" | jq_py "len([a for a in d['attempts'] if a['state']=='succeeded'])")
[ "$count" -eq $((n + 2)) ] || fail "expected $((n + 2)) succeeded attempts, got $count"
pass "fanout"
