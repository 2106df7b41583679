# The CLI follows the conventions (issue 23 item 2): every command takes
# its flags, and the global ones, before or after the command and the
# subcommand, as `--opt value` or `--opt=value`; `--` ends the options;
# `orch help [CMD]` and `CMD --help` print usage with the exit codes; an
# unknown option or a missing value is exit 2; SIGINT of `orch run` is 130
# (test_cancel.sh). Each command runs in every form and must agree.
. "$(dirname "$0")/../lib/common.sh"
. "$(dirname "$0")/../lib/orchd.sh"
cat >"$T/wf.yaml" <<YAML
version: 1
workflows:
  w:
    inputs: {who: {default: x}}
    steps:
      - {id: s, uses: exec, with: {run: "echo hi-\${{ inputs.who }}"}}
  gated:
    steps:
      - {id: gate, uses: approval, with: {message: "go?", inputs: {ticket: string}}}
YAML
SD="$ORCH_STATE_DIR"
unset ORCH_STATE_DIR ORCH_SERVER

# forms RC EXPECT -- ARGS...: ARGS with @G (the global options) and @F
# (the command's flags, "--name value" pairs) placed before the command,
# after it, and in '=' form; each must exit RC and print EXPECT.
forms() {
  local rc=$1 want=$2
  shift 3
  local -a args=("$@") a b c g=() f=() pos=() x
  local i
  # split: @G:NAME=VALUE and @F:NAME=VALUE markers, the rest positional
  for x in "${args[@]}"; do
    case $x in
      @G:*=*) g+=("${x#@G:}") ;;
      @G:*) g+=("${x#@G:}") ;;
      @F:*) f+=("${x#@F:}") ;;
      *) pos+=("$x") ;;
    esac
  done
  expand() { # NAME[=VALUE] -> spaced form
    local kv=$1
    if [[ $kv == *=* ]]; then printf '%s\n' "--${kv%%=*}" "${kv#*=}"; else printf '%s\n' "--$kv"; fi
  }
  a=() b=() c=()
  for x in "${g[@]}" "${f[@]}"; do mapfile -t -O "${#a[@]}" a < <(expand "$x"); done
  a+=("${pos[@]}")                                   # all before the command
  b=("${pos[@]}")
  for x in "${g[@]}" "${f[@]}"; do mapfile -t -O "${#b[@]}" b < <(expand "$x"); done  # all after
  c=("${pos[0]}")
  for x in "${f[@]}" "${g[@]}"; do c+=("--$x"); done  # '=' form, between
  c+=("${pos[@]:1}")
  for form in a b c; do
    local -n v=$form
    o "${v[@]}"
    [ "$RC" -eq "$rc" ] || { cat "$T/out" >&2; fail "orch ${v[*]}: exit $RC, expected $rc"; }
    [ -z "$want" ] || expect_out "$want" "orch ${v[*]}"
  done
}

G="@G:state-dir=$SD"
# --- local commands
forms 0 "hi-ann" -- run "$T/wf.yaml" w "$G" "@F:input=who=ann"
forms 0 "" -- run "$T/wf.yaml" w "$G" "@F:input=who=ann" "@F:idempotency-key=k1"
R=$(ORCH_STATE_DIR=$SD last_run_id)
forms 0 "$R" -- runs list "$G" @G:json "@F:workflow=w" "@F:limit=5"
forms 0 '"workflow": "w"' -- runs show "$R" "$G" @G:json
forms 0 "hi-ann" -- runs logs "$R" s "$G" "@F:attempt=1"
forms 0 "run.finished" -- runs events "$R" "$G" @G:json
forms 0 "" -- run "$T/wf.yaml" w "$G" @F:dry-run "@F:concurrency=2"
forms 0 "ok" -- validate "$T/wf.yaml" "$G"
forms 0 '"valid": true' -- validate "$T/wf.yaml" @G:json
forms 0 "exec" -- plugins list @G:json
forms 0 "" -- plugins info exec @G:json
forms 0 "" -- migrate "$G" @F:dry-run
forms 0 "leftover" -- gc "$T/wf.yaml" "$G"
forms 0 '"paused"' -- control show "$G" @G:json
o run "$T/wf.yaml" gated --state-dir "$SD"
W=$(ORCH_STATE_DIR=$SD "$ORCH" --json runs list --state waiting | jq_py "d[0]['id']")
o runs approve "$W" gate --input=ticket=T-1 --comment=fine --state-dir="$SD"
expect_rc 0 "approve, '=' forms after the subcommand"
o --state-dir "$SD" resume "$W"
expect_rc 0 "resume after the decision"
o resume --json "$W" --state-dir="$SD"
expect_rc 2 "resume of a finished run, flags after"
expect_out "already succeeded" "flags after resume's RUN_ID are taken"
pass "local commands: flags before and after the command, spaced and '=' forms"

