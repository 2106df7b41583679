"""Rewrites an example workflow file for the tests, keeping everything but
where it runs as users see it: the first backend becomes the local backend,
a docker backend on the test engine and image (no registry and no network
here), an ssh backend on the test sshd, or a fly-machines backend on the
Machines API stand-in (with $ORCH_FLY_VOLUME mounted at
$ORCH_FLY_VOLUME_PATH when set).

usage: example.py SRC DST local|docker|ssh|fly [OLD=NEW ...]   (plain replacements)"""
import os
import re
import sys

src, dst, kind = sys.argv[1:4]
lines = open(src).read().split("\n")
start = lines.index("backends:") + 1
end = start + 1
while end < len(lines) and lines[end].startswith("    "):
    end += 1
name = lines[start].strip().split(":")[0]
if kind == "local":
    lines[start:end] = [f"  {name}: {{uses: local}}"]
elif kind == "fly":
    lines[start:end] = [f"  {name}:", "    uses: fly-machines", "    with:",
                        f"      api_url: {os.environ['ORCH_FLY_URL']}",
                        "      token: ${{ secrets.FLY_API_TOKEN }}",
                        "      app: orch-examples",
                        "      create_app: true",
                        "      image: orch-test/tools:2"]
    if os.environ.get("ORCH_FLY_VOLUME"):
        lines[start + 8:start + 8] = [f"      volume: {os.environ['ORCH_FLY_VOLUME']}",
                                      f"      volume_path: {os.environ['ORCH_FLY_VOLUME_PATH']}"]
elif kind == "ssh":
    d = os.environ["ORCH_SSH_DIR"]
    lines[start:end] = [f"  {name}:", "    uses: ssh", "    with:",
                        "      host: 127.0.0.1",
                        f"      port: {os.environ['ORCH_SSH_PORT']}",
                        f"      private_key_file: {d}/client_ed25519",
                        f"      known_hosts: {d}/known_hosts",
                        f"      root: {os.environ['T']}/ssh-instances"]
else:
    body = "\n".join(lines[start:end])
    sock = os.environ["ORCH_DOCKER_SOCKET"]
    body = re.sub(r"image: [^\n]*", f"image: orch-test/tools:2\n      socket: {sock}", body)
    body = re.sub(r"pull: [^\n]*", "pull: never", body)
    body = re.sub(r"\n      network: [^\n]*", "", body)
    body += "\n      network: none"
    lines[start:end] = body.split("\n")
text = "\n".join(lines)
for rep in sys.argv[4:]:
    old, new = rep.split("=", 1)
    text = text.replace(old, new)
open(dst, "w").write(text)
