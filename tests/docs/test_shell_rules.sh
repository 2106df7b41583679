#!/bin/bash
# Rules for the shell tests that the shell cannot enforce itself.
# - No 'cmd | grep -q' (outside a comment) in a script under pipefail: grep -q leaves at its first
#   match, the writer dies of SIGPIPE and the pipeline fails on a match
#   (tests/lib/common.sh: grepq reads to the end). A line inside a script sent
#   to a machine (an escaped \$) is that machine's shell, not ours: the rule
#   still holds there only if that shell sets pipefail, which dash cannot.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}"
cd "$ORCH_SOURCE_DIR"

offenders() {
  # $1: root to scan. Prints file:line of each 'grep -q' that ends a pipeline
  # in a bash script using pipefail (itself or through tests/lib/common.sh).
  local f
  while IFS= read -r f; do
    grep -qE 'pipefail|lib/common\.sh' "$f" || continue
    grep -nE '\|[[:space:]]*grep[[:space:]]+-[a-zA-Z]*q' "$f" | grep -vE '^[0-9]+:[[:space:]]*#|\\\$' |
      sed "s|^|$f:|" || true
  done < <(find "$1" -name '*.sh' -type f | sort)
}

offenders tests >"$T/out"
offenders scripts >>"$T/out"
offenders bench >>"$T/out"
[ ! -s "$T/out" ] || { cat "$T/out" >&2; fail "pipelines that end in grep -q under pipefail (use grepq)"; }
pass "no pipeline ends in grep -q under pipefail"

# The rule finds what it is for, and grepq does what it says: a writer that
# goes on after the match neither dies nor fails the pipeline.
mkdir -p "$T/tree"
q='grep -q'
printf '#!/bin/bash\nset -o pipefail\nldd x | %s curl\nls | %sE a\n  # ls | %s a\n' "$q" "$q" "$q" >"$T/tree/bad.sh"
printf '#!/bin/sh\nls | %s a\n' "$q" >"$T/tree/dash.sh"
[ "$(offenders "$T/tree" | wc -l)" = 2 ] || fail "the rule did not find both offenders: $(offenders "$T/tree")"
offenders "$T/tree" | grepq dash.sh && fail "a script without pipefail is no offender"
big() { echo match; head -c 1048576 /dev/zero | tr '\0' 'x'; echo; }
big | grepq match || fail "grepq failed a pipeline whose writer went on after the match"
big | grepq nomatch && fail "grepq matched what is not there"
pass "the rule finds its offenders; grepq survives a writer that goes on"
