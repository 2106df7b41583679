#!/usr/bin/env python3
"""Write the fuzzers' seed corpora (tests/fuzz/corpus/<target>/) from the
shipped examples: config/examples (as YAML and as JSON) plus a daemon
config for fuzz_config, a request per route and method of
docs/api/openapi.yaml (with a body built from its request schema) for
fuzz_http, and a few ${{ }} texts for fuzz_template. The output is
committed; run this again when the examples or the API change:

    python3 tests/fuzz/make_corpus.py
"""
import json
import os
import shutil
import sys

import yaml

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(SRC, "tests", "fuzz", "corpus")

DAEMON_CONFIG = """version: 1
server:
  listen: 127.0.0.1:8080
  max_body: 64K
  tokens:
    - {name: admin, sha256: 0000000000000000000000000000000000000000000000000000000000000000, role: admin}
worker: {tick: 100ms, lease_ttl: 5s}
control: {paused: false, proof: true}
webhooks:
  build: {workflow: hello, secret: "${{ secrets.HOOK_KEY }}"}
notifications:
  - {url: "http://127.0.0.1:9/hook", on: [succeeded, failed], secret: "${{ secrets.NOTIFY_KEY }}"}
schedules:
  - {workflow: hello, cron: "*/5 * * * *", inputs: {who: cron}}
workflows:
  hello:
    inputs: {who: {default: world}}
    steps:
      - id: greet
        uses: exec
        retry: {attempts: 2, backoff: 10ms}
        timeout: 30s
        with: {run: "echo hello", env: {WHO: "${{ inputs.who }}"}}
      - id: gate
        uses: approval
        needs: [greet]
        if: ${{ success() && inputs.who != 'nobody' }}
        with: {message: "go?", inputs: {ticket: string}, required: [ticket]}
"""

TEMPLATES = [
    "${{ inputs.name }}",
    "hello ${{ inputs.who }} and ${{ steps.build.outputs.sha }}",
    "${{ success() && (inputs.num > 3 || !inputs.flag) }}",
    "${{ format('{0}-{1}', inputs.a, steps.b.outputs.c) }}",
    "${{ contains(inputs.list, 'x') && startsWith('abc', 'a') || endsWith('abc', 'c') }}",
    "${{ secrets.TOKEN }} ${{ env.HOME }} ${{ inputs['odd name'] }}",
    "${{ 'it''s' == 'IT''S' }} ${{ 1.5e3 <= 2000 }} ${{ null }}",
    "${{ failure() || cancelled() || always() }}",
    # toJSON of numbers past long long and past double (a fuzzer find)
    "${{ toJSON(7777777777777777777777777777777777777777777777) }} ${{ toJSON(1e999) }}",
    "${{ join(fromJSON('{\"a\": [1, \"b\", null]}').a, '-') }} ${{ fromJSON('[[1]]')[0][0] }}",
    "${{ contains(fromJSON(inputs.list), 'x') && (fromJSON('{}')).nope == null }}",
]


