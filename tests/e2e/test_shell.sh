# step-exec's shell: a run: script stops at its first failing command
# (sh -e, the new default), bash adds pipefail, python3 and a command
# line with {0} run the script as a file; defaults.run.shell of the file
# and of a workflow under the step's own. The script is never in a command
# line, and no file of it is left behind, even when the step is killed.
# Bad values are refused: at file:line:col where the core reads them, with
# the option named where step-exec reads them, before anything runs.
. "$(dirname "$0")/../lib/common.sh"

mkdir -p "$T/tmp"
export TMPDIR="$T/tmp" # the local backend's commands get orch's TMPDIR

cat >"$T/sh.yaml" <<YAML
version: 1
workflows:
  stops:
    steps:
      - id: a
        uses: exec
        with:
          run: |
            echo first-line
            false
            touch $T/after-false
  set_plus_e:
    steps:
      - id: a
        uses: exec
        with:
          run: |
            set +e
            false
            echo kept-going
  bash:
    steps:
      - id: pipe
        uses: exec
        continue_on_error: true
        with:
          shell: bash
          run: |
            echo "in bash \${BASH_VERSION%%.*}"
            false | true
            touch $T/after-pipe
      - id: words
        uses: exec
        with:
          shell: "sh -u {0}"
          run: 'echo "\$NOT_SET_ANYWHERE"; touch $T/after-unset'
        continue_on_error: true
      - id: py
        uses: exec
        with:
          shell: python3
          capture: true
          run: |
            import os, sys
            print("py", sys.argv[0], "ORCH_RUN_SCRIPT" in os.environ)
      - id: py_exit
        uses: exec
        continue_on_error: true
        with:
          shell: python3
          run: "import sys; sys.exit(7)"
YAML

# 1. sh -e: the line after the failing one never runs; set +e restores it.
o run "$T/sh.yaml" stops
expect_rc 1 "a script whose second line fails"
expect_out "command exited with status 1" "the failing line's status is the step's"
expect_out "first-line" "the lines before it ran"
[ ! -e "$T/after-false" ] || fail "the line after a failing one ran (no sh -e)"
o run "$T/sh.yaml" set_plus_e
expect_rc 0 "set +e in the script"
expect_out "kept-going" "set +e goes on after a failing line"
pass "run: stops at its first failing line (sh -e); set +e is the way back"

# 2. bash -eo pipefail, a command line with {0}, python3.
o run "$T/sh.yaml" bash
expect_rc 0 "the bash workflow (its failures continue on error)"
id=$(last_run_id)
expect_out "in bash 5" "shell: bash runs bash"
[ "$(state_of "$id" pipe)" = failed ] || fail "false | true under bash: $(state_of "$id" pipe)"
[ ! -e "$T/after-pipe" ] || fail "bash went on after a failed pipeline (no pipefail)"
[ "$(state_of "$id" words)" = failed ] || fail "sh -u {0} with an unset variable: $(state_of "$id" words)"
[ ! -e "$T/after-unset" ] || fail "sh -u {0}: the shell's own options were not given"
run_json "$id" >"$T/json"
out=$(jq_py "[a for a in d['attempts'] if a['step']=='py'][-1]['outputs']['stdout']" <"$T/json")
[ "$out" = "py /dev/fd/9 False" ] || fail "python3's script and environment: '$out'"
jq_py "[a for a in d['attempts'] if a['step']=='py_exit'][-1]['exit_code']" <"$T/json" >"$T/rc"
[ "$(cat "$T/rc")" = 7 ] || fail "python3's exit status: $(cat "$T/rc"), want 7"
pass "bash has pipefail, {0} takes the shell's own options, python3 runs the file; the script's variable is gone"

# 3. defaults.run.shell: the file's, a workflow's over it, the step's over both.
cat >"$T/defaults.yaml" <<YAML
version: 1
defaults:
  run: {shell: bash}
