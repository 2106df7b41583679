#!/bin/bash
# The deployment files agree with what they deploy: fly.toml mounts its
# volume where the image keeps state, routes to the port orchd listens on,
# checks a health route that exists, and gives orchd longer to stop than
# its stop_grace; the man pages render without warnings and name every
# option the binaries accept.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}"
S=$ORCH_SOURCE_DIR
python3 - "$S" <<'PY' || fail "fly.toml disagrees with the image (above)"
import os, re, sys, tomllib, yaml
src = sys.argv[1]
fly = tomllib.load(open(f"{src}/packaging/fly/fly.toml", "rb"))
cfg = yaml.safe_load(open(f"{src}/packaging/docker/orchd.yaml"))
docker = open(f"{src}/packaging/docker/Dockerfile").read()
api = yaml.safe_load(open(f"{src}/docs/api/openapi.yaml"))
def dur(s): return float(s[:-1]) * {"s": 1, "m": 60}[s[-1]]
errs = []
state = cfg["defaults"]["state_dir"]
if fly["mounts"]["destination"] != state: errs.append(f"mount at {fly['mounts']['destination']}, state in {state}")
if f'VOLUME ["{state}"]' not in docker: errs.append(f"the Dockerfile declares no VOLUME {state}")
if fly["env"].get("ORCH_STATE_DIR") != state: errs.append("ORCH_STATE_DIR differs from the state dir")
port = int(cfg["server"]["listen"].rsplit(":", 1)[1])
if fly["http_service"]["internal_port"] != port: errs.append(f"internal_port {fly['http_service']['internal_port']}, orchd on {port}")
if f"EXPOSE {port}" not in docker: errs.append(f"the Dockerfile does not EXPOSE {port}")
for c in fly["http_service"]["checks"]:
    if c["path"] not in api["paths"]: errs.append(f"check path {c['path']} is not an API route")
if fly["kill_timeout"] <= dur(cfg["worker"]["stop_grace"]): errs.append("kill_timeout is not above worker.stop_grace")
if fly["kill_signal"] != "SIGTERM": errs.append("kill_signal is not SIGTERM")
df = os.path.normpath(os.path.join(f"{src}/packaging/fly", fly["build"]["dockerfile"]))
if df != os.path.normpath(f"{src}/packaging/docker/Dockerfile"): errs.append(f"build.dockerfile points at {df}")
if fly["http_service"].get("auto_stop_machines") not in ("off", False): errs.append("auto_stop would stop schedules")
for e in errs: print("FAIL:", e)
sys.exit(1 if errs else 0)
PY
pass "fly.toml: volume, port, health check, kill timeout, Dockerfile agree with the image"

for page in "$S"/docs/man/*.[158]; do
  name=$(basename "$page")
  # Wide lines, no hyphenation: an option is found whole in the text.
  MANWIDTH=250 MAN_KEEP_FORMATTING= man --warnings -l "$page" 2>"$T/warn" | col -b >"$T/$name.txt" ||
    fail "man $name"
  [ ! -s "$T/warn" ] || { cat "$T/warn"; fail "$name renders with warnings"; }
  [ -s "$T/$name.txt" ] || fail "$name renders empty"
done
for pair in "orch:orch.1" "orchd:orchd.8" "orch-plugin:orch-plugin.1"; do
  missing=$("$ORCH_BIN/${pair%%:*}" --help 2>&1 | grep -oE -- '--[a-z][a-z-]+' | sort -u |
    while read -r opt; do grep -qF -- "$opt" "$T/${pair#*:}.txt" || echo "$opt"; done)
  [ -z "$missing" ] || fail "${pair#*:} lacks options of ${pair%%:*} --help: $(echo $missing)"
done
pass "man pages render cleanly and document every option of orch, orchd and orch-plugin"
