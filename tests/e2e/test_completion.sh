# Shell completion: `orch completion bash|zsh|fish` prints a script that
# asks `orch __complete` for the words, and each shell completes commands,
# subcommands, options, the workflows of the file on the line, run ids and
# step ids from the store, and file names where a file goes. The words are
# checked against orch itself: every completed option is one the parser
# takes, every command of `orch --help` is completed and answers `orch help
# CMD`.
. "$(dirname "$0")/../lib/common.sh"
for sh in zsh fish; do
  command -v "$sh" >/dev/null || fail "$sh is not installed (scripts/deps.sh --test installs it)"
done
export PATH="$ORCH_BIN:$PATH" ORCH_STATE_DIR="$T/state"
cd "$T"
cat >wf.yaml <<'YAML'
version: 1
workflows:
  build:
    steps:
      - {id: compile, uses: exec, with: {run: "true"}}
      - {id: package, uses: exec, needs: [compile], with: {run: "true"}}
  deploy:
    steps:
      - {id: push, uses: exec, with: {run: "true"}}
YAML
orch run wf.yaml build >/dev/null || fail "the run to complete ids of"
RID=$(last_run_id)

# comp WORD...: what orch offers for the last word
comp() { orch __complete "$@"; }
comp "" >top
for c in run resume runs validate plugins instances control migrate gc health admin ticks completion; do
  grep -qx "$c" top || fail "command $c is not completed"
done
# Every command orch's usage lists is completed and has help.
orch --help | sed -n 's/^  \([a-z][a-z]*\) .*/\1/p' | sort -u >listed
while read -r c; do
  grep -qx "$c" top || fail "orch --help lists '$c', which is not completed"
done <listed
while read -r c; do
  case $c in help|pause|completion) continue ;; esac
  orch help "$c" >/dev/null 2>&1 || fail "'$c' is completed but orch help $c fails"
done <top
pass "every command is completed, and every completed command is one"

# Every option completed anywhere is one the parser takes: an unknown one
# is refused as such ("unknown option '--x'"); a known one gets past that
# (to "unknown command", or to its own check of the value x).
for path in "" run resume runs "runs list" "runs logs" "runs start" "runs approve" "runs discard" \
  migrate ticks health; do
  # shellcheck disable=SC2086
  comp $path - >opts
  [ -s opts ] || fail "no options completed for '$path'"
  while read -r opt; do
    set +e
    err=$(orch zz-no-command "$opt" x 2>&1)
    set -e
    case $err in
    *"unknown option '$opt'"*) fail "option $opt (completed for '$path') is not one orch takes" ;;
    esac
  done <opts
done
pass "every completed option is one orch's parser takes"

[ "$(comp run wf.yaml "" | sort | tr '\n' ' ')" = "build deploy " ] || fail "workflows of the file: $(comp run wf.yaml "")"
[ "$(comp run "")" = __files__ ] || fail "run's first argument is a file"
comp runs show "" | grepq -x "$RID" || fail "run ids from the store"
[ "$(comp runs logs "$RID" "" | sort | tr '\n' ' ')" = "compile package " ] || fail "the run's steps: $(comp runs logs "$RID" "")"
comp runs "" | grepq -x approve || fail "runs subcommands"
comp --state-dir "$T/nowhere" runs show "" >ids
[ ! -s ids ] && [ ! -e "$T/nowhere" ] || fail "a completion made a store, or found runs in an empty one"
pass "__complete: workflows from the file, run and step ids from the store, files where a file goes; no store made"

# The shells, each loading its script and completing a line.
orch completion bash >c.bash && bash -n c.bash || fail "the bash script does not parse"
out=$(bash -c '. ./c.bash; COMP_WORDS=(orch run wf.yaml de); COMP_CWORD=3; _orch; echo "${COMPREPLY[*]}"')
[ "$out" = deploy ] || fail "bash: 'orch run wf.yaml de' completes to '$out'"
out=$(bash -c '. ./c.bash; COMP_WORDS=(orch validate w); COMP_CWORD=2; _orch; echo "${COMPREPLY[*]}"')
[ "$out" = wf.yaml ] || fail "bash: a file name: '$out'"
out=$(bash -c '. ./c.bash; COMP_WORDS=(orch ru); COMP_CWORD=1; _orch; echo "${COMPREPLY[*]}"')
[ "$out" = "run runs" ] || fail "bash: 'orch ru': '$out'"
pass "bash: commands, workflows and files completed"

orch completion zsh >c.zsh && zsh -n c.zsh || fail "the zsh script does not parse"
zsh -c 'autoload -U compinit; compinit -u -d ./zcompdump; . ./c.zsh; whence -w _orch' | grepq function ||
  fail "zsh: the script does not load with compinit"
# Outside a completion widget: compadd and _files stand in, to see what
# _orch hands them.
out=$(zsh -c 'compdef() { :; }; . ./c.zsh; compadd() { shift; print -l -- "${(@P)1}"; }
  _files() { print FILES; }; words=(orch run wf.yaml ""); CURRENT=4; _orch
  words=(orch validate ""); CURRENT=3; _orch' | tr '\n' ' ')
[ "$out" = "build deploy FILES " ] || fail "zsh: '$out'"
pass "zsh: the script loads and completes workflows and files"

orch completion fish >c.fish && fish --no-execute c.fish || fail "the fish script does not parse"
out=$(fish -c 'source ./c.fish; complete -C "orch run wf.yaml "' | sort | tr '\n' ' ')
[ "$out" = "build deploy " ] || fail "fish: workflows: '$out'"
out=$(fish -c "source ./c.fish; complete -C 'orch runs show '" | tr '\n' ' ')
case $out in *"$RID"*) ;; *) fail "fish: run ids: '$out'" ;; esac
out=$(fish -c 'source ./c.fish; complete -C "orch validate wf"' | tr '\n' ' ')
[ "$out" = "wf.yaml " ] || fail "fish: files: '$out'"
pass "fish: workflows, run ids and files completed"

o completion tcsh
expect_rc 2 "an unknown shell"
expect_out "bash, zsh or fish" "names the shells there are"
pass "an unknown shell is refused, naming the ones there are"
