# Run retention with the PostgreSQL store and an S3 artifacts store:
# orch gc --dry-run removes nothing, orch gc deletes exactly the old ended
# runs' rows (checked with psql) and their S3 objects (checked with the
# independent client, awscli), a young run keeps both, and artifacts:
# removes an object while its run stays. On the services scripts/test.sh
# starts (scripts/services/postgres.sh, s3.sh).
source "$(dirname "$0")/../lib/common.sh"
: "${ORCH_S3_ENDPOINT:?the S3 server is not running: run scripts/test.sh, which starts it}"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
command -v aws >/dev/null || fail "awscli is needed to check the objects (apt-get install awscli)"
prefix="t-ret-$$-$RANDOM"
schema="t_ret_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
awss3() { aws --endpoint-url "$ORCH_S3_ENDPOINT" s3api "$@"; }
cleanup() {
  psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
  aws --endpoint-url "$ORCH_S3_ENDPOINT" s3 rm --recursive "s3://orch-test/$prefix/" >/dev/null 2>&1 || true
  t_cleanup
}
trap cleanup EXIT
export ORCH_SECRET_S3_KEY=S3RVER ORCH_SECRET_S3_SECRET=S3RVER ORCH_SECRET_PG_URL="$ORCH_PG_URL"
head -c 300000 /dev/urandom >"$T/a.bin"
config() { # FILE RETENTION-LINE
  cat >"$1" <<YAML
version: 1
store:
  uses: postgres
  migrate: on_start
  with: {conninfo: "\${{ secrets.PG_URL }}", schema: $schema}
artifacts:
  uses: s3
  with:
    endpoint: $ORCH_S3_ENDPOINT
    bucket: orch-test
    path_style: true
    prefix: $prefix
    access_key: \${{ secrets.S3_KEY }}
    secret_key: \${{ secrets.S3_SECRET }}
$2
defaults:
  host_paths: ["$T"]
workflows:
  ok:
    steps:
      - {id: log, uses: exec, with: {run: "echo some output"}}
      - {id: keep, uses: file, with: {action: copy, from: "host:$T/a.bin", to: "artifact:out/a.bin"}}
  bad:
    steps:
      - {id: keep, uses: file, with: {action: copy, from: "host:$T/a.bin", to: "artifact:b.bin"}}
      - {id: no, uses: exec, needs: [keep], with: {run: "exit 4"}}
YAML
}
config "$T/wf.yaml" ""
config "$T/gc.yaml" "retention: {succeeded: 1d, failed: 1d}"
config "$T/art.yaml" "retention: {artifacts: 1d}"
objects() { # RUN: the keys under the run's prefix, one a line
  awss3 list-objects-v2 --bucket orch-test --prefix "$prefix/runs/$1/" >"$T/list.json"
  [ -s "$T/list.json" ] || return 0 # no Contents: s3api prints nothing
  jq_py "'\n'.join(sorted(o['Key'] for o in d.get('Contents', [])))" <"$T/list.json"
}
rows() {
  psql_q "SELECT (SELECT count(*) FROM $schema.runs WHERE id='$1') +
                 (SELECT count(*) FROM $schema.events WHERE run_id='$1') +
                 (SELECT count(*) FROM $schema.logs WHERE run_id='$1') +
                 (SELECT count(*) FROM $schema.attempts WHERE run_id='$1')"
}
last() { "$ORCH" -c "$T/wf.yaml" --json runs list --limit 1 | jq_py "d[0]['id']"; }

o run "$T/wf.yaml" ok; expect_rc 0 "ok"
R1=$(last)
o run "$T/wf.yaml" bad; expect_rc 1 "bad"
R2=$(last)
[ -n "$(objects "$R1")" ] && [ -n "$(objects "$R2")" ] || fail "the runs' objects are not in S3"
# The clock is the test's (as in e2e/test_retention): T1 is taken between
# the old runs and the young one, and gc judges at T1 + 1 day, so with
# limits of a day the cutoff is T1 whatever the load.
plus_day() { python3 -c 'import sys,datetime as d; t=d.datetime.strptime(sys.argv[1][:26]+"Z","%Y-%m-%dT%H:%M:%S.%fZ")+d.timedelta(days=1); print(t.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))' "$1"; }
AT=$(plus_day "$(date -u +%Y-%m-%dT%H:%M:%S.%NZ)")
AT2=$(plus_day "$AT")
o run "$T/wf.yaml" ok; expect_rc 0 "young ok"
R3=$(last)

o gc --dry-run --now "$AT" "$T/gc.yaml"
expect_rc 0 "dry run"
expect_out "would delete run $R1" "R1 listed"
expect_out "would delete run $R2" "R2 listed"
expect_no_out "$R3" "the young run"
[ -n "$(objects "$R1")" ] && [ "$(rows "$R1")" -gt 0 ] || fail "--dry-run removed something"
pass "postgres + s3: --dry-run lists the old runs and removes nothing"

o --json gc --now "$AT" "$T/gc.yaml"
expect_rc 0 "gc"
cp "$T/out" "$T/gc.json"
[ "$(jq_py "d['retention']['runs']" <"$T/gc.json")" = 2 ] &&
  [ "$(jq_py "d['retention']['blobs']" <"$T/gc.json")" = 2 ] || fail "report: $(cat "$T/gc.json")"
