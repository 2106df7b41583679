# npm_tools: install (once, under a lock, outside the project) the npm
# packages the API tests validate with, and print their directory. Pinned
# majors; fetched from the npm registry, never committed.
npm_tools() {
  npm_dir npm-tools v2 ajv@8 ajv-formats@3 yaml@2 @apidevtools/swagger-parser@10 \
    @seriousme/openapi-schema-validator@2 @opentelemetry/otlp-transformer@0.57
}

# browser_tools: the same for the web UI's browser test: puppeteer-core
# only, which downloads no browser (the test uses Debian's chromium,
# scripts/deps.sh --test).
browser_tools() {
  npm_dir browser-tools v1 puppeteer-core@25
}

# npm_dir NAME STAMP PKG...: PKGs installed in $ORCH_TEST_DIR/NAME (once
# per STAMP: a new list needs a new one), under NAME.lock; prints the dir.
npm_dir() {
  local base=${ORCH_TEST_DIR:-/tmp/orch-test} name=$1 stamp=$2 dir
  shift 2
  dir="$base/$name"
  mkdir -p "$dir"
  (
    flock 9
    if [ ! -f "$dir/.installed-$stamp" ]; then
      command -v npm >/dev/null || { echo "$name: npm is needed (scripts/deps.sh installs it)" >&2; exit 1; }
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error "$@" >"$dir/npm.log" 2>&1) || {
        echo "$name: npm install failed:" >&2; tail -20 "$dir/npm.log" >&2; exit 1; }
      touch "$dir/.installed-$stamp"
    fi
  ) 9>"$base/$name.lock" || return 1
  echo "$dir"
}
