"""Workload files for bench/run.sh: the same DAG for orch, make, ninja,
snakemake and cwltool. usage: gen.py DIR"""
import os
import sys

d = sys.argv[1]
os.makedirs(d, exist_ok=True)


def w(name, text):
    with open(os.path.join(d, name), "w") as f:
        f.write(text)


CHAIN, FAN = 200, 1000
# orch: every step runs `true` directly (argv, no shell), every state
# transition persisted in the embedded SQLite store.
steps = [f"      - {{id: s{i}, uses: exec{', needs: [s%d]' % (i - 1) if i else ''}, "
         f"with: {{argv: [\"true\"]}}}}" for i in range(CHAIN)]
w("chain.yaml", "version: 1\ndefaults: {concurrency: 2}\nworkflows:\n  chain:\n    steps:\n"
  + "\n".join(steps) + "\n")
steps = [f"      - {{id: s{i}, uses: exec, with: {{argv: [\"true\"]}}}}" for i in range(FAN)]
steps.append("      - {id: join, uses: exec, needs: [" + ", ".join(f"s{i}" for i in range(FAN))
             + "], with: {argv: [\"true\"]}}")
w("fan.yaml", "version: 1\ndefaults: {concurrency: 2}\nworkflows:\n  fan:\n    steps:\n"
  + "\n".join(steps) + "\n")
w("one.yaml", "version: 1\nworkflows:\n  one:\n    steps:\n"
  "      - {id: a, uses: exec, with: {argv: [\"true\"]}}\n")

# make: phony targets (always run), recipes exec'd without a shell.
mk = [".PHONY: all " + " ".join(f"s{i}" for i in range(CHAIN)), f"all: s{CHAIN - 1}"]
mk += [f"s{i}:{' s%d' % (i - 1) if i else ''}\n\t@true" for i in range(CHAIN)]
w("chain.mk", "\n".join(mk) + "\n")
mk = [".PHONY: all join " + " ".join(f"s{i}" for i in range(FAN)), "all: join",
      "join: " + " ".join(f"s{i}" for i in range(FAN)) + "\n\t@true"]
mk += [f"s{i}:\n\t@true" for i in range(FAN)]
w("fan.mk", "\n".join(mk) + "\n")
w("one.mk", ".PHONY: a\na:\n\t@true\n")

# ninja: phony outputs are always out of date only if missing; the
# commands touch nothing, so every edge runs each time.
nj = ["rule t\n  command = true"]
nj += [f"build s{i}: t{' s%d' % (i - 1) if i else ''}" for i in range(CHAIN)]
w("chain.ninja", "\n".join(nj) + f"\ndefault s{CHAIN - 1}\n")
nj = ["rule t\n  command = true"] + [f"build s{i}: t" for i in range(FAN)]
nj.append("build join: t " + " ".join(f"s{i}" for i in range(FAN)))
w("fan.ninja", "\n".join(nj) + "\ndefault join\n")
w("one.ninja", "rule t\n  command = true\nbuild a: t\ndefault a\n")

# snakemake: rules without outputs run every time they are targeted; a
# chain through marker files (removed before each repeat).
sm = [f"rule all:\n    input: 'm/s{CHAIN - 1}'"]
for i in range(CHAIN):
    dep = f"\n    input: 'm/s{i - 1}'" if i else ""
    sm.append(f"rule s{i}:{dep}\n    output: 'm/s{i}'\n    shell: 'true && touch {{output}}'")
w("chain.smk", "\n".join(sm) + "\n")

# cwltool: a workflow of 200 chained CommandLineTool steps running `true`
# would take hours at cwltool's per-step cost; 20 steps, scaled per step.
CWL = 20
tool = "cwlVersion: v1.2\nclass: CommandLineTool\nbaseCommand: 'true'\ninputs:\n  after: {type: Any?}\n" \
       "outputs:\n  done: {type: int, outputBinding: {outputEval: '$(0)'}}\nrequirements:\n  InlineJavascriptRequirement: {}\n"
w("true.cwl", tool)
wf = ["cwlVersion: v1.2", "class: Workflow", "inputs: []", "outputs: []", "steps:"]
for i in range(CWL):
    after = f"s{i - 1}/done" if i else None
    wf.append(f"  s{i}:\n    run: true.cwl\n    in: {{after: {{source: {after}}}}}\n    out: [done]"
              if after else f"  s{i}:\n    run: true.cwl\n    in: {{}}\n    out: [done]")
w("chain.cwl", "\n".join(wf) + "\n")
