# The API contract holds: a live orchd answers every route, with valid and
# invalid requests, only with statuses, content types and bodies that
# docs/api/openapi.yaml documents (tests/lib/api_contract.mjs validates each
# answer with ajv), and serves that same document at /v1/openapi.{yaml,json}.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
. "$(dirname "$0")/../lib/npm_tools.sh"
NPM_TOOLS=$(npm_tools) || fail "cannot install the npm validators"
export NPM_TOOLS
export ORCH_SECRET_HOOK_KEY=hook-key-0123456789

od_config "$T/orchd.yaml" <<'EOF2'
version: 1
server:
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: writer, sha256: HASH_writer, role: write}
    - {name: reader, sha256: HASH_reader, role: read}
  max_body: 64K
worker: {tick: 100ms, lease_ttl: 5s}
artifacts:
  namespaces:
    shared: {}
backends:
  local: {uses: local}
webhooks:
  build: {workflow: hello, secret: "${{ secrets.HOOK_KEY }}"}
workflows:
  hello:
    inputs: {who: {default: world}}
    steps:
      - id: greet
        uses: exec
        with: {run: "echo hello ${{ inputs.who }}; echo to-stderr >&2"}
  slow:
    steps:
      - id: wait
        uses: exec
        with: {run: "echo started; sleep 60"}
  gated:
    steps:
      - id: gate
        uses: approval
        timeout: 1h
        with:
          message: "go?"
          inputs: {ticket: string, replicas: number}
          required: [ticket]
      - id: after
        uses: exec
        needs: [gate]
        with: {run: "echo ticket=${{ steps.gate.outputs.ticket }}"}
  stored:
    steps:
      - id: write
        uses: file
        with: {action: write, path: "artifact:out/digits.txt", content: "${{ format('{0}{0}{0}{0}{0}{0}{0}{0}{0}{0}', '0123456789012345678901234567890123456789012345678901234567890123456789012345678901234567890123456789') }}"}
  shared:
    steps:
      - {id: put, uses: file, with: {action: write, path: "artifact:ns/shared/dir/v.txt", content: "v1 bytes"}}
  broken:
    steps:
      - id: fail
        uses: exec
        with: {run: "echo attempt; exit 3"}
EOF2
od_start "$T/orchd.yaml"
node "$ORCH_SOURCE_DIR/tests/lib/api_contract.mjs" "$ORCH_SOURCE_DIR/docs/api/openapi.yaml" \
  "$OD_SOCK" "$ORCH_SECRET_HOOK_KEY" || { tail -30 "$T/orchd.log" >&2; fail "orchd's answers break the documented contract"; }
pass "every route answers as docs/api/openapi.yaml documents"
