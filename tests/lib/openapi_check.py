"""Validate a JSON answer against a schema of docs/api/openapi.yaml.

usage: openapi_check.py OPENAPI_YAML SCHEMA_NAME FILE
OpenAPI 3.0's `nullable: true` becomes JSON Schema's type [T, "null"];
$refs resolve inside the OpenAPI document. Exit 1 naming each mismatch.
"""
import json
import sys

import jsonschema
import yaml


def nullable(node):
    if isinstance(node, dict):
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        for v in node.values():
            nullable(v)
    elif isinstance(node, list):
        for v in node:
            nullable(v)


spec = yaml.safe_load(open(sys.argv[1]))
nullable(spec)
root = {"$ref": "#/components/schemas/" + sys.argv[2], "components": spec["components"]}
doc = json.load(open(sys.argv[3]))
errors = list(jsonschema.Draft7Validator(root).iter_errors(doc))
for e in errors:
    print(f"{sys.argv[3]}: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}")
sys.exit(1 if errors else 0)
