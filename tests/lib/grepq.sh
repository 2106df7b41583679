# Sourced by tests/lib/common.sh and by tests/packaging/deb_cycle.sh (which
# runs in a container, without common.sh).

# grep -q for the end of a pipeline. grep -q leaves at its first match; a
# writer still writing then dies of SIGPIPE, and pipefail turns a match into a
# failure (sdk/test_sdk_kit lost a match of libcurl in ldd's output that way in CI).
# This one reads its input to the end. docs/test_shell_rules keeps tests on it.
grepq() {
  local rc=0
  grep -q "$@" || rc=$?
  cat >/dev/null
  return "$rc"
}
