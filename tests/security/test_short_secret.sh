# A secret under 4 characters cannot be masked without destroying output
# (every "abc" in a log would become ***), so it is refused where it is
# resolved, naming the secret and the reason: in a step's templates (with:,
# env:) and in a plugin's options (resolved in the executor). Never
# silently left unmasked. Four characters is enough.
. "$(dirname "$0")/../lib/common.sh"
export ORCH_SECRET_PIN=abc ORCH_SECRET_EMPTY= ORCH_SECRET_PIN4=w9zq

# In the old config shape too (no env: keys), so the refusal is what is tested.
cat >"$T/plain.yaml" <<'EOF'
version: 1
workflows:
  run:
    steps:
      - {id: s, uses: exec, with: {run: "echo pin=${{ secrets.PIN }}"}}
EOF
o run "$T/plain.yaml" run
expect_rc 1 "a 3-character secret in run:"
expect_out "secret PIN is too short (3 characters)" "the secret named"
expect_no_out "pin=abc" "never used"

cat >"$T/wf.yaml" <<'EOF'
version: 1
backends:
  local: {uses: local}
  fly:
    uses: fly-machines
    with: {api_url: "http://127.0.0.1:9", token: "${{ secrets.PIN }}", app: never-reached}
workflows:
  run:
    steps:
      - {id: s, uses: exec, with: {run: "echo pin=${{ secrets.PIN }}"}}
  env:
    steps:
      - {id: s, uses: exec, env: {P: "${{ secrets.PIN }}"}, with: {run: "echo pin=$P"}}
  withenv:
    steps:
      - {id: s, uses: exec, with: {run: "echo pin=$P", env: {P: "${{ secrets.EMPTY }}"}}}
  option:
    steps:
      - {id: s, uses: exec, backend: fly, with: {run: "true"}}
  four:
    steps:
      - {id: s, uses: exec, with: {run: "echo pin=${{ secrets.PIN4 }} and '${{ secrets.PIN4 }}'"}}
EOF
for wf in run env; do
  o run "$T/wf.yaml" "$wf"
  expect_rc 1 "a 3-character secret in the step's $wf"
  expect_out "secret PIN is too short (3 characters)" "the secret named ($wf)"
  expect_out "cannot be masked in output without destroying it" "the reason ($wf)"
  expect_no_out "pin=abc" "never used ($wf)"
done
o run "$T/wf.yaml" withenv
expect_rc 1 "an empty secret"
expect_out "secret EMPTY is empty (0 characters)" "the empty secret named"
o run "$T/wf.yaml" option
# Refused when the run starts (the backend's options are resolved then),
# before a run exists; the executor refuses it too where the plugin opens.
expect_rc 2 "a 3-character secret in a backend's options"
expect_out "secret PIN is too short (3 characters)" "named when the run starts"
expect_no_out "127.0.0.1:9" "refused before any request"
o run "$T/wf.yaml" four
expect_rc 0 "a 4-character secret"
expect_out "pin=*** and ***" "masked"
expect_no_out "w9zq" "never printed"
pass "secrets under 4 characters refused in steps and plugin options, naming the secret"
