# orch --server puts the user's words into URLs escaped by libcurl
# (curl_easy_escape): a filter value carrying '&', '=', '/', spaces or
# UTF-8 stays one value and cannot add a query parameter of its own.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

od_config "$T/orchd.yaml" <<'OUTER'
version: 1
server:
  tokens:
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
backends:
  local:
    uses: local
workflows:
  hello:
    steps:
      - id: greet
        uses: exec
        with: {run: "echo hi"}
OUTER
od_start "$T/orchd.yaml"
export ORCH_TOKEN=writer-token
OS=(--server "unix:$OD_SOCK")

o "${OS[@]}" runs start hello
expect_rc 0 "runs start"
R=$("$ORCH" "${OS[@]}" --json runs list --workflow hello | jq_py "d[0]['id']")
od_wait_run "$R" succeeded
o "${OS[@]}" runs list --workflow hello
expect_out "$R" "the plain filter finds the run"
# Unescaped, '&limit=zz' would be a bad limit (400) and '&workflow=hello'
# would find the run.
o "${OS[@]}" runs list --workflow 'nope&limit=zz'
expect_rc 0 "an '&' inside a value is not a new parameter"
expect_no_out "$R" "and the value matched no workflow"
o "${OS[@]}" runs list --workflow 'x y/é=1&workflow=hello'
expect_rc 0 "spaces, '/', '=' and UTF-8 are escaped"
expect_no_out "$R" "the smuggled workflow=hello is part of the value"
o "${OS[@]}" runs list --state 'succeeded&state=x'
expect_rc 2 "the state filter is escaped too: the server refuses the whole value"
expect_out "not 'succeeded&state=x'" "and names it as one value"
pass "orch --server escapes URL values through libcurl"
