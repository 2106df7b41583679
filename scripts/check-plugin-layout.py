#!/usr/bin/env python3
"""Check the in-tree plugins against docs/architecture.md, "Plugin layout
and names".

  scripts/check-plugin-layout.py [ROOT]

For each plugins/<kind>-<name>/ (kind backend, step or store):
- plugin.c exists and is the one file with ORCH_PLUGIN_DEFINE;
- with more than one .c file, the private header <name>.h exists;
- no .c file carries the plugin's name (<name>_*.c, *_<name>.c), and none
  shares its name with a .c file of core/ (a builtin's objects land in
  liborchcore, where tests/abi tells the core's objects by file name);
- no host->error_set message starts with the plugin's own name, id or kind
  ("ssh: ", "backend ssh: ", "backend-ssh: "): the core names the plugin.

ROOT defaults to this checkout (the test checks the checker on a tree made
to break each rule). Exit 0 when clean, 1 with each problem printed.
"""
import os
import re
import sys

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KINDS = ("backend", "step", "store")

# The first string literal of an error_set call: its format.
ERROR_SET_RE = re.compile(r'error_set\s*\([^;"]*"((?:[^"\\]|\\.)*)"', re.S)


def core_names():
    names = set()
    for dirpath, _, files in os.walk(os.path.join(ROOT, "core")):
        names.update(f for f in files if f.endswith(".c"))
    return names


def problems_of(d, kind, name, core):
    out = []
    files = sorted(os.listdir(d))
    cs = [f for f in files if f.endswith(".c")]
    if "plugin.c" not in cs:
        out.append("no plugin.c (the entry file)")
    for f in cs:
        with open(os.path.join(d, f), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        if "ORCH_PLUGIN_DEFINE(" in text and f != "plugin.c":
            out.append(f"{f} defines the entry: it belongs in plugin.c")
        stem = f[:-2]
        if stem != "plugin" and (stem.startswith(name + "_") or stem.endswith("_" + name)):
            out.append(f"{f} carries the plugin's name: name it by its concern")
        if f in core:
            out.append(f"{f} has the name of a core/ file: pick another")
        # Longest first, so the message names the prefix as written.
        names = [f"{kind} {name}", f"{kind}-{name}", name, name.split("-")[0], kind]
        for m in ERROR_SET_RE.finditer(text):
            fmt = m.group(1)
            for n in names:
                if fmt.startswith(n + ": ") or (n == kind and fmt.startswith(n + " ")):
                    line = text.count("\n", 0, m.start(1)) + 1
                    out.append(f'{f}:{line}: error message "{fmt[:40]}" starts with '
                               f'"{n}": the core names the plugin')
                    break
    if len(cs) > 1 and f"{name}.h" not in files:
        out.append(f"{len(cs)} .c files but no private header {name}.h")
    return out


def main():
    bad = 0
    base = os.path.join(ROOT, "plugins")
    core = core_names()
    for entry in sorted(os.listdir(base)):
        kind, _, name = entry.partition("-")
        d = os.path.join(base, entry)
        if kind not in KINDS or not name or not os.path.isdir(d):
            continue
        for p in problems_of(d, kind, name, core):
            print(f"plugins/{entry}: {p}")
            bad = 1
    return bad


if __name__ == "__main__":
    sys.exit(main())
