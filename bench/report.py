"""results.tsv -> results.md (the table, with ratios to the reference tool
of each workload) and plot.dat for plots.gp.
usage: report.py TSV MD LOAD_START LOAD_END VERSION..."""
import collections
import os
import sys

tsv, md, load0, load1, *versions = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(tsv) if l.strip()]
by = collections.OrderedDict()
for r in rows:
    by.setdefault(r[0], []).append(r)
# Each workload's ratios are to this tool (what orch must be measured by).
ref = {"chain-200": "make", "fan-1000": "make", "start-1": "make",
       "docker-first-step": "docker-run-rm", "docker-exec": "docker-exec",
       "durable-queue-10000": "graphile-worker"}
out = ["# Benchmark results", "",
       f"Machine load (1/5/15 min) at start: {load0}; at end: {load1}.", "",
       "Versions: " + "; ".join(versions), "",
       "| workload | tool | median | min | max | n | vs ref | command |",
       "|---|---|---|---|---|---|---|---|"]
plot = []
for wl, rs in by.items():
    base = next((float(r[2]) for r in rs if r[1] == ref.get(wl) and r[2] not in ("failed", "")), None)
    floor = next((float(r[2]) for r in rs if r[1] == "spawn-floor"), None)
    for r in rs:
        ratio = ""
        try:
            v = float(r[2])
            if base:
                ratio = f"{v / base:.2f}x"
            plot.append((wl, r[1], v))
        except ValueError:
            pass
        unit = " ms" if r[3] else ""
        cmd = r[6].replace("|", "\\|")
        out.append(f"| {wl} | {r[1]} | {r[2]}{unit} | {r[3]} | {r[4]} | {r[5]} | {ratio} | `{cmd}` |")
    if floor and wl.startswith(("chain", "fan")):
        n = 200 if wl.startswith("chain") else 1001
        for r in rs:
            try:
                over = (float(r[2]) - floor) / n
                out.append(f"| {wl} | {r[1]} overhead | {over:.3f} ms/step above the spawn floor | | | | | |")
            except ValueError:
                pass
open(md, "w").write("\n".join(out) + "\n")
# One data file a workload ("tool" ms), for plots.gp.
d = os.path.dirname(os.path.abspath(md))
for wl in ("chain-200", "fan-1000", "start-1"):
    with open(f"{d}/plot-{wl}.dat", "w") as f:
        f.writelines(f'"{t}" {v}\n' for w_, t, v in plot if w_ == wl)
