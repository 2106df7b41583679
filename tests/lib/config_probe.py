#!/usr/bin/env python3
"""Checks the JSON Schema of the workflow file against orch's parser, both
ways: for every fixed-key mapping in the schema, a file with an unknown key
in that mapping makes `orch validate` list the keys it accepts there, and
the two lists must be equal. Then every given config file must validate
against the schema (jsonschema) and with `orch validate`.

usage: config_probe.py ORCH SCHEMA [CONFIG...]"""
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

PROBE = "zz_probe_key"


def resolve(node, defs):
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    return node


def walk(node, path, defs, out):
    """(path as a list of keys, '[]' for a list item, '*' for a free name)."""
    node = resolve(node, defs)
    for alt in node.get("oneOf", []):
        walk(alt, path, defs, out)
    if node.get("type") == "array" and "items" in node:
        walk(node["items"], path + ["[]"], defs, out)
    if node.get("type") != "object":
        return
    if "properties" in node and node.get("additionalProperties") is False:
        keys = set(node["properties"])
        if (path, keys) not in out:  # a $def reached twice by the same path
            out.append((path, keys))
        for key, sub in node["properties"].items():
            walk(sub, path + [key], defs, out)
    extra = node.get("additionalProperties")
    if isinstance(extra, dict):
        walk(extra, path + ["*"], defs, out)


# What a path needs around it so that the parser reaches the mapping at all.
CONTEXT = {"workflows": {"w": {"steps": [{"id": "a", "uses": "exec", "with": {"run": "true"}}]}}}


def build(path):
    """A document with {PROBE: 1} placed at path (a workflows path replaces
    the context's workflows; the others sit beside them)."""
    leaf = {PROBE: 1}
    for key in reversed(path):
        if key == "[]":
            leaf = [leaf]
        elif key == "*":
            leaf = {"w": leaf}
        else:
            leaf = {key: leaf}
    return {"version": 1, **CONTEXT, **leaf}


def accepted(orch, doc, tmp):
    path = os.path.join(tmp, "probe.json")
    json.dump(doc, open(path, "w"))
    r = subprocess.run([orch, "validate", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    m = re.search(rf"unknown key '{PROBE}' \(expected one of: ([^)]*)\)", r.stdout)
    if not m:
        return None, r.stdout
    return {k.strip() for k in m.group(1).split(",")}, r.stdout


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    orch, schema_path, configs = sys.argv[1], sys.argv[2], sys.argv[3:]
    schema = json.load(open(schema_path))
    jsonschema.Draft202012Validator.check_schema(schema)
    found = []
    walk(schema, [], schema["$defs"], found)
    bad = 0
    with tempfile.TemporaryDirectory() as tmp:
        for path, keys in found:
            name = ".".join(path) or "top level"
            got, out = accepted(orch, build(path), tmp)
            if got is None:
                print(f"FAIL: {name}: orch validate did not report the unknown key:\n{out}")
                bad += 1
            elif got != keys:
                print(f"FAIL: {name}: schema has {sorted(keys - got)} that orch refuses, "
                      f"orch accepts {sorted(got - keys)} that the schema lacks")
                bad += 1
            else:
                print(f"ok: {name}: {len(keys)} keys agree")
    validator = jsonschema.Draft202012Validator(schema)
    for cfg in configs:
        doc = yaml.safe_load(open(cfg))
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        for e in errors:
            print(f"FAIL: {cfg}: schema: {'.'.join(map(str, e.path))}: {e.message}")
        r = subprocess.run([orch, "validate", cfg], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
        if r.returncode != 0:
            print(f"FAIL: {cfg}: orch validate: {r.stdout}")
        if errors or r.returncode:
            bad += 1
        else:
            print(f"ok: {cfg}: valid for the schema and for orch")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
