# Shared artifact namespaces with the PostgreSQL state store and the S3
# artifacts store (the services scripts/test.sh starts): versions written
# by CLI runs land as objects PREFIX/ns/NS/NAME@V (checked with the
# independent client, awscli, byte for byte against sha256sum); two orchd
# on the one PostgreSQL run four writers at once (released together by a
# barrier file), which get versions 1-4, each holding its own writer's
# bytes, allocated through the database (its ledger rows checked with
# psql); the API lists and serves them to a read token, which cannot start
# a run; hostile names are 400 and reach no object; keep prunes objects.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_S3_ENDPOINT:?the S3 server is not running: run scripts/test.sh, which starts it}"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
command -v aws >/dev/null || fail "awscli is needed to check the objects (apt-get install awscli)"
prefix="t-ns-$$-$RANDOM"
schema="t_ns_$$_$RANDOM"
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
sha() { sha256sum "$1" | cut -d' ' -f1; }
objects() { # PREFIX-BELOW: the keys, one a line
  awss3 list-objects-v2 --bucket orch-test --prefix "$prefix/$1" >"$T/list.json"
  [ -s "$T/list.json" ] || return 0
  jq_py "'\n'.join(sorted(o['Key'] for o in d.get('Contents', [])))" <"$T/list.json"
}
object_sha() { # KEY-BELOW
  awss3 get-object --bucket orch-test --key "$prefix/$1" "$T/obj" >/dev/null || fail "get-object $1"
  sha "$T/obj"
}

od_config "$T/wf.yaml" <<YAML
version: 1
$OD_SERVER
worker: {tick: 100ms, lease_ttl: 5s, max_runs: 4}
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
  namespaces:
    cache: {}
    race: {}
    small: {keep: 1}
defaults:
  host_paths: ["$T"]
workflows:
  put:
    inputs: {src: {type: string}, ns: {type: string, default: cache}}
    steps:
      - {id: put, uses: file, with: {action: copy, from: "host:$T/\${{ inputs.src }}", to: "artifact:ns/\${{ inputs.ns }}/x.bin"}}
  racer:
    inputs: {who: {type: string}}
    steps:
      - id: barrier
        uses: exec
        with: {run: "touch '$T/ready-\${{ inputs.who }}'; while [ ! -e '$T/go' ]; do sleep 0.02; done"}
      - {id: write, needs: [barrier], uses: file, with: {action: copy, from: "host:$T/race-\${{ inputs.who }}.bin", to: "artifact:ns/race/r.bin"}}
YAML

