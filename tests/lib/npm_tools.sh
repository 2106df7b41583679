# npm_tools: install (once, under a lock, outside the project) the npm
# packages the API tests validate with, and print their directory. Pinned
# majors; fetched from the npm registry, never committed.
npm_tools() {
  local base=${ORCH_TEST_DIR:-/tmp/orch-test} dir
  dir="$base/npm-tools"
  mkdir -p "$dir"
  (
    flock 9
    if [ ! -f "$dir/.installed-v2" ]; then
      command -v npm >/dev/null || { echo "npm_tools: npm is needed (scripts/deps.sh installs it)" >&2; exit 1; }
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error \
        ajv@8 ajv-formats@3 yaml@2 @apidevtools/swagger-parser@10 \
        @seriousme/openapi-schema-validator@2 @opentelemetry/otlp-transformer@0.57 >"$dir/npm.log" 2>&1) || {
        echo "npm_tools: npm install failed:" >&2; tail -20 "$dir/npm.log" >&2; exit 1; }
      touch "$dir/.installed-v2"
    fi
  ) 9>"$base/npm-tools.lock" || return 1
  echo "$dir"
}
