# Secrets reach steps but never the terminal, the stored logs or outputs;
# --dry-run changes nothing; an idempotency key returns the first run.
. "$(dirname "$0")/../lib/common.sh"
export ORCH_SECRET_API_TOKEN="s3cr3t-value-123"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: leak
        uses: exec
        with:
          run: echo "token=\$TOKEN"; touch $T/ran
          env: {TOKEN: "\${{ secrets.API_TOKEN }}"}
          capture: true
YAML
o run "$T/wf.yaml" w
expect_rc 0 "secret run"
expect_no_out "s3cr3t-value-123" "the secret is not printed"
expect_out "token=***" "the secret is masked"
id=$(last_run_id)
o runs logs "$id"
expect_no_out "s3cr3t-value-123" "stored logs"
o --json runs show "$id"
expect_no_out "s3cr3t-value-123" "stored outputs"
o --json runs events "$id"
expect_no_out "s3cr3t-value-123" "event ledger"
grep -ra "s3cr3t-value-123" "$ORCH_STATE_DIR" && fail "secret written to the state dir"

rm -f "$T/ran"
o run "$T/wf.yaml" w --dry-run
expect_rc 0 "dry run"
[ ! -e "$T/ran" ] || fail "dry run executed the command"
expect_no_out "s3cr3t-value-123" "dry run plan"

o run "$T/wf.yaml" w --idempotency-key deploy-42
expect_rc 0 "keyed run"
first=$(last_run_id)
rm -f "$T/ran"
o run "$T/wf.yaml" w --idempotency-key deploy-42
expect_rc 0 "keyed re-run"
expect_out "$first" "the second submission names the first run"
[ ! -e "$T/ran" ] || fail "a keyed re-submission ran the steps again"
pass "secrets, dry run, idempotency"