def sample(schema, comps):
    """A value for a JSON schema: its example, else a small plausible one."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return sample(comps["schemas"][name], comps)
    if "example" in schema:
        return schema["example"]
    t = schema.get("type")
    if t == "object":
        props = schema.get("properties", {})
        out = {k: sample(v, comps) for k, v in props.items()}
        if not props and schema.get("additionalProperties"):
            out = {"KEY": "value"}
        return out
    if t == "array":
        return [sample(schema.get("items", {"type": "string"}), comps)]
    if t == "boolean":
        return True
    if t in ("integer", "number"):
        return 1
    return "hello"


def http_corpus(dst):
    api = yaml.safe_load(open(os.path.join(SRC, "docs", "api", "openapi.yaml")))
    comps = api.get("components", {})
    # "@run": the harness puts the id of the last run it created there.
    ids = {"id": "@run", "step": "greet", "name": "hello",
           "exec": "x-01m8jq96mabn67djbkjg"}
    n = 0
    for path, ops in api["paths"].items():
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            # A reload waits for the daemon's main loop to apply it, which
            # the harness does not run: every input would hang there.
            if path == "/v1/admin/reload":
                continue
            target = path
            for k, v in ids.items():
                target = target.replace("{%s}" % k, v)
            if path.startswith("/v1/hooks/"):
                target = "/v1/hooks/build"  # the harness's webhook
            if target.startswith("/v1/instances/"):
                target = target.replace("@run", "i-01m8jq96cspetrexmxa2", 1)
            query = [p for p in op.get("parameters", []) if isinstance(p, dict) and
                     p.get("in") == "query"]
            if query:
                target += "?" + "&".join("%s=%s" % (p["name"], "true" if
                                         p["schema"].get("type") == "boolean" else "1")
                                         for p in query)
            body = b""
            rb = op.get("requestBody", {}).get("content", {}).get("application/json")
            if rb:
                value = sample(rb["schema"], comps)
                if path == "/v1/runs":
                    value = {"workflow": "hello", "inputs": {"who": "you"},
                             "idempotency_key": "k1"}
                if path == "/v1/instances" and method == "post":
                    value["backend"] = "local"
                body = json.dumps(value).encode()
            head = "%s %s HTTP/1.1\r\nHost: orchd\r\n" % (method.upper(), target)
            if op.get("security", None) != []:
                head += "Authorization: Bearer fuzz-admin\r\n"
            if path.startswith("/v1/hooks/"):
                head += "X-Fuzz-Sign: 1\r\nX-Orch-Delivery: d-1\r\n"
                body = json.dumps({"inputs": {"who": "hook"}}).encode()
            if body:
                head += "Content-Type: application/json\r\n"
            req = head.encode() + b"\r\n" + body
            n += 1
            name = "%02d-%s%s" % (n, method, path.replace("/", "_").replace("{", "").replace("}", ""))
            open(os.path.join(dst, name), "wb").write(req)
    # A few the schema does not describe: a reader token on an admin
    # route, a bad token, a deep body, bodies that are not objects.
    extra = {
        "x-reader-control": b"POST /v1/control HTTP/1.1\r\nAuthorization: Bearer fuzz-reader\r\n\r\n{\"paused\":true}",
        "x-bad-token": b"GET /v1/runs HTTP/1.1\r\nAuthorization: Bearer nope\r\n\r\n",
        "x-deep-body": b"POST /v1/runs HTTP/1.1\r\nAuthorization: Bearer fuzz-admin\r\n\r\n" + b"[" * 80 + b"]" * 80,
        "x-array-body": b"POST /v1/runs HTTP/1.1\r\nAuthorization: Bearer fuzz-admin\r\n\r\n[\"hello\"]",
        "x-list-runs-query": b"GET /v1/runs?state=queued&workflow=hello&limit=5 HTTP/1.1\r\nAuthorization: Bearer fuzz-admin\r\n\r\n",
        # The web UI: its files, a traversal, the session cookie (the hex
        # of fuzz-admin) with and without the CSRF header, a junk cookie.
        "x-ui-index": b"GET /ui/ HTTP/1.1\r\nHost: orchd\r\n\r\n",
        "x-ui-redirect": b"GET /ui HTTP/1.1\r\nHost: orchd\r\n\r\n",
        "x-ui-traversal": b"GET /ui/js/../../v1/openapi.yaml HTTP/1.1\r\nHost: orchd\r\n\r\n",
        "x-ui-post": b"POST /ui/index.html HTTP/1.1\r\nHost: orchd\r\n\r\n",
        "x-cookie-cancel": b"POST /v1/runs/@run/cancel HTTP/1.1\r\nHost: orchd\r\nOrigin: http://orchd\r\nSec-Fetch-Site: same-origin\r\nX-Orch-CSRF: 1\r\nCookie: theme=dark; orch_session=66757a7a2d61646d696e\r\n\r\n",
        "x-cookie-no-csrf": b"POST /v1/runs/@run/cancel HTTP/1.1\r\nHost: orchd\r\nCookie: orch_session=66757a7a2d61646d696e\r\n\r\n",
        "x-cookie-junk": b"GET /v1/whoami HTTP/1.1\r\nHost: orchd\r\nCookie: orch_session=zz; orch_session=6; xorch_session=00\r\n\r\n",
        "x-login-foreign": b"POST /v1/session HTTP/1.1\r\nHost: orchd\r\nOrigin: http://evil.example\r\nContent-Type: application/json\r\n\r\n{\"token\":\"fuzz-admin\"}",
    }
    for name, req in extra.items():
        open(os.path.join(dst, name), "wb").write(req)


# workflows_dir: fuzz_config runs where wf.d/a.yaml defines from-dir.
WFDIR_CONFIG = """version: 1
workflows_dir: wf.d
workflows:
  hello:
    steps:
      - {id: h, uses: exec, with: {run: "echo hello"}}
"""

# A run's snapshot of a dir file's workflow (core/config/snapshot.c).
SNAPSHOT = json.dumps({"orch_snapshot": 1, "main": WFDIR_CONFIG, "files": [
    {"path": "wf.d/deploy.yaml",
     "text": "workflows:\n  deploy:\n    steps:\n      - {id: d, uses: exec, with: {run: ship}}\n"}]},
    separators=(",", ":"))


def config_corpus(dst):
    ex = os.path.join(SRC, "config", "examples")
    for f in sorted(os.listdir(ex)):
        if not f.endswith(".yaml"):
            continue
        shutil.copy(os.path.join(ex, f), os.path.join(dst, f))
        doc = yaml.safe_load(open(os.path.join(ex, f)))
        open(os.path.join(dst, f[:-5] + ".json"), "w").write(json.dumps(doc, indent=1) + "\n")
    open(os.path.join(dst, "daemon.yaml"), "w").write(DAEMON_CONFIG)
    open(os.path.join(dst, "workflows-dir.yaml"), "w").write(WFDIR_CONFIG)
    open(os.path.join(dst, "snapshot.json"), "w").write(SNAPSHOT)


def template_corpus(dst):
    for i, t in enumerate(TEMPLATES):
        # The first byte picks the entry point (fuzz_template.c).
        for mode in range(4):
            open(os.path.join(dst, "t%02d-%d" % (i, mode)), "wb").write(bytes([mode]) + t.encode())


def main():
    for target, fill in (("http", http_corpus), ("config", config_corpus),
                         ("template", template_corpus)):
        dst = os.path.join(OUT, target)
        os.makedirs(dst, exist_ok=True)
        # This script's seeds are written again; the ones named by their
        # SHA-1 are inputs a fuzzer found and were kept: left as they are.
        for name in os.listdir(dst):
            if not (len(name) == 40 and all(c in "0123456789abcdef" for c in name)):
                os.remove(os.path.join(dst, name))
        fill(dst)
        print("%s: %d seeds" % (target, len(os.listdir(dst))), file=sys.stderr)


if __name__ == "__main__":
    main()
