# docs/api/openapi.yaml is a valid OpenAPI 3.1 document (checked by two
# independent validators from npm), every status of every operation has a
# body schema, and it lists exactly the routes in orchd's route table.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/npm_tools.sh"
NPM_TOOLS=$(npm_tools) || fail "cannot install the npm validators"
export NPM_TOOLS
node "$ORCH_SOURCE_DIR/tests/lib/openapi_validate.mjs" "$ORCH_SOURCE_DIR/docs/api/openapi.yaml" \
  "$ORCH_SOURCE_DIR/tools/orchd/routes.c" || fail "docs/api/openapi.yaml is not valid or not complete"
pass "the OpenAPI document validates and matches orchd's routes"
