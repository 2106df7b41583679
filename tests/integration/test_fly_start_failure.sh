# A Fly machine that fails to start (Fly answers 422 "failed to start", as
# for a refused request) is a backend failure: orchd's instances API answers
# 502, not the 400 it keeps for requests the caller must fix; and the failed
# machine is not left behind.
source "$(dirname "$0")/../lib/common.sh"
source "$(dirname "$0")/../lib/orchd.sh"
: "${ORCH_FLY_URL:?the Fly stand-in is not running: run scripts/test.sh, which starts it}"
app="orch-start-$$"
export ORCH_SECRET_FLY_API_TOKEN="$ORCH_FLY_TOKEN"
od_config "$T/orchd.yaml" <<EOF
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
backends:
  fly:
    uses: fly-machines
    with:
      api_url: $ORCH_FLY_URL
      token: "\${{ secrets.FLY_API_TOKEN }}"
      app: $app
      create_app: true
      image: orch-test/absent:none
workflows:
  noop:
    steps:
      - {id: a, uses: exec, with: {run: "true"}}
EOF
od_start "$T/orchd.yaml"
api POST /v1/instances '{"backend":"fly"}'
expect_http 502 "a machine that failed to start is the backend's failure"
grep -q "failed to start" "$T/resp" || fail "the answer says the machine failed to start: $(cat "$T/resp")"
api POST /v1/instances '{"backend":"fly","env":{"1BAD":"x"}}'
expect_http 400 "a request Fly refuses is still the caller's (env name)"
od_stop
left=$(curl -sf -H "Authorization: Bearer $ORCH_FLY_TOKEN" "$ORCH_FLY_URL/v1/apps/$app/machines" |
  jq_py "len([m for m in d if m['state'] not in ('destroying', 'destroyed')])")
[ "$left" = 0 ] || fail "$left machines left behind"
pass "a machine that fails to start is a 502, and is not leaked"
