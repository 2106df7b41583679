// The runs page: GET /v1/runs once a second, filtered by state and
// workflow on the server and by id in the page. A run's trigger is in its
// run.queued event, which never changes: read once per run and kept.
import { api, seg } from "./api.js";
import { h, clear, fmtTime, fmtDuration, parseTime, poller, ENDED } from "./dom.js";

const STATES = ["", "queued", "running", "waiting", "succeeded", "failed", "cancelled"];
const triggers = new Map();

function duration(r) {
  const a = parseTime(r.created);
  const b = ENDED.has(r.state) ? parseTime(r.updated) : new Date();
  return a && b ? b - a : null;
}

async function fetchTrigger(id) {
  triggers.set(id, "");
  try {
    const evs = (await api("GET", `/v1/runs/${seg(id)}/events`)).events || [];
    const q = evs.find((e) => e.type === "run.queued");
    triggers.set(id, (q && q.data && q.data.trigger) || "");
  } catch {
    triggers.delete(id);
  }
}

export function runsPage(ctx) {
  clear(ctx.main);
  const state = h("select", { id: "filter-state" }, STATES.map((s) => h("option", { value: s }, s || "any")));
  const wf = h("select", { id: "filter-workflow" }, h("option", { value: "" }, "any"));
  const search = h("input", { id: "search-id", type: "search", placeholder: "r-...", autocomplete: "off" });
  const status = h("p", { class: "status", role: "status" });
  const tbody = h("tbody");
  const table = h("table", { class: "runs", id: "runs-table" },
    h("caption", {}, "Runs, newest first"),
    h("thead", {}, h("tr", {}, ["Run", "State", "Workflow", "Trigger", "Started", "Duration"].map((c) => h("th", { scope: "col" }, c)))),
    tbody);
  ctx.main.append(
    h("h1", {}, "Runs"),
    h("form", { class: "filters", role: "search", "aria-label": "Filter runs" },
      h("label", { for: "filter-state" }, "State"), state,
      h("label", { for: "filter-workflow" }, "Workflow"), wf,
      h("label", { for: "search-id" }, "Run id"), search),
    status, table);

  api("GET", "/v1/workflows").then((j) => {
    for (const w of j.workflows || []) wf.append(h("option", { value: w.name }, w.name));
  }).catch(() => {});

  let stopped = false, shownIds = null;
  async function refresh() {
    const q = new URLSearchParams({ limit: "100" });
    if (state.value) q.set("state", state.value);
    if (wf.value) q.set("workflow", wf.value);
    try {
      const runs = (await api("GET", `/v1/runs?${q}`)).runs || [];
      if (stopped) return;
      const needle = search.value.trim();
      const shown = runs.filter((r) => !needle || r.id.includes(needle));
      let asked = 0;
      for (const r of shown)
        if (!triggers.has(r.id) && asked++ < 10) fetchTrigger(r.id);
      // The same runs in the same order: their cells change in place, so
      // a focused link keeps the keyboard's focus across refreshes.
      const ids = shown.map((r) => r.id).join();
      if (ids !== shownIds) {
        shownIds = ids;
        clear(tbody);
        for (const r of shown)
          tbody.append(h("tr", { "data-run": r.id },
            h("td", {}, h("a", { href: `#/runs/${encodeURIComponent(r.id)}` }, r.id)),
            h("td", {}, h("span", { class: "badge" })),
            h("td", {}, r.workflow), h("td", {}), h("td", {}, fmtTime(r.created)), h("td", {})));
      }
      shown.forEach((r, i) => {
        const tr = tbody.rows[i];
        tr.setAttribute("data-state", r.state);
        const badge = tr.cells[1].firstChild;
        badge.className = `badge st-${r.state}`;
        badge.textContent = r.state;
        tr.cells[3].textContent = triggers.get(r.id) || "";
        tr.cells[5].textContent = fmtDuration(duration(r));
      });
      status.textContent = `${shown.length} run${shown.length === 1 ? "" : "s"}`;
    } catch (err) {
      if (!stopped) status.textContent = `Could not list runs: ${err.message}`;
    }
  }
  const poll = poller(refresh, 1000);
  for (const el of [state, wf]) el.addEventListener("change", poll.kick);
  search.addEventListener("input", poll.kick);
  return () => { stopped = true; poll.stop(); };
}
