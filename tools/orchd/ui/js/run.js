// A run's page: its header and actions (cancel, requeue: POST .../resume),
// its DAG (steps from the run, edges from the workflow's needs; a matrix
// instance "ID (a, b)" takes its step's edges), links to the run that
// called it and the runs its call steps made, a waiting approval's form,
// and the selected step's panel. Live: the run's ledger streams in
// (GET /v1/runs/{id}/events?follow=true, an EventSource that sends the
// cookie) and each event re-reads GET /v1/runs/{id} (coalesced), with a
// slow poll as a safety net.
import { api, seg, onJson } from "./api.js";
import { h, clear, fmtTime, fmtDuration, parseTime, poller, ENDED } from "./dom.js";
import { renderDag } from "./dag.js";
import { stepPanel } from "./step.js";
import { approvalForm } from "./approval.js";

const baseOf = (id) => {
  const m = /^(.*) \(.*\)$/.exec(id);
  return m ? m[1] : id;
};

// A link to another run's page (a parent or a child of a call step).
const runLink = (id, mark) => h("a", { href: `#/runs/${encodeURIComponent(id)}`, [mark]: id }, id);

function edgesOf(runSteps, wfSteps) {
  const needs = new Map((wfSteps || []).map((s) => [s.id, s.needs || []]));
  const byBase = new Map();
  for (const s of runSteps) (byBase.get(baseOf(s.id)) || byBase.set(baseOf(s.id), []).get(baseOf(s.id))).push(s.id);
  const edges = [];
  for (const s of runSteps)
    for (const n of needs.get(baseOf(s.id)) || [])
      for (const from of byBase.get(n) || []) edges.push([from, s.id]);
  return edges;
}

