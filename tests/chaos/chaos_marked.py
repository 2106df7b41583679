"""The live processes carrying the chaos test's marker: CHAOS_MARK=MARK in
their environment, or the test's directory T on their command line. One
line each, `PID COMMAND LINE`; zombies are dead and not listed.

    chaos_marked.py MARK T"""
import os
import sys

mark, t = ("CHAOS_MARK=" + sys.argv[1]).encode(), sys.argv[2].encode()
for pid in filter(str.isdigit, os.listdir("/proc")):
    if int(pid) in (os.getpid(), os.getppid()):
        continue
    try:
        env = open(f"/proc/{pid}/environ", "rb").read()
        cmd = open(f"/proc/{pid}/cmdline", "rb").read()
        st = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        continue
    if st not in "ZX" and (mark in env.split(b"\0") or t in cmd):
        print(pid, cmd.replace(b"\0", b" ").decode(errors="replace")[:200])