# --- CLI runs on PostgreSQL + S3: v1, v2 as objects
head -c 300000 /dev/urandom >"$T/a.bin"
head -c 200000 /dev/urandom >"$T/b.bin"
o run "$T/wf.yaml" put --input src=a.bin; expect_rc 0 "run A"
o run "$T/wf.yaml" put --input src=b.bin; expect_rc 0 "run B"
[ "$(objects ns/cache/)" = "$prefix/ns/cache/x.bin@1
$prefix/ns/cache/x.bin@2" ] || fail "the objects: $(objects ns/cache/)"
[ "$(object_sha ns/cache/x.bin@1)" = "$(sha "$T/a.bin")" ] || fail "object @1 is not A's bytes"
[ "$(object_sha ns/cache/x.bin@2)" = "$(sha "$T/b.bin")" ] || fail "object @2 is not B's bytes"
"$ORCH" -c "$T/wf.yaml" runs artifact --namespace cache x.bin -o "$T/latest.bin" || fail "the CLI's latest"
cmp -s "$T/latest.bin" "$T/b.bin" || fail "the latest is not B's bytes"
[ "$(psql_q "SELECT count(*) FROM $schema.events WHERE run_id='ns/cache' AND type='artifact.ns.allocated'")" = 2 ] ||
  fail "the versions are not in the database's ledger"
pass "versions 1 and 2 as S3 objects ns/cache/x.bin@N (awscli, sha256sum), allocated in PostgreSQL"

# keep: 1 deletes the object of the older version
o run "$T/wf.yaml" put --input src=a.bin --input ns=small; expect_rc 0 "small 1"
o run "$T/wf.yaml" put --input src=b.bin --input ns=small; expect_rc 0 "small 2"
[ "$(objects ns/small/)" = "$prefix/ns/small/x.bin@2" ] || fail "keep 1 left: $(objects ns/small/)"
pass "keep: 1 removed the older version's object"

# --- two orchd on the one PostgreSQL, four writers at once
for w in 1 2 3 4; do head -c 3000000 /dev/urandom >"$T/race-$w.bin"; done
OD_SOCK="$T/d1.sock" od_start "$T/wf.yaml"
P1=$OD_PID
OD_SOCK="$T/d2.sock"
od_start "$T/wf.yaml"
declare -A RUN_OF
for w in 1 2 3 4; do
  OD_SOCK="$T/d$(((w % 2) + 1)).sock"
  api POST /v1/runs "{\"workflow\":\"racer\",\"inputs\":{\"who\":\"$w\"}}" writer
  expect_http 201 "racer $w started through the API"
  RUN_OF[$w]=$(resp "d['run']['id']")
done
for w in 1 2 3 4; do wait_file "$T/ready-$w" 120; done
touch "$T/go"
for w in 1 2 3 4; do od_wait_run "${RUN_OF[$w]}" succeeded 120; done
api GET /v1/artifacts/namespaces/race "" reader
expect_http 200 "the list with a read token"
[ "$(resp "sorted(v['version'] for v in d['versions'])")" = "[1, 2, 3, 4]" ] || fail "four writers: $(cat "$T/resp")"
cp "$T/resp" "$T/race.json"
for v in 1 2 3 4; do
  run=$(jq_py "[x['run'] for x in d['versions'] if x['version']==$v][0]" <"$T/race.json")
  w=
  for k in 1 2 3 4; do [ "${RUN_OF[$k]}" = "$run" ] && w=$k; done
  [ -n "$w" ] || fail "version $v names no racer: $run"
  [ "$(object_sha "ns/race/r.bin@$v")" = "$(sha "$T/race-$w.bin")" ] || fail "object @$v is not racer $w's bytes"
  curl -s -o "$T/dl" -D "$T/hdr" --unix-socket "$OD_SOCK" -H "Authorization: Bearer reader-token" \
    "http://orchd/v1/artifacts/namespaces/race/r.bin?version=$v"
  [ "$(sha "$T/dl")" = "$(sha "$T/race-$w.bin")" ] || fail "the API's @$v is not racer $w's bytes"
  grep -qi "^content-length: 3000000" "$T/hdr" || fail "no Content-Length: $(cat "$T/hdr")"
  grep -qi "^etag: \"$(sha "$T/race-$w.bin")\"" "$T/hdr" || fail "the ETag is not the sha256"
done
[ "$(jq_py "len({v['run'] for v in d['versions']})" <"$T/race.json")" = 4 ] || fail "a writer is missing"
pass "four writers on two orchd at once: versions 1-4, each object and each download its writer's bytes"

"$ORCH" --server "unix:$OD_SOCK" --token-file <(printf reader-token) runs artifact --namespace race r.bin -o "$T/cli.bin" ||
  fail "orch --server runs artifact --namespace"
[ "$(sha "$T/cli.bin")" = "$(object_sha ns/race/r.bin@4)" ] || fail "the CLI's latest over the API"
api POST /v1/runs '{"workflow":"racer","inputs":{"who":"5"}}' reader
expect_http 403 "a read token cannot start a writer"
for path in "race/..%2F..%2Fruns" "race/%2e%2e/%2e%2e/x" "race/r.bin@1" "race/r.bin?version=0" "..%2Fcache/x.bin" "race/a%0Ab"; do
  api GET "/v1/artifacts/namespaces/$path" "" reader
  expect_http 400 "a hostile name: $path"
done
api GET "/v1/artifacts/namespaces/race/r.bin?version=9" "" reader
expect_http 404 "no version 9"
[ "$(objects ns/ | grep -vc -E "/ns/(cache/x\.bin|small/x\.bin|race/r\.bin)@[0-9]+$" || true)" = 0 ] ||
  fail "an object outside the versions: $(objects ns/)"
pass "the read token lists and downloads (CLI --server too) but cannot write; hostile names are 400"
kill -TERM "$P1" 2>/dev/null || true
od_stop