export function runPage(ctx, runId) {
  clear(ctx.main);
  const head = h("div", { class: "run-head" });
  const links = h("div", { class: "run-links" });
  const actions = h("div", { class: "actions", role: "toolbar", "aria-label": "Run actions" });
  const msg = h("p", { class: "error", role: "alert" });
  const graph = h("div", { class: "graph", id: "graph" });
  const approvals = h("div", { class: "approvals", id: "approvals" });
  const panel = h("section", { class: "step-panel", id: "step-panel", "aria-live": "polite" },
    h("p", { class: "note" }, "Select a step (click, or Tab to it and press Enter) to see its attempts and log."));
  ctx.main.append(h("p", {}, h("a", { href: "#/runs" }, "← all runs")), head, links, actions, msg, approvals,
    h("h2", {}, "Steps"), graph, panel);

  let stopped = false, update = null, selected = null, step = null, run = null;
  let afterSeq = 0, trigger = "", shownActions = null, shownLinks = null, paints = 0;
  const waits = new Map(); // step -> its latest approval.waiting data
  const forms = new Map(); // "step#attempt" -> section

  const select = (id) => {
    selected = id;
    if (step) step.stop();
    step = stepPanel(panel, runId, id);
    paint();
  };

  const act = async (label, path) => {
    msg.textContent = "";
    try {
      await api("POST", path);
      kick();
    } catch (err) {
      msg.textContent = `${label} failed: ${err.message}`;
    }
  };

  function paint() {
    if (!run) return;
    paints++;
    graph.setAttribute("data-paints", paints); // how many refreshes drew it (a test waits on it)
    clear(head);
    const a = parseTime(run.created), b = ENDED.has(run.state) ? parseTime(run.updated) : new Date();
    head.append(h("h1", {}, `Run ${run.id}`),
      h("dl", { class: "facts" },
        h("dt", {}, "State"), h("dd", {}, h("span", { class: `badge st-${run.state}`, id: "run-state", "data-state": run.state }, run.state)),
        h("dt", {}, "Workflow"), h("dd", {}, run.workflow),
        h("dt", {}, "Trigger"), h("dd", {}, trigger),
        h("dt", {}, "Started"), h("dd", {}, fmtTime(run.created)),
        h("dt", {}, "Duration"), h("dd", {}, fmtDuration(a && b ? b - a : null)),
        run.error ? [h("dt", {}, "Error"), h("dd", {}, run.error)] : null));
    // Links are redrawn only when they change, like the buttons below.
    const linkKey = JSON.stringify([run.parent, run.children]);
    if (linkKey !== shownLinks) {
      shownLinks = linkKey;
      clear(links);
      links.append(h("dl", { class: "facts" },
        run.parent ? [h("dt", {}, "Called by"), h("dd", {}, runLink(run.parent.run, "data-parent"), ` (step ${run.parent.step}, attempt ${run.parent.attempt})`)] : null,
        run.children && run.children.length ? [h("dt", {}, "Child runs"), h("dd", {}, h("ul", { class: "children" },
          run.children.map((c) => h("li", {}, runLink(c.run, "data-child"), ` ${c.workflow} (step ${c.step}, attempt ${c.attempt})`))))] : null));
    }
    // The buttons are redrawn only when the set changes: one replaced on
    // every refresh would lose the keyboard's focus (and a click).
    const want = !ctx.canWrite ? [] : [!ENDED.has(run.state) && "cancel", (run.state === "failed" || run.state === "cancelled") && "requeue"].filter(Boolean);
    if (want.join() !== shownActions) {
      shownActions = want.join();
      clear(actions);
      if (want.includes("cancel"))
        actions.append(h("button", { type: "button", "data-action": "cancel", onclick: () => act("Cancel", `/v1/runs/${seg(runId)}/cancel`) }, "Cancel run"));
      if (want.includes("requeue"))
        actions.append(h("button", { type: "button", "data-action": "requeue", onclick: () => act("Requeue", `/v1/runs/${seg(runId)}/resume`) }, "Requeue run"));
    }
    if (update) update(new Map(run.steps.map((s) => [s.id, s.state])), selected);
    if (step) step.update(run.steps.find((s) => s.id === selected));
    // One form per waiting (step, attempt); gone once decided.
    const live = new Set();
    for (const s of run.steps) {
      const w = waits.get(s.id);
      if (s.state !== "waiting" || !w) continue;
      const key = `${s.id}#${w.attempt}`;
      live.add(key);
      if (!forms.has(key)) {
        const f = approvalForm(runId, w, ctx.canWrite, kick);
        forms.set(key, f);
        approvals.append(f);
      }
    }
    for (const [key, f] of forms)
      if (!live.has(key)) {
        f.remove();
        forms.delete(key);
      }
  }

  async function refresh() {
    try {
      const r = (await api("GET", `/v1/runs/${seg(runId)}`)).run;
      if (stopped) return;
      if (!update) {
        let wf = null;
        try {
          wf = (await api("GET", `/v1/workflows/${seg(r.workflow)}`)).workflow;
        } catch {
          wf = null; // a workflow no longer configured: steps without edges
        }
        if (stopped) return;
        update = renderDag(graph, r.steps.map((s) => s.id), edgesOf(r.steps, wf && wf.steps), select);
      }
      run = r;
      paint();
    } catch (err) {
      if (!stopped) msg.textContent = `Could not read the run: ${err.message}`;
    }
  }
  const poll = poller(refresh, 5000);
  let es = null;
  // The ledger as it is written; reopened after an action (a requeued run
  // goes on after its stream ended), from the last event seen.
  const follow = () => {
    if (es || stopped) return;
    es = new EventSource(`/v1/runs/${seg(runId)}/events?follow=true&after=${afterSeq}`);
    onJson(es, "event", (e) => {
      afterSeq = Math.max(afterSeq, e.seq);
      if (e.type === "run.queued" && e.data) trigger = e.data.trigger || "";
      if (e.type === "approval.waiting" && e.data && e.data.step) waits.set(e.data.step, e.data);
      poll.kick();
    });
    es.addEventListener("end", () => {
      es.close();
      es = null;
      poll.kick();
    });
  };
  const kick = () => {
    follow();
    poll.kick();
  };
  follow();
  return () => {
    stopped = true;
    poll.stop();
    if (es) es.close();
    if (step) step.stop();
  };
}
