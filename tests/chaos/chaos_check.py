"""The chaos test's verdict, from the store (`orch --json runs ...`) and the
records the steps wrote (T/rec/TAG.log):

    chaos_check.py T ORCH TAGS   (TAGS: a file of `TAG FATE` lines)

For every tag: exactly one run, terminal, in the expected state (fate ok:
succeeded; doom: failed at fin), run.finished written once; per step, no
attempt after a succeeded one, the last attempt in the expected state, no
attempt row left running; every instance destroyed; in the records, no
overlap (tests/lib/steps_log.py), no more executions than attempt rows, no
execution started after the step's success was recorded, and each success
backed by an execution that ended well before it was recorded. Prints every
problem with its evidence; exit 1 if any."""
import collections
import json
import os
import subprocess
import sys

T, ORCH, tags_file = sys.argv[1:4]
here = os.path.dirname(os.path.abspath(__file__))
steps_log = os.path.join(here, "..", "lib", "steps_log.py")
sys.path.insert(0, os.path.join(here, "..", "lib"))
from api_time import ns  # noqa: E402  (the records' times are integer ns)
meta = json.load(open(f"{T}/steps.json"))
fates = dict(l.split() for l in open(tags_file) if l.strip())


def orch_json(*args):
    out = subprocess.run([ORCH, "--json", *args], capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"chaos_check: orch {' '.join(args)} exited {out.returncode}: {out.stderr}")
    return json.loads(out.stdout)


runs_by_tag = collections.defaultdict(list)
for r in orch_json("runs", "list", "--limit", "100000"):
    runs_by_tag[(r.get("inputs") or {}).get("tag")].append(r["id"])

problems = []          # (tag or None, text)
evidence_tags = set()


def problem(tag, text):
    problems.append((tag, text))
    evidence_tags.add(tag)


def records(tag):
    ex = collections.defaultdict(list)   # step -> [(what, pid, ts, failed)]
    try:
        for line in open(f"{T}/rec/{tag}.log"):
            f = line.split()
            if len(f) >= 4:
                ex[f[0]].append((f[1], f[2], int(f[3]), "fail" in f[4:]))
    except FileNotFoundError:
        pass
    return ex


stats = collections.Counter()
for tag, fate in sorted(fates.items()):
    ids = runs_by_tag.get(tag, [])
    if len(ids) != 1:
        problem(tag, f"LOST RUN: {len(ids)} runs carry tag {tag}: {ids}")
        continue
    rid = ids[0]
    doc = orch_json("runs", "show", rid)
    want = "succeeded" if fate == "ok" else "failed"
    if doc["state"] != want:
        problem(tag, f"run {rid}: state {doc['state']}, expected {want} (error: {doc.get('error')})")
    fin_events = [e for e in orch_json("runs", "events", rid) if e["type"] == "run.finished"]
    if len(fin_events) != 1:
        problem(tag, f"run {rid}: run.finished written {len(fin_events)} times")
    by_step = collections.defaultdict(list)
    for a in doc["attempts"]:
        by_step[a["step"]].append(a)
    rec = records(tag)
    for s, m in meta.items():
        atts = sorted(by_step.get(s, []), key=lambda a: a["attempt"])
        stats["attempts"] += len(atts)
        stats["unknown"] += sum(a["state"] == "unknown" for a in atts)
        ok = [a for a in atts if a["state"] == "succeeded"]
        if ok and atts[-1] is not ok[0]:
            problem(tag, f"RE-RUN AFTER SUCCESS: {rid} step {s}: attempts after succeeded attempt "
                         f"{ok[0]['attempt']}: {[(a['attempt'], a['state']) for a in atts]}")
        if any(a["state"] in ("running", "pending") for a in atts):
            problem(tag, f"run {rid} step {s}: an attempt left {[(a['attempt'], a['state']) for a in atts]}")
        last_want = "failed" if (s == "fin" and fate != "ok") else "succeeded"
        if not atts or atts[-1]["state"] != last_want:
            problem(tag, f"run {rid} step {s}: last attempt {atts[-1]['state'] if atts else 'missing'}, "
                         f"expected {last_want}")
        ex = rec.get(s, [])
        starts = [e for e in ex if e[0] in ("start", "overlap")]
        if len(starts) > len(atts):
            problem(tag, f"run {rid} step {s}: {len(starts)} executions, {len(atts)} attempt rows")
        if ok:
            done = ns(ok[0]["finished"])
            late = [e for e in starts if e[2] > done]
            if late:
                problem(tag, f"RE-RUN AFTER SUCCESS: {rid} step {s}: executions {late} started after "
                             f"the success recorded at {done}")
            if not any(e[0] == "end" and not e[3] and e[2] <= done for e in ex):
                problem(tag, f"run {rid} step {s}: succeeded at {done} with no execution that ended well before")
    for i in doc.get("instances", []):
        stats["instances"] += 1
        if i["state"] != 4:
            problem(tag, f"run {rid}: instance {i['id']} left in state {i['state']} (4 = destroyed)")
    chk = subprocess.run([sys.executable, steps_log, f"{T}/rec/{tag}.log", "--open-ok"],
                         capture_output=True, text=True)
    if chk.returncode != 0:
        for l in chk.stderr.splitlines():
            problem(tag, l)

print(f"chaos: {len(fates)} runs, {stats['attempts']} attempts ({stats['unknown']} unknown), "
      f"{stats['instances']} instances")
if problems:
    for tag, text in problems[:80]:
        print(f"PROBLEM [{tag}]: {text}", file=sys.stderr)
    if len(problems) > 80:
        print(f"... and {len(problems) - 80} more problems", file=sys.stderr)
    for tag in sorted(t for t in evidence_tags if t)[:6]:
        for rid in runs_by_tag.get(tag, []):
            doc = orch_json("runs", "show", rid)
            print(f"--- evidence {tag} = {rid} ({doc['state']}): attempts", file=sys.stderr)
            for a in doc["attempts"]:
                print(f"  {a['step']}#{a['attempt']} {a['state']} {a['started']}..{a['finished']} "
                      f"{a.get('error') or ''}", file=sys.stderr)
        print(f"--- records {tag}", file=sys.stderr)
        try:
            sys.stderr.write(open(f"{T}/rec/{tag}.log").read())
        except FileNotFoundError:
            print("  (none)", file=sys.stderr)
    sys.exit(1)
