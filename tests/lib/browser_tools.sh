# browser_tools: install (once, under a lock, outside the project) the npm
# package the web UI's browser test drives Chromium with, and print its
# directory. puppeteer-core only: it downloads no browser, the test uses
# Debian's chromium (scripts/deps.sh --test). Pinned major; fetched from
# the npm registry, never committed.
browser_tools() {
  local base=${ORCH_TEST_DIR:-/tmp/orch-test} dir
  dir="$base/browser-tools"
  mkdir -p "$dir"
  (
    flock 9
    if [ ! -f "$dir/.installed-v1" ]; then
      command -v npm >/dev/null || { echo "browser_tools: npm is needed (scripts/deps.sh installs it)" >&2; exit 1; }
      (cd "$dir" && npm install --no-audit --no-fund --loglevel=error puppeteer-core@25 >"$dir/npm.log" 2>&1) || {
        echo "browser_tools: npm install failed:" >&2; tail -20 "$dir/npm.log" >&2; exit 1; }
      touch "$dir/.installed-v1"
    fi
  ) 9>"$base/browser-tools.lock" || return 1
  echo "$dir"
}