workflows:
  file_default:
    steps:
      - {id: a, uses: exec, with: {run: 'echo "file=\${BASH_VERSION:+bash}"'}}
  wf_default:
    defaults:
      run: {shell: "sh -e {0}"}
    steps:
      - {id: a, uses: exec, with: {run: 'echo "wf=\${BASH_VERSION:-sh}"'}}
      - {id: b, uses: exec, with: {shell: python3, run: 'print("step=python")'}}
      - {id: c, uses: exec, with: {argv: [echo, "argv=untouched"]}}
YAML
o validate "$T/defaults.yaml"
expect_rc 0 "a file with defaults.run.shell"
o run "$T/defaults.yaml" file_default
expect_rc 0 "the file's default shell"
expect_out "file=bash" "defaults.run.shell of the file"
o run "$T/defaults.yaml" wf_default
expect_rc 0 "the workflow's default shell"
expect_out "wf=sh" "the workflow's defaults.run.shell over the file's"
expect_out "step=python" "the step's shell over both"
expect_out "argv=untouched" "an argv step gets no shell from the defaults"
pass "defaults.run.shell: step over workflow over file; argv steps untouched"

# 4. Refusals. Where the core reads them: at file:line:col, in one pass.
cat >"$T/bad.yaml" <<YAML
version: 1
defaults:
  run: {shell: [bash]}
workflows:
  w:
    defaults:
      run: {shell: "\${{ inputs.sh }}", interpreter: x}
    steps:
      - {id: a, uses: exec, with: {run: 'true'}}
YAML
o validate "$T/bad.yaml"
expect_rc 2 "bad defaults.run"
expect_out "bad.yaml:3:16: defaults.run.shell must be a non-empty string" "the file's, at its place"
expect_out "bad.yaml:7:40: workflow w: defaults.run: unknown key 'interpreter'" "an unknown key"
expect_out "bad.yaml:7:20: workflow w: defaults.run.shell must be a non-empty string without" "a template"
# Where step-exec reads them: the step fails naming the option; nothing ran.
cat >"$T/bad2.yaml" <<YAML
version: 1
workflows:
  name:
    steps:
      - {id: a, uses: exec, with: {shell: bsh, run: 'touch $T/ran'}}
  with_argv:
    steps:
      - {id: a, uses: exec, with: {shell: bash, argv: [touch, $T/ran]}}
  ctl:
    steps:
      - {id: a, uses: exec, with: {shell: "sh {0}\u0007", run: 'touch $T/ran'}}
  no_tmp:
    env: {TMPDIR: $T/no-such-dir}
    steps:
      - {id: a, uses: exec, with: {run: 'touch $T/ran'}}
YAML
o run "$T/bad2.yaml" name
expect_rc 1 "shell: bsh"
expect_out "option 'shell': 'bsh' is not sh, bash or python3 and has no {0}" "an unknown name"
o run "$T/bad2.yaml" with_argv
expect_rc 1 "shell with argv"
expect_out "option 'shell' runs a 'run' script" "shell with argv"
o run "$T/bad2.yaml" ctl
expect_rc 1 "a control character in shell"
expect_out "option 'shell': a control character" "a control character"
[ ! -e "$T/ran" ] || fail "a step with a bad shell ran its command"
# The script needs no temporary directory: it is a here-document.
o run "$T/bad2.yaml" no_tmp
expect_rc 0 "a TMPDIR that does not exist"
[ -e "$T/ran" ] || fail "with TMPDIR missing the script did not run"
rm -f "$T/ran"
# Over the limit of one environment variable: said, not E2BIG.
python3 - "$T/big.yaml" <<'PY'
import sys
body = "".join("echo line %06d\n" % i for i in range(9000))  # ~153 KB
open(sys.argv[1], "w").write("version: 1\nworkflows:\n  big:\n    steps:\n"
    "      - id: a\n        uses: exec\n        with:\n          run: |\n"
    + "".join("            " + l + "\n" for l in body.splitlines()))
