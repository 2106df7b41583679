#!/bin/bash
# Every shipped example passes its inputs and step outputs to shell
# scripts through env:, never pasted into the script: config/examples,
# the packaged orchd.yaml files, and every YAML snippet of README.md and
# docs/ (docs/security.md, "Inputs are data"). The example files and the
# snippets that are whole workflow files must pass `orch validate` with no
# warning; every snippet is also read as YAML, and any `run:` whose text
# holds ${{ inputs.X }} or ${{ steps.ID.outputs.X }} fails the test.
. "$(dirname "$0")/../lib/common.sh"
: "${ORCH_SOURCE_DIR:?}"
S=$ORCH_SOURCE_DIR
mkdir -p "$T/snip"
python3 - "$S" "$T/snip" <<'PY' || fail "an example pastes untrusted text into a shell script (above)"
import glob, os, re, sys, yaml
src, out = sys.argv[1:3]
untrusted = re.compile(r"\$\{\{[^}]*\b(inputs\.[A-Za-z_]|steps\.[A-Za-z0-9_-]+\.outputs\.)")
errs = []
def walk(node, where):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "run" and isinstance(v, str) and untrusted.search(v):
                errs.append(f"{where}: run: {v.strip()[:80]!r}")
            walk(v, where)
    elif isinstance(node, list):
        for v in node:
            walk(v, where)
files = sorted(glob.glob(f"{src}/config/examples/*.yaml")) + [
    f"{src}/packaging/orchd.yaml", f"{src}/packaging/docker/orchd.yaml"]
files += sorted(glob.glob(f"{src}/tools/orch-plugin/**/*.yaml", recursive=True))
for f in files:
    walk(yaml.safe_load(open(f)), os.path.relpath(f, src))
n = 0
docs = [f"{src}/README.md"] + sorted(glob.glob(f"{src}/docs/**/*.md", recursive=True))
for d in docs:
    text = open(d).read()
    for m in re.finditer(r"```ya?ml\n(.*?)```", text, re.S):
        line = text.count("\n", 0, m.start()) + 2
        where = f"{os.path.relpath(d, src)}:{line}"
        try:
            doc = yaml.safe_load(m.group(1))
        except yaml.YAMLError:
            doc = None
        if doc is None:  # a fragment with "..." in it: check the lines themselves
            for i, l in enumerate(m.group(1).split("\n")):
                if re.search(r"\brun:", l) and untrusted.search(l):
                    errs.append(f"{os.path.relpath(d, src)}:{line + i}: {l.strip()[:80]}")
            continue
        walk(doc, where)
        if isinstance(doc, dict) and "version" in doc and "workflows" in doc:
            n += 1
            name = re.sub(r"[^A-Za-z0-9]+", "_", where)
            open(f"{out}/{name}.yaml", "w").write(m.group(1))
print("\n".join(errs), file=sys.stderr)
print(f"{n} whole-file snippets", file=sys.stderr)
sys.exit(1 if errs else 0)
PY
pass "no example or snippet pastes inputs or step outputs into run:"
export ORCH_ADMIN_TOKEN_SHA256=$(printf %064d 0) # the container's orchd.yaml reads it
for f in "$S"/config/examples/*.yaml "$S/packaging/orchd.yaml" "$S/packaging/docker/orchd.yaml" \
         "$T"/snip/*.yaml; do
  o validate "$f"
  case "$f" in
  "$T"/snip/*) ;; # a snippet may use a plugin or backend not set up here: warnings matter
  *) expect_rc 0 "orch validate $f" ;;
  esac
  expect_no_out "warning:" "orch validate $f prints no warning"
done
pass "the examples, the packaged configs and the whole-file snippets validate with no warning"
