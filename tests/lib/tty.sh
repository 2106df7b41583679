# Helpers for tests that drive orch on a terminal: tmux panes of a given
# size, their screen and scrollback captured, the bytes written to them
# kept in $T/raw. Source after common.sh (a test that also stops a daemon
# sets its own EXIT trap, calling tty_cleanup).
command -v tmux >/dev/null || fail "tmux is not installed (scripts/deps.sh --test installs it)"
export TMUX_TMPDIR="$T" # tmux servers of this test's own
TTY_S=orch-tty
# A server (socket) per pane: a server being killed while the next one
# starts on the same socket makes tmux exit "server exited unexpectedly".
TTY_K=0
tm() { tmux -L "p$TTY_K" "$@"; }
tty_cleanup() {
  local k
  for ((k = 0; k <= TTY_K; k++)); do tmux -L "p$k" kill-server 2>/dev/null || true; done
}
trap 'tty_cleanup; t_cleanup' EXIT

# tty_start COLS ROWS [ENV...] -- WORDS...: `orch WORDS` (a shell's words)
# in a fresh COLSxROWS pane with TERM=xterm-256color and ENV; its exit
# status goes to $T/exit. orch starts once the pane has its size (a pane
# resized while orch draws moves its lines: that is the terminal's doing,
# not orch's).
tty_start() {
  local cols=$1 rows=$2
  shift 2
  local envs=()
  while [ "$1" != -- ]; do envs+=("$1"); shift; done
  shift
  rm -f "$T/exit" "$T/begin"
  tm kill-server 2>/dev/null || true
  TTY_K=$((TTY_K + 1))
  tm new-session -d -s "$TTY_S" -x "$cols" -y "$rows" \
    "while [ ! -e '$T/begin' ]; do sleep 0.05; done; env TERM=xterm-256color ${envs[*]} '$ORCH' $*; echo \$? >'$T/exit'; sleep 600"
  tm set -g status off
  wait_until "the pane to be ${cols}x$rows" pane_is "$cols" "$rows"
  tm pipe-pane -t "$TTY_S" -o "cat >'$T/raw'"
  touch "$T/begin"
}
pane_is() { [ "$(tm display -p -t "$TTY_S" '#{pane_width}x#{pane_height}')" = "$1x$2" ]; }
tty_keys() { tm send-keys -t "$TTY_S" "$@"; }
# The screen (with -e its colours too) or the whole scrollback, in $T/screen.
screen() { tm capture-pane -p -t "$TTY_S" >"$T/screen"; }
screen_esc() { tm capture-pane -p -e -t "$TTY_S" >"$T/screen"; }
scrollback() { tm capture-pane -p -S -2000 -t "$TTY_S" >"$T/screen"; }
ended() { [ -s "$T/exit" ]; }