# --- help, errors, --
for h in "help" "--help" "-h"; do o $h; expect_rc 0 "orch $h"; expect_out "exit status" "orch $h"; done
for cmd in run resume runs validate plugins control migrate gc instances; do
  o help $cmd; expect_rc 0 "orch help $cmd"; expect_out "usage" "orch help $cmd"; expect_out "exit status" "orch help $cmd"
  o $cmd --help; expect_rc 0 "orch $cmd --help"; expect_out "usage" "orch $cmd --help"
done
o runs show --help; expect_rc 0 "runs show --help"; expect_out "usage: orch runs" "help of a subcommand"
o help nosuch; expect_rc 2 "help of an unknown command"
o runs list --bogus; expect_rc 2 "unknown option"; expect_out "--bogus" "the option is named"
o runs list --limit; expect_rc 2 "missing value"; expect_out "wants a value" "missing value said"
o runs list --json=yes; expect_rc 2 "a value for a flag"; expect_out "takes no value" "flag value said"
o run "$T/wf.yaml" w --state-dir "$SD" --input who=a -- --json
expect_rc 2 "after --, --json is an argument (a third positional), not an option"
pass "help, usage errors, --"

# --- with a daemon
od_config "$T/orchd.yaml" <<EOF
version: 1
$OD_SERVER
worker: {tick: 100ms}
backends:
  here: {uses: local}
workflows:
  w:
    inputs: {who: {default: x}}
    steps:
      - {id: s, uses: exec, with: {run: "echo hi-\${{ inputs.who }}"}}
EOF
ORCH_STATE_DIR="$T/state-d" od_start "$T/orchd.yaml"
printf 'writer-token\n' >"$T/tok"
S="@G:server=unix:$OD_SOCK"
TF="@G:token-file=$T/tok"
forms 0 "" -- runs start w "$S" "$TF" "@F:input=who=bob" "@F:idempotency-key=r1"
api GET /v1/runs
D=$(resp "d['runs'][0]['id']")
od_wait_run "$D" succeeded
forms 0 "$D" -- runs list "$S" "$TF" @G:json "@F:state=succeeded"
forms 0 '"workflow": "w"' -- runs show "$D" "$S" "$TF" @G:json
forms 0 "hi-bob" -- runs logs "$D" s "$S" "$TF" @F:follow
forms 0 "run.finished" -- runs events "$D" "$S" "$TF"
forms 0 "" -- instances list "$S" "$TF" @G:json @F:all
o instances create here --server "unix:$OD_SOCK" --token-file="$T/tok" --label=team=x
expect_rc 0 "instances create, flags after"
I=$(tail -1 "$T/out")
o instances exec "$I" --server="unix:$OD_SOCK" --token-file "$T/tok" --env=A=1 -- sh -c 'echo a=$A --json'
expect_rc 0 "exec with flags after the id and a command after --"
expect_out "a=1 --json" "what follows -- reaches the command"
o --server "unix:$OD_SOCK" instances destroy "$I" --token-file "$T/tok"
expect_rc 0 "instances destroy"
od_stop
pass "daemon commands: flags before and after the command, spaced and '=' forms"
