# store-s3 as the artifacts store beside sqlite and beside postgres, on
# the S3 server scripts/services/s3.sh starts: binary artifacts below and
# above the multipart threshold round-trip byte for byte, the objects are
# where the layout says and correct as read by an independent client
# (awscli), and bad credentials, a missing bucket and a store that cannot
# hold runs are refused with clear errors.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_S3_ENDPOINT:?the S3 server is not running: run scripts/test.sh, which starts it}"
: "${ORCH_PG_URL:?PostgreSQL is not running: run scripts/test.sh, which starts it}"
command -v aws >/dev/null || fail "awscli is needed to check the objects (apt-get install awscli)"
prefix="t-s3-$$-$RANDOM"
schema="t_s3_$$_$RANDOM"
psql_q() { PGOPTIONS="-c client_min_messages=warning" psql "$ORCH_PG_URL" -v ON_ERROR_STOP=1 -qAtc "$1"; }
trap 'psql_q "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true; t_cleanup' EXIT
export ORCH_SECRET_S3_KEY=S3RVER ORCH_SECRET_S3_SECRET=S3RVER ORCH_SECRET_PG_URL="$ORCH_PG_URL"
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_DEFAULT_REGION=us-east-1
awss3() { aws --endpoint-url "$ORCH_S3_ENDPOINT" s3api "$@"; }

# orch talks to the server through a proxy that checks every signature
# (s3rver itself does not): tests/lib/s3_sigv4_check.py.
python3 "$(dirname "$0")/../lib/s3_sigv4_check.py" "${ORCH_S3_ENDPOINT##*:}" S3RVER \
  "$T/proxy.port" "$T/proxy.log" &
T_PIDS+=($!)
wait_file "$T/proxy.port"
ENDPOINT="http://127.0.0.1:$(cat "$T/proxy.port")"

head -c 7340033 /dev/urandom >"$T/big.bin"   # 7 MiB + 1: two 5 MiB parts
head -c 300000 /dev/urandom >"$T/small.bin"  # below the 1 MiB threshold: one PUT

s3_config() { # FILE STORE-BLOCK BUCKET SECRET-NAME
  cat >"$1" <<EOF
version: 1
$2
artifacts:
  uses: s3
  with:
    endpoint: $ENDPOINT
    bucket: $3
    path_style: true
    prefix: $prefix
    access_key: \${{ secrets.S3_KEY }}
    secret_key: \${{ secrets.$4 }}
    part_size: 5M
    multipart_threshold: 1M
    retries: 1
defaults:
  host_paths: ["$T"]
workflows:
  keep:
    steps:
      - {id: big, uses: file, with: {action: copy, from: "host:$T/big.bin", to: "artifact:out/big.bin"}}
      - {id: small, uses: file, with: {action: copy, from: "host:$T/small.bin", to: "artifact:small.bin"}}
      - {id: back, uses: file, needs: [big], with: {action: copy, from: "artifact:out/big.bin", to: "host:$T/big.back"}}
      - {id: sum, uses: file, needs: [small], with: {action: checksum, path: "artifact:small.bin", expect: "$(sha256sum "$T/small.bin" | cut -d' ' -f1)"}}
EOF
}

check_objects() { # RUN
  local k
  for k in out/big.bin small.bin; do
    awss3 get-object --bucket orch-test --key "$prefix/runs/$1/artifacts/$k" "$T/got" >/dev/null ||
      fail "awscli cannot read $prefix/runs/$1/artifacts/$k"
    cmp -s "$T/got" "$T/$(basename "$k")" || fail "the object $k differs from what was stored"
  done
  awss3 list-objects-v2 --bucket orch-test --prefix "$prefix/runs/$1/" >"$T/list.json"
  [ "$(jq_py "sorted(o['Key'].split('/artifacts/')[1] for o in d['Contents'])" <"$T/list.json")" = \
    "['out/big.bin', 'small.bin']" ] || fail "the layout PREFIX/runs/RUN/artifacts/NAME: $(cat "$T/list.json")"
}

# --- beside sqlite
s3_config "$T/sq.yaml" "" orch-test S3_SECRET
o run "$T/sq.yaml" keep
expect_rc 0 "artifacts to S3 beside sqlite"
cmp -s "$T/big.bin" "$T/big.back" || fail "the multipart artifact came back changed"
R=$(last_run_id)
check_objects "$R"
grep -q "^ok PUT .*partNumber=2&uploadId=" "$T/proxy.log" || fail "the big artifact went up in parts"
grep -q "^ok POST .*uploads" "$T/proxy.log" || fail "a multipart upload was started"
if grep -qv "^ok " "$T/proxy.log"; then cat "$T/proxy.log"; fail "a request was refused"; fi
pass "beside sqlite: single and multipart uploads with verified signatures, read back by orch and by awscli"

# orch runs artifacts/artifact: listed from the ledger, fetched from the S3
# store the run's snapshot names (no -c), checked by sha256.
o --json runs artifacts "$R"
expect_rc 0 "orch runs artifacts of an S3 run"
[ "$(jq_py "[(a['name'], a['size'], a['sha256'], a['step']) for a in d]" <"$T/out")" = \
  "[('out/big.bin', 7340033, '$(sha256sum "$T/big.bin" | cut -d' ' -f1)', 'big'), ('small.bin', 300000, '$(sha256sum "$T/small.bin" | cut -d' ' -f1)', 'small')]" ] ||
  fail "the list: $(cat "$T/out")"