PY
# Under it, a 100 KB script (more than a pipe holds: dash forks a writer
# for the here-document) runs whole, under each kind of shell.
python3 - "$T/fits.yaml" <<'PY'
import sys
body = "".join(": padding line %06d\n" % i for i in range(4000)) + 'echo "fits-$1-end"\n'
steps = "".join("      - id: %s\n        uses: exec\n        with:\n          shell: %s\n"
                "          run: |\n" % (n, sh)
                + "".join("            " + l + "\n" for l in body.replace("$1", n).splitlines())
                for n, sh in (("dflt", "sh"), ("viabash", "bash"), ("words", '"sh -e {0}"')))
open(sys.argv[1], "w").write("version: 1\nworkflows:\n  fits:\n    steps:\n" + steps)
PY
o run "$T/fits.yaml" fits
expect_rc 0 "100 KB scripts"
for n in dflt viabash words; do expect_out "fits-$n-end" "the 100 KB script under $n ran to its end"; done
o run "$T/big.yaml" big
expect_rc 1 "a 150 KB script"
expect_out "more than 130816 (it reaches the instance in one environment variable)" "the size limit named"
pass "bad shells refused: at file:line:col by validate, naming the option before anything runs"

# 5. A secret in a script no POSIX shell runs is refused (its reference
#    would be shell syntax in Python); in env: it reaches the script.
export ORCH_SECRET_TOKEN=tok-0123456789abcdef
cat >"$T/secret.yaml" <<YAML
version: 1
workflows:
  pasted:
    steps:
      - {id: a, uses: exec, with: {shell: python3, run: 'print("\${{ secrets.TOKEN }}")'}}
  in_env:
    steps:
      - id: a
        uses: exec
        env: {TOKEN: "\${{ secrets.TOKEN }}"}
        with:
          shell: python3
          run: |
            import os
            print("token length", len(os.environ["TOKEN"]))
YAML
o run "$T/secret.yaml" pasted
expect_rc 1 "a secret pasted into a python3 script"
expect_out "a secret in a script for shell 'python3' cannot be passed" "said why"
expect_no_out "tok-0123456789abcdef" "the secret"
o run "$T/secret.yaml" in_env
expect_rc 0 "a secret through env: to python3"
expect_out "token length 20" "the secret reached the script through its environment"
expect_no_out "tok-0123456789abcdef" "the secret"
pass "a secret reaches a non-POSIX script only through env:"

# 6. The script is in no process's command line while it runs, and has no
#    name in TMPDIR once its shell starts.
cat >"$T/scan.yaml" <<YAML
version: 1
workflows:
  long:
    steps:
      - id: a
        uses: exec
        with:
          run: |
            : unique-script-text-5bd0c2
            touch $T/started
            while [ ! -e $T/release ]; do sleep 0.1; done
YAML
"$ORCH" run "$T/scan.yaml" long >"$T/scan.out" 2>&1 &
pid=$!
wait_file "$T/started" 60
SCAN_SECRET=unique-script-text-5bd0c2 SCAN_MARKER="sleep" python3 "$(dirname "$0")/../lib/cmdline_scan.py" ||
  fail "the script's text is in a command line, or the scan saw no sleep"
left=$(find "$T/tmp" -name "orch-run.*")
[ -z "$left" ] || fail "while the script runs TMPDIR holds: $left"
touch "$T/release"
wait "$pid" || fail "the long script failed: $(cat "$T/scan.out")"
pass "the script is in no command line and has no name in TMPDIR while it runs"

# 7. Killed by its timeout: nothing left in TMPDIR either.
cat >"$T/killed.yaml" <<YAML
version: 1
workflows:
  killed:
    steps:
      - id: a
        uses: exec
        timeout: 1s
        with: {run: 'echo "\$\$" > $T/pid; exec sleep 300'}
YAML
o run "$T/killed.yaml" killed
expect_rc 1 "a script killed by its timeout"
expect_dead_pids "$T/pid" "the timed-out script's shell"
left=$(find "$T/tmp" -name "orch-run.*")
[ -z "$left" ] || fail "after a kill TMPDIR holds: $left"
pass "a killed script leaves no file behind"
