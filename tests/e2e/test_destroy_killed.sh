# A local instance whose destroy was killed part-way is never leaked (issue
# 19: a killed run resumes, and nothing it created is left). The run's
# driver is killed -9 at the worst moment of its teardown: its executor
# about to remove the instance directory itself, everything in it (work/,
# the marker, the command records) removed already. The resume destroys
# the instance again and must find what is left, by its id when the ledger
# has the instance's backend id, by its orch.instance label when the
# ledger row is still "creating" (the create's result was never recorded).
# Removed in place, what was left had no work dir, so attach said "no
# instance" and the resume recorded it destroyed, and no marker, so no
# reap by label found it (tests/chaos, seed 104).
. "$(dirname "$0")/../lib/common.sh"
shim="$ORCH_BUILD_DIR/tests/die_at_rmdir.so"
[ -f "$shim" ] || fail "no $shim (tests/lib/die_at_rmdir.c, built with the tests)"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    steps:
      - id: a
        uses: exec
        with: {run: "mkdir -p sub && echo x >sub/file && echo y >file"}
YAML
work="$ORCH_STATE_DIR/work"
inst_dirs() { ls -A "$work" 2>/dev/null || true; }
sql() {
  python3 - "$ORCH_STATE_DIR/orch.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
rows = db.execute(sys.argv[2]).fetchall()
db.commit()
print(" ".join(str(r[0]) for r in rows))
PY
}

# Run the workflow with its driver killed at the executor's rmdir of an
# instance directory under the backend's root (whatever name it has there:
# * does not cross a /), never at one inside it. The executor dies with its
# driver (its death signal) without removing anything more. RUN: the run.
killed_teardown() {
  local rc=0
  LD_PRELOAD="$shim" ORCH_TEST_DIE_AT_RMDIR="$work/*i-*" \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
    "$ORCH" run "$T/wf.yaml" w >"$T/run.out" 2>&1 || rc=$?
  [ "$rc" -eq 137 ] || { cat "$T/run.out" >&2; fail "the driver was not killed (exit $rc)"; }
  RUN=$(last_run_id)
  [ "$(state_of "$RUN" a)" = succeeded ] || fail "step a is $(state_of "$RUN" a), not succeeded"
  [ -n "$(inst_dirs)" ] || fail "the killed teardown left nothing to find: the kill came too late"
  local st
  st=$(sql "select state from instances where run_id = '$RUN'")
  [ "$st" = 2 ] || fail "the ledger row is $st, not running (2), before the resume"
}

# The resume finishes RUN and leaves no instance directory, its row destroyed.
resume_leaves_nothing() { # WHAT
  o resume "$RUN"
  expect_rc 0 "the resume finishes the run ($1)"
  [ "$(run_state "$RUN")" = succeeded ] || fail "run state $(run_state "$RUN") ($1)"
  local st left
  st=$(sql "select state from instances where run_id = '$RUN'")
  [ "$st" = 4 ] || fail "the ledger row is $st, not destroyed (4) ($1)"
  left=$(inst_dirs)
  [ -z "$left" ] || { ls -laR "$work" >&2; fail "LEAKED instance directories ($1): $left"; }
}

killed_teardown
resume_leaves_nothing "destroyed again by its id"
pass "a destroy killed before its last rmdir is finished by the resume (by id): nothing leaked"

# The same remains, the ledger row as a create killed before its result was
# recorded leaves it: only the orch.instance label can find them.
killed_teardown
sql "update instances set state = 1, backend_id = null where run_id = '$RUN'" >/dev/null
resume_leaves_nothing "reaped by its label"
pass "a destroy killed before its last rmdir is finished by the resume (by label): nothing leaked"
