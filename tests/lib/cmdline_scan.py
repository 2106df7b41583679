"""Wait (up to 60 s) until a process whose command line holds $SCAN_MARKER
exists, then check every /proc/*/cmdline for $SCAN_SECRET over a few
passes. The secret comes from the environment, never argv, so this
scanner's own command line cannot hold it. Exit 0: seen, no leak; 1: a
process showed the secret (its pid and program named, not the secret); 2:
the marked process never appeared."""
import os
import sys
import time

secret = os.environ["SCAN_SECRET"].encode()
marker = os.environ["SCAN_MARKER"].encode()
me = str(os.getpid())


def cmdlines():
    for pid in os.listdir("/proc"):
        if not pid.isdigit() or pid == me:
            continue
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                yield pid, f.read()
        except OSError:
            pass


leaks = set()
seen = False
deadline = time.monotonic() + 60
passes_after = 0
while time.monotonic() < deadline and passes_after < 20:
    for pid, cl in cmdlines():
        if secret in cl:
            prog = cl.split(b"\0")[0].decode(errors="replace")
            leaks.add(f"pid {pid} ({prog})")
        if marker in cl:
            seen = True
    if seen:
        passes_after += 1
    time.sleep(0.05)
if leaks:
    print("the secret is in the command line of: " + ", ".join(sorted(leaks)))
    sys.exit(1)
if not seen:
    print("no process with the marker appeared within 60 s")
    sys.exit(2)
print("seen, no leak")
