# server.log_level: one level for all or per component ("warn,
# scheduler=debug", or a mapping), ORCH_LOG_LEVEL (the same form) on top
# for what it names, applied again by a reload; a bad level is a config
# error at file:line:col. Checked on orchd's own lines: the scheduler's
# debug line per tick and the access log's info line per request.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
unset ORCH_LOG_LEVEL
cfg() { # FILE LOG_LEVEL-YAML
  od_config "$1" <<EOF2
version: 1
server:
  log_level: $2
  tokens:
    - {name: admin, sha256: HASH_admin, role: admin}
    - {name: reader, sha256: HASH_reader, role: read}
worker: {tick: 100ms, lease_ttl: 10s}
workflows:
  w:
    steps:
      - {id: s, uses: exec, with: {run: "true"}}
EOF2
}
lines() { grep -c "$1" "$T/orchd.log" || true; }
scheduler_debug() { [ "$(lines '"level":"debug","msg":"tick: ')" -ge 3 ]; }

# 1. A string with components: the scheduler's debug lines, no access log.
# (with the blanks people put after commas and around '=')
cfg "$T/a.yaml" '"warn, scheduler = debug, access=warn"'
od_start "$T/a.yaml"
wait_until "the scheduler's debug lines" scheduler_debug
api GET /v1/health "" reader
expect_http 200 "health"
od_wait_ticks 2
[ "$(lines '"component":"access"')" = 0 ] || fail "access=warn: no access lines: $(lines '"component":"access"')"
od_stop
pass "'warn, scheduler = debug, access=warn': the scheduler at debug, the access log silent"

# 2. The mapping form, and ORCH_LOG_LEVEL on top for what it names.
: >"$T/orchd.log"
cfg "$T/b.yaml" '{default: info, access: warn}'
ORCH_LOG_LEVEL=access=info od_start "$T/b.yaml"
api GET /v1/health "" reader
api GET /v1/control "" reader
wait_until "the access lines ORCH_LOG_LEVEL asked for" grepq -F '"component":"access"' "$T/orchd.log"
[ "$(lines '"level":"debug"')" = 0 ] || fail "default info: no debug lines"
od_stop
pass "the mapping form; ORCH_LOG_LEVEL=access=info wins over the file's access: warn"

# 3. A reload applies a new level at once.
: >"$T/orchd.log"
cfg "$T/c.yaml" '{default: warn, access: warn}'
od_start "$T/c.yaml"
api GET /v1/health "" reader
od_wait_ticks 2
[ "$(lines '"component":"access"')" = 0 ] || fail "access: warn before the reload"
cfg "$T/c.yaml" '{default: warn, access: info}'
api POST /v1/admin/reload "" admin
expect_http 200 "reload"
api GET /v1/control "" reader
api GET /v1/control "" reader
wait_until "access lines after the reload" grepq -F '"route":"/v1/control"' "$T/orchd.log"
od_stop
pass "a reload applies the new levels"

# 4. Bad levels are config errors at their place.
for bad in '"loud"' '"info,scheduler=loud"' '{access: verbose}' '"info,"' '"=debug"' \
           '"info,sched uler=debug"' '{"sched/uler": debug}'; do
  cfg "$T/bad.yaml" "$bad"
  o validate "$T/bad.yaml"
  expect_rc 2 "log_level $bad"
  expect_out "bad.yaml:3:" "at its place ($bad)"
  expect_out "server.log_level" "named ($bad)"
done
pass "bad log levels are config errors at file:line:col"
