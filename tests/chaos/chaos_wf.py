"""The chaos test's workflow file, drawn from a seed: STEPS steps of one
DAG (chains and fan-outs from the steps before, a last step `fin` that
needs every leaf), some sleeping 0.1-2 s, a few with retries, one of
those failing on its first execution. Every step's command holds
`flock -n` on a lock file of its own (run tag + step) for as long as any of
its processes lives, and records in T/rec/TAG.log (tests/lib/steps_log.py's
format): its start, its end, or `overlap` when the lock was already held,
meaning another copy of the command was alive. A copy whose executor died
lingers 30 s, as a long command would.

    chaos_wf.py SEED STEPS T MARK > wf.yaml

Also writes T/steps.json: {step: {"needs": [...], "retry": bool,
"flaky": bool, "sleep": seconds}} for the checks and the executor kills."""
import json
import random
import sys

seed, nsteps, T, mark = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
if nsteps < 3:
    sys.exit("chaos_wf.py: CHAOS_STEPS must be at least 3")
rng = random.Random(seed)
ids = [f"s{i:02d}" for i in range(1, nsteps)]
needs = {ids[0]: []}
for i, s in enumerate(ids[1:], 1):
    if rng.random() < 0.5:
        needs[s] = [ids[i - 1]]                               # a chain
    else:
        pool = ids[max(0, i - 6):i]                           # a fan-out from a recent step
        needs[s] = sorted(rng.sample(pool, min(len(pool), rng.choice([1, 1, 2]))))
needed = {n for s in ids for n in needs[s]}
needs["fin"] = [s for s in ids if s not in needed]            # the fan-in
retrying = set(rng.sample(ids, max(2, nsteps // 5)))
flaky = rng.choice(sorted(retrying))
meta = {}
for s in ids + ["fin"]:
    sleep = round(rng.uniform(0.1, 2.0), 1) if s != "fin" and rng.random() < 0.5 else 0
    meta[s] = {"needs": needs[s], "retry": s in retrying, "flaky": s == flaky, "sleep": sleep}
json.dump(meta, open(f"{T}/steps.json", "w"), indent=1)


def command(s, m):
    rec = f'{T}/rec/$CHAOS_TAG.log'
    now = '$(date +%s%N)'
    work = [f'echo "{s} start $$ {now}" >> {rec}']
    if m["flaky"]:
        once = f'{T}/rec/$CHAOS_TAG.{s}.failed-once'
        work.append(f'if [ ! -e {once} ]; then : > {once}; echo "{s} end $$ {now} fail" >> {rec}; exit 1; fi')
    if s == "fin":
        work.append(f'if [ "$CHAOS_FATE" != ok ]; then echo "{s} end $$ {now} fail" >> {rec}; exit 3; fi')
    if m["sleep"]:
        work.append(f'sleep {m["sleep"]}')
    # A copy whose executor died lingers, holding its lock, as a long
    # command would: unless it is reaped, the next copy overlaps it and the
    # leak check finds it.
    work.append('if [ ! -e /proc/$PPID ]; then sleep 30; fi')
    work.append(f'echo "{s} end $$ {now}" >> {rec}')
    # fd 9 holds the lock; every process of the command inherits it, so the
    # lock is free only once the last of them is gone.
    return (f'exec 9>> {T}/lock/$CHAOS_TAG.{s}; '
            f'if ! flock -n 9; then echo "{s} overlap $$ {now}" >> {rec}; exit 97; fi; '
            + '; '.join(work))


out = [
    "version: 1",
    "defaults: {concurrency: 4}",
    # orchd: a daemon killed -9 this test's way counts as an engine crash of
    # the runs it drove; the test decides the runs' fates, so it never fails
    # a run for that.
    "worker: {tick: 100ms, lease_ttl: 3s, max_runs: 6, stop_grace: 10s, max_engine_crashes: 1000}",
    "workflows:",
    "  chaos:",
    "    concurrency: 3",
    "    inputs: {tag: {required: true}, fate: {default: ok}}",
    f'    env: {{CHAOS_MARK: "{mark}", CHAOS_TAG: "${{{{ inputs.tag }}}}", CHAOS_FATE: "${{{{ inputs.fate }}}}"}}',
    "    steps:",
]
for s in ids + ["fin"]:
    m = meta[s]
    out.append(f"      - id: {s}")
    out.append("        uses: exec")
    if m["needs"]:
        out.append(f"        needs: [{', '.join(m['needs'])}]")
    env = {"CHAOS_STEP": s}
    if m["retry"]:
        # Generous: each executor kill and each lost attempt spends one.
        out.append("        retry: {attempts: 30, backoff: 100ms, factor: 1}")
        env["CHAOS_RETRY"] = "1"
    out.append("        env: " + json.dumps(env))
    out.append("        with:")
    out.append("          run: " + json.dumps(command(s, m)))
print("\n".join(out))
