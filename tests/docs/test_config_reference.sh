#!/bin/bash
# The workflow file reference cannot drift: the JSON Schema and orch's
# parser accept the same keys in every mapping; every shipped config (the
# examples, the packaged /etc/orch/orchd.yaml, the container's) is valid for
# both; docs/config-reference.md is what the schema generates.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}"
S=$ORCH_SOURCE_DIR
# Debian's python3-jsonschema (scripts/deps.sh) when the python3 on PATH
# is another one without it.
py=python3
python3 -c 'import jsonschema, yaml' 2>/dev/null || py=/usr/bin/python3
# The container's config takes its token hash from the environment.
ORCH_ADMIN_TOKEN_SHA256=$(printf probe | "$ORCH_BIN/orchd" --hash-token) \
  "$py" "$S/tests/lib/config_probe.py" "$ORCH" "$S/config/schema/orch.schema.json" \
  "$S"/config/examples/*.yaml "$S/packaging/orchd.yaml" "$S/packaging/docker/orchd.yaml" ||
  fail "the schema and orch's parser disagree, or a shipped config is invalid (above)"
python3 "$S/scripts/gen-docs.py" --check "$ORCH" || fail "generated reference pages are stale"
pass "docs/config-reference.md and docs/plugins/ are current"