"$ORCH" runs artifact "$R" out/big.bin --output "$T/big.fetched" || fail "fetching the multipart artifact"
cmp -s "$T/big.bin" "$T/big.fetched" || fail "the fetched artifact differs"
"$ORCH" runs artifact "$R" small.bin >"$T/small.fetched" || fail "fetching to standard output"
cmp -s "$T/small.bin" "$T/small.fetched" || fail "the artifact on standard output differs"
pass "orch runs artifacts and artifact: the S3 run's list and bytes, by its snapshot's store"

# The same over orchd's API: the bytes come from S3 (not the API's store
# connection) and are checked before the answer, by the server and again
# by the CLI against the ETag.
{ cat "$T/sq.yaml"; printf '%s\n' "$OD_SERVER"; } | od_config "$T/sqd.yaml"
od_start "$T/sqd.yaml"
ORCH_TOKEN=reader-token "$ORCH" --server "unix:$OD_SOCK" runs artifact "$R" out/big.bin \
  -o "$T/big.api" || fail "fetching the multipart artifact over the API"
cmp -s "$T/big.bin" "$T/big.api" || fail "the artifact fetched over the API differs"
api GET "/v1/runs/$R/artifacts/out/big.bin" "" reader
expect_http 200 "the artifact with curl"
cmp -s "$T/big.bin" "$T/resp" || fail "curl's copy differs"
curl -s -o "$T/part" -w '%{http_code}' -H 'Authorization: Bearer reader-token' -H 'Range: bytes=7340000-' \
  --unix-socket "$OD_SOCK" "http://orchd/v1/runs/$R/artifacts/out/big.bin" >"$T/code"
[ "$(cat "$T/code")" = 206 ] && cmp -s "$T/part" <(tail -c 33 "$T/big.bin") ||
  fail "the last 33 bytes by range: HTTP $(cat "$T/code")"
od_stop
pass "over orchd's API: the S3 run's artifact whole and by range, checked by sha256"

# --- beside postgres: the same workflow, unchanged
rm -f "$T/big.back"
s3_config "$T/pg.yaml" "store:
  uses: postgres
  migrate: on_start
  with: {conninfo: \"\${{ secrets.PG_URL }}\", schema: $schema}" orch-test S3_SECRET
o run "$T/pg.yaml" keep
expect_rc 0 "artifacts to S3 beside postgres"
cmp -s "$T/big.bin" "$T/big.back" || fail "the artifact came back changed (postgres)"
R2=$("$ORCH" -c "$T/pg.yaml" --json runs list --limit 1 | jq_py "d[0]['id']")
check_objects "$R2"
[ "$(psql_q "SELECT count(*) FROM $schema.events WHERE type LIKE '%artifact.stored'")" = 2 ] ||
  fail "the ledger records both artifacts"
pass "beside postgres: the same workflow and layout"

# --- an object changed behind orch's back is caught on the way out
printf 'tampered' >"$T/tampered"
awss3 put-object --bucket orch-test --key "$prefix/runs/$R/artifacts/small.bin" \
  --body "$T/tampered" >/dev/null
cat >"$T/read.yaml" <<EOF
$(sed -n '1,/^workflows:/p' "$T/sq.yaml")
  check:
    steps:
      - {id: sum, uses: file, with: {action: checksum, path: "artifact:small.bin", expect: "$(sha256sum "$T/small.bin" | cut -d' ' -f1)"}}
EOF
o run "$T/read.yaml" check
expect_rc 1 "a tampered artifact fails its checksum"
o runs artifact "$R" small.bin --output "$T/tampered.fetched"
expect_rc 1 "fetching a tampered artifact"
expect_out "artifact 'small.bin' of run $R changed in its store: 8 bytes" "the change named"
[ ! -e "$T/tampered.fetched" ] || fail "a tampered artifact took the --output name"
[ -z "$(ls "$T" | grep 'tampered.fetched.orch-')" ] || fail "the temporary file of a refused fetch is left"
pass "an artifact changed in the bucket is caught by its checksum"

# --- bad credentials, a missing bucket, a store that cannot hold runs
ORCH_SECRET_WRONG=not-the-secret
export ORCH_SECRET_WRONG
s3_config "$T/bad.yaml" "" orch-test WRONG
o run "$T/bad.yaml" keep
expect_rc 1 "a wrong secret key fails the run"
expect_out "SignatureDoesNotMatch" "the server refused the signature"
expect_out "check access_key and secret_key" "and the error says what to check"
expect_no_out "not-the-secret" "the key is never printed"
s3_config "$T/nob.yaml" "" no-such-bucket S3_SECRET
o run "$T/nob.yaml" keep
expect_rc 1 "a missing bucket fails the run"
expect_out "NoSuchBucket" "named by the server"
expect_out "no-such-bucket" "with the bucket's name"
cat >"$T/runs.yaml" <<EOF
version: 1
store: {uses: s3, with: {bucket: orch-test, endpoint: $ENDPOINT}}
workflows:
  w: {steps: [{id: a, uses: exec, with: {run: "true"}}]}
EOF
o validate "$T/runs.yaml"
expect_rc 2 "s3 cannot be the state store"
expect_out "runs.yaml:2:" "at its place"
expect_out "artifacts" "and says where it can go"
pass "bad credentials, a missing bucket and s3 as the state store are refused clearly"
