// The workflows page: each configured workflow with its description,
// step count and inputs, and for a write token a form to start a run made
// from those inputs (POST /v1/runs; orchd checks every value by its
// declared type). A started run opens its page.
import { api } from "./api.js";
import { h, clear } from "./dom.js";
import { inputField, fieldValues } from "./fields.js";

function startForm(w) {
  const fields = w.inputs.map((d) => inputField(`start-${w.name}`, d));
  const msg = h("p", { class: "error", role: "alert" });
  const form = h("form", { class: "start-form", "data-start": w.name, "aria-label": `Start ${w.name}` },
    fields.map((f) => f.field),
    h("div", { class: "buttons" }, h("button", { type: "submit", "data-action": "start" }, `Start ${w.name}`)),
    msg);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    msg.textContent = "";
    try {
      const r = await api("POST", "/v1/runs", { workflow: w.name, inputs: fieldValues(fields) });
      location.hash = `#/runs/${encodeURIComponent(r.run.id)}`;
    } catch (err) {
      msg.textContent = `Could not start ${w.name}: ${err.message}`;
    }
  });
  return form;
}

export function workflowsPage(ctx) {
  clear(ctx.main);
  const list = h("div", { class: "workflows", id: "workflows" });
  const status = h("p", { class: "status", role: "status" });
  ctx.main.append(h("h1", {}, "Workflows"), status, list);
  let stopped = false;
  api("GET", "/v1/workflows").then((j) => {
    if (stopped) return;
    const wfs = j.workflows || [];
    status.textContent = `${wfs.length} workflow${wfs.length === 1 ? "" : "s"}`;
    for (const w of wfs) {
      const inputs = w.inputs.length
        ? h("table", { class: "inputs" }, h("caption", {}, `Inputs of ${w.name}`),
          h("thead", {}, h("tr", {}, ["Input", "Type", "Required", "Default", "Description"].map((c) => h("th", { scope: "col" }, c)))),
          h("tbody", {}, w.inputs.map((i) => h("tr", {}, h("td", {}, i.name),
            h("td", {}, i.type === "choice" ? `choice: ${(i.options || []).join(", ")}` : i.type),
            h("td", {}, i.required ? "yes" : "no"), h("td", {}, i.default ?? ""), h("td", {}, i.description ?? "")))))
        : h("p", { class: "note" }, "No inputs.");
      list.append(h("section", { class: "workflow", "data-workflow": w.name, "aria-label": `workflow ${w.name}` },
        h("h2", {}, w.name),
        w.description ? h("p", {}, w.description) : null,
        h("p", { class: "note" }, `${w.step_count} step${w.step_count === 1 ? "" : "s"}`),
        inputs,
        ctx.canWrite ? startForm(w) : null));
    }
  }).catch((err) => {
    if (!stopped) status.textContent = `Could not list workflows: ${err.message}`;
  });
  return () => { stopped = true; };
}
