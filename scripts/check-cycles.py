#!/usr/bin/env python3
"""Find cycles between source files, so the ones removed stay gone.

  scripts/check-cycles.py [--build DIR] [--calls-report]

Includes: every `#include "..."` in core/, tools/, plugins/ and sdk/ (.c
and .h), resolved the way the build's include paths do (the including
file's directory, then core/, sdk/include/,
sdk/testing/include/). Any cycle is an error.

Calls (with --build, a configured and built tree): which .c file uses a
global symbol another .c file defines, read from the object files that
compile_commands.json names (nm). A cycle is an error unless every file of
it lies inside one group of CALL_CYCLES_PENDING below: cycles other work
of issue 20 is removing. --calls-report prints every call cycle,
pending or not.

Exit 0 when clean, 1 with each cycle printed, 2 on usage errors.
"""
import json
import os
import re
import subprocess
import sys

# ORCH_CYCLES_ROOT: another tree (the test checks the checker on one).
ROOT = os.environ.get("ORCH_CYCLES_ROOT") or os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DIRS = ["core", "tools", "plugins", "sdk"]
INCLUDE_PATH = ["core", "sdk/include", "sdk/testing/include"]

# Call cycles that other work of issue 20 removes, each a group of files:
# a cycle inside one group is reported with --calls-report but does not
# fail. Remove a group when its cycle goes; never add one to hide a new
# cycle.
CALL_CYCLES_PENDING = [
]

INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def sources():
    for top in DIRS:
        for dirpath, _, names in os.walk(os.path.join(ROOT, top)):
            for n in names:
                if n.endswith((".c", ".h")):
                    yield os.path.relpath(os.path.join(dirpath, n), ROOT)


def include_graph():
    graph = {}
    for src in sources():
        with open(os.path.join(ROOT, src), encoding="utf-8", errors="replace") as f:
            text = f.read()
        edges = set()
        for inc in INCLUDE_RE.findall(text):
            for base in [os.path.dirname(src)] + INCLUDE_PATH:
                cand = os.path.normpath(os.path.join(base, inc))
                if os.path.isfile(os.path.join(ROOT, cand)):
                    edges.add(cand)
                    break
        graph[src] = edges
    return graph


def call_graph(build):
    db = os.path.join(build, "compile_commands.json")
    if not os.path.isfile(db):
        sys.exit(f"check-cycles: no {db} (configure the build first)")
    objs = {}
    for e in json.load(open(db)):
        src = os.path.relpath(os.path.join(e["directory"], e["file"]), ROOT)
        if not src.startswith(tuple(d + "/" for d in DIRS)):
            continue
        out = e.get("output")
        if not out:
            m = re.search(r"-o\s+(\S+)", e.get("command", ""))
            out = m and m.group(1)
        if out:
            objs.setdefault(src, []).append(os.path.join(e["directory"], out))
    defs, uses = {}, {}
    for src, paths in objs.items():
        for p in paths:
            if not os.path.isfile(p):
                continue
            res = subprocess.run(["nm", p], capture_output=True, text=True)
            for line in res.stdout.splitlines():
                parts = line.split()
                if len(parts) == 2 and parts[0] == "U":
                    uses.setdefault(src, set()).add(parts[1])
                elif len(parts) == 3 and parts[1] == "T":  # functions: a shared global (the host table) is no call
                    defs.setdefault(parts[2], set()).add(src)
    graph = {src: set() for src in objs}
    for src, syms in uses.items():
        for s in syms:
            where = defs.get(s, set())
            if len(where) == 1:  # main, orch_plugin_init...: not one file's
                (dst,) = where
                if dst != src:
                    graph[src].add(dst)
    return graph


def cycles(graph):
    """Strongly connected components of more than one file (Tarjan), and
    files that include themselves."""
    index, low, stack, on, out = {}, {}, [], set(), []
    sys.setrecursionlimit(100000)

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1 or v in graph.get(v, ()):
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def main(argv):
    build, report = None, False
    args = list(argv)
    while args:
        a = args.pop(0)
        if a == "--build" and args:
            build = args.pop(0)
        elif a == "--calls-report":
            report = True
        else:
            print(__doc__, file=sys.stderr)
            return 2
    bad = 0
    for comp in cycles(include_graph()):
        print("include cycle: " + " -> ".join(comp))
        bad = 1
    if build:
        for comp in cycles(call_graph(build)):
            pending = any(set(comp) <= group for group in CALL_CYCLES_PENDING)
            if not pending:
                print("call cycle: " + " <-> ".join(comp))
                bad = 1
            elif report:
                print("call cycle (pending): " + " <-> ".join(comp))
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
