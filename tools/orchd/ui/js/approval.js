// The form of a waiting approval, generated from what the step declared
// (its approval.waiting event: message, inputs NAME -> string | number |
// boolean, required), posted to .../approve as {input, comment} or to
// .../reject as {comment}. orchd checks the values again.
import { api, seg } from "./api.js";
import { h } from "./dom.js";

export function approvalForm(runId, wait, canWrite, onDone) {
  const step = wait.step;
  const inputs = wait.inputs || {};
  const required = new Set(wait.required || []);
  const fid = (n) => `appr-${step}-${n}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const fields = [];
  for (const [name, type] of Object.entries(inputs)) {
    const id = fid(name);
    const attrs = { id, name, "data-input": name, required: required.has(name) && type !== "boolean" };
    const input = type === "boolean" ? h("input", { ...attrs, type: "checkbox" })
      : h("input", { ...attrs, type: type === "number" ? "number" : "text", step: type === "number" ? "any" : undefined });
    fields.push({ name, type, input });
  }
  const comment = h("input", { id: fid("comment"), type: "text", name: "comment" });
  const msg = h("p", { class: "error", role: "alert" });
  const title = `Approval: ${step}`;
  const section = h("section", { class: "approval", "data-approval": step, "aria-label": title },
    h("h2", {}, title),
    h("p", { class: "approval-message" }, wait.message || ""));
  if (!canWrite) {
    section.append(h("p", { class: "note" }, "Waiting for someone with a write token to decide."));
    return section;
  }
  const form = h("form", { class: "approval-form" },
    fields.map((f) => h("div", { class: "field" },
      h("label", { for: f.input.id }, `${f.name} (${f.type}${required.has(f.name) ? ", required" : ""})`), f.input)),
    h("div", { class: "field" }, h("label", { for: comment.id }, "Comment"), comment),
    h("div", { class: "buttons" },
      h("button", { type: "submit", class: "approve", "data-action": "approve" }, "Approve"),
      h("button", { type: "button", class: "reject", "data-action": "reject" }, "Reject")),
    msg);
  const send = async (verb) => {
    msg.textContent = "";
    const body = comment.value ? { comment: comment.value } : {};
    if (verb === "approve") {
      const input = {};
      for (const f of fields) {
        if (f.type === "boolean") input[f.name] = f.input.checked;
        else if (f.input.value !== "") input[f.name] = f.type === "number" ? Number(f.input.value) : f.input.value;
      }
      body.input = input;
    }
    try {
      await api("POST", `/v1/runs/${seg(runId)}/steps/${seg(step)}/${verb}`, body);
      section.setAttribute("data-decided", verb);
      onDone();
    } catch (err) {
      msg.textContent = `Could not ${verb}: ${err.message}`;
    }
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    send("approve");
  });
  form.querySelector("[data-action=reject]").addEventListener("click", () => send("reject"));
  section.append(form);
  return section;
}