for r in "$R1" "$R2"; do
  [ -z "$(objects "$r")" ] || fail "S3 still holds objects of $r: $(objects "$r")"
  [ "$(rows "$r")" = 0 ] || fail "PostgreSQL still holds $(rows "$r") rows of $r"
done
[ "$(objects "$R3")" = "$prefix/runs/$R3/artifacts/out/a.bin" ] || fail "the young run's object: $(objects "$R3")"
awss3 get-object --bucket orch-test --key "$prefix/runs/$R3/artifacts/out/a.bin" "$T/got" >/dev/null
cmp -s "$T/got" "$T/a.bin" || fail "the young run's object changed"
[ "$(rows "$R3")" -gt 0 ] || fail "the young run's rows went"
pass "postgres + s3: gc deletes the old runs' rows and S3 objects, keeps the young run's"

"$ORCH" --json gc --dry-run --now "$AT2" "$T/art.yaml" >"$T/adry.json" || fail "gc --dry-run artifacts"
jq_py "any(r['run']=='$R3' for r in d['retention']['list'])" <"$T/adry.json" | grepq True ||
  fail "the young run's artifacts are not listed: $(cat "$T/adry.json")"
o gc --now "$AT2" "$T/art.yaml"
expect_rc 0 "gc artifacts"
[ -z "$(objects "$R3")" ] || fail "the expired artifact's object stayed"
[ "$(psql_q "SELECT state FROM $schema.runs WHERE id='$R3'")" = 4 ] || fail "the run went with its artifacts"
o -c "$T/wf.yaml" runs artifact "$R3" out/a.bin --output "$T/x"
[ "$RC" -ne 0 ] || fail "an expired artifact was served"
expect_out "expired at" "the answer says it expired"
pass "postgres + s3: artifacts: removes the object, the run stays and says expired"

# --- Two orchd on the one database sweep it: every old failed run goes,
# with its rows and objects, exactly once between them (the counters of
# the two add up to the runs there were: none deleted, or counted, twice),
# and the runs retention keeps stay.
BAD=()
for i in 1 2 3 4; do
  o run "$T/wf.yaml" bad; expect_rc 1 "bad $i"
  BAD+=("$(last)")
done
for r in "${BAD[@]}"; do [ -n "$(objects "$r")" ] || fail "no object of $r"; done
config "$T/od.yaml" "retention: {failed: 1s}
worker: {tick: 100ms, retention_every: 1s, lease_ttl: 3s}"
DPIDS=()
for n in 1 2; do
  "$ORCH_BIN/orchd" --config "$T/od.yaml" --listen "unix:$T/d$n.sock" >>"$T/d$n.log" 2>&1 &
  DPIDS[$n]=$!
  T_PIDS+=("$!")
done
metric() { # N NAME: the daemon's value of an unlabelled metric
  curl -sf --unix-socket "$T/d$1.sock" http://orchd/metrics | sed -n "s/^$2 \([0-9]*\)\$/\1/p"
}
up() {
  alive "${DPIDS[$1]}" || { cat "$T/d$1.log" >&2; fail "daemon $1 exited at start"; }
  curl -sf --unix-socket "$T/d$1.sock" http://orchd/health >/dev/null
}
for n in 1 2; do wait_until "daemon $n to answer" up $n; done
all_gone() {
  local r
  for r in "${BAD[@]}"; do
    [ "$(rows "$r")" = 0 ] && [ -z "$(objects "$r")" ] || return 1
  done
}
wait_until "the two daemons to sweep the failed runs away" all_gone
# Each daemon sweeps twice more after that, so a late double delete would
# be counted before the sums are read.
base1=$(metric 1 orch_retention_sweeps_total) base2=$(metric 2 orch_retention_sweeps_total)
two_more() {
  [ "$(metric 1 orch_retention_sweeps_total)" -ge $((base1 + 2)) ] &&
    [ "$(metric 2 orch_retention_sweeps_total)" -ge $((base2 + 2)) ]
}
wait_until "two more sweeps of each daemon" two_more
runs_sum=$(($(metric 1 orch_retention_runs_deleted_total) + $(metric 2 orch_retention_runs_deleted_total)))
blobs_sum=$(($(metric 1 orch_retention_blobs_deleted_total) + $(metric 2 orch_retention_blobs_deleted_total)))
[ "$runs_sum" = 4 ] || fail "the daemons counted $runs_sum runs deleted, for 4 runs"
[ "$blobs_sum" = 4 ] || fail "the daemons counted $blobs_sum blobs deleted, for 4 objects"
[ "$(rows "$R3")" -gt 0 ] || fail "the daemons deleted the succeeded run (no limit for it)"
for n in 1 2; do
  alive "${DPIDS[$n]}" || { cat "$T/d$n.log"; fail "daemon $n exited"; }
  if grep -q '"level":"warn".*retention' "$T/d$n.log"; then
    cat "$T/d$n.log" >&2; fail "daemon $n warned while sweeping"
  fi
done
pass "postgres + s3: two orchd sweep one database, each old run removed once ($runs_sum runs, $blobs_sum objects)"
