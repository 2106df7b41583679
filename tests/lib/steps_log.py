"""Check a log that step commands write about themselves, one line each:
`STEP start PID NS`, `STEP end PID NS [fail]`, `STEP overlap PID NS` (the
command found its step's lock already held: another copy was alive) and
`STEP killed PID NS` (the test itself ended that execution). Shared by
tests/e2e/test_concurrent_resume.sh and tests/chaos/test_chaos.sh.

    steps_log.py LOG [--ended-once] [--require A,B,...]

Always checked: no overlap line, and no two executions of one step whose
known spans overlap (an execution without an end line is open-ended
unless the test killed it; --open-ok treats such an execution as ending
at its start, for callers whose test leaves killed commands unrecorded).
--ended-once: every step ended (successfully) exactly once, killed
executions aside. --require: these steps ran. Exit 1 naming each problem."""
import argparse
import collections
import sys

ap = argparse.ArgumentParser()
ap.add_argument("log")
ap.add_argument("--ended-once", action="store_true")
ap.add_argument("--open-ok", action="store_true")
ap.add_argument("--require", default="")
a = ap.parse_args()

runs = collections.defaultdict(dict)  # step -> pid -> [start, end, failed, killed]
bad = []
try:
    lines = open(a.log).read().splitlines()
except FileNotFoundError:
    lines = []
for n, line in enumerate(lines, 1):
    f = line.split()
    if len(f) < 4:
        bad.append(f"{a.log}:{n}: torn line {line!r}")
        continue
    step, what, pid, ts = f[:4]
    ex = runs[step].setdefault(pid, [None, None, False, False])
    if what == "start":
        ex[0] = int(ts)
    elif what == "end":
        ex[1] = int(ts)
        ex[2] = "fail" in f[4:]
    elif what == "killed":
        ex[1] = int(ts)
        ex[3] = True
    elif what == "overlap":
        bad.append(f"{step}: OVERLAP: pid {pid} found the step's lock held at {ts}")
        runs[step].pop(pid, None)
    else:
        bad.append(f"{a.log}:{n}: unknown record {what!r}")
for step, ex in sorted(runs.items()):
    if a.ended_once:
        ends = [p for p, (s, e, failed, killed) in ex.items() if e is not None and not killed and not failed]
        if len(ends) != 1:
            bad.append(f"{step} ended {len(ends)} times")
    spans = []
    for pid, (s, e, _, _) in ex.items():
        if s is None:
            continue
        if e is None:
            e = s if a.open_ok else 2**63
        spans.append((s, e, pid))
    spans.sort()
    latest = None  # the execution seen so far that ends last
    for s2, e2, p2 in spans:
        if latest and s2 < latest[1]:
            s1, e1, p1 = latest
            bad.append(f"{step}: OVERLAP: pid {p2} started at {s2} while pid {p1} "
                       f"({s1}..{'open' if e1 == 2**63 else e1}) ran")
        if not latest or e2 > latest[1]:
            latest = (s2, e2, p2)
for s in filter(None, a.require.split(",")):
    if s not in runs:
        bad.append(f"{s} never ran")
if bad:
    print("\n".join(f"{a.log}: {b}" for b in bad), file=sys.stderr)
    sys.exit(1)
