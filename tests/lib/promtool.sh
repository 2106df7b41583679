# promtool_bin: the path of Prometheus's promtool, from Debian's prometheus
# package. Without installing that package (it would start a Prometheus
# server on the host), the .deb is downloaded from the Debian archive and
# only promtool is unpacked under $ORCH_TEST_DIR, once, under a lock.
promtool_bin() {
  if command -v promtool >/dev/null; then command -v promtool; return 0; fi
  local base=${ORCH_TEST_DIR:-/tmp/orch-test} dir
  dir="$base/promtool"
  mkdir -p "$dir"
  (
    flock 9
    if [ ! -x "$dir/usr/bin/promtool" ]; then
      cd "$dir" && rm -f ./*.deb &&
        apt-get download prometheus >"$dir/apt.log" 2>&1 &&
        dpkg-deb -x ./prometheus_*.deb "$dir" || {
        echo "promtool_bin: cannot fetch Debian's prometheus package:" >&2; tail -5 "$dir/apt.log" >&2; exit 1; }
    fi
  ) 9>"$base/promtool.lock" || return 1
  echo "$dir/usr/bin/promtool"
}
