# /health/env lists the secrets and environment variables the config
# refers to, found by the template parser: every ${{ }} in any value
# (workflows, webhooks) and every step's `if:`; a name in a comment, in a
# key or in plain text outside ${{ }} is no reference.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"

od_config "$T/orchd.yaml" <<'OUTER'
version: 1
server:
  tokens:
    - {name: reader, sha256: HASH_reader, role: read}
# ${{ secrets.IN_COMMENT }} and ${{ env.IN_COMMENT_ENV }} are only a comment
webhooks:
  build: {workflow: hello, secret: "${{ secrets.HOOK_KEY }}"}
workflows:
  hello:
    steps:
      - id: greet
        uses: exec
        with: {run: "echo secrets.PLAIN env.PLAIN_ENV ${{ secrets.USED }} ${{ format('{0}', env.IN_FUNC) }}"}
      - id: maybe
        uses: exec
        needs: [greet]
        if: env.IF_VAR == 'x'
        with: {run: "echo ${{ steps.greet.result }}"}
OUTER
export ORCH_SECRET_HOOK_KEY=a-hook-key-of-32-bytes-or-so-xx
od_start "$T/orchd.yaml"
api GET /health/env "" reader
expect_http 200 "health/env"
keys() { resp "' '.join(sorted(d['$1']))"; }
[ "$(keys secrets)" = "HOOK_KEY USED" ] || fail "secrets referenced: $(keys secrets)"
[ "$(keys env)" = "IF_VAR IN_FUNC" ] || fail "env referenced: $(keys env)"
pass "/health/env names exactly the references the template parser finds"
