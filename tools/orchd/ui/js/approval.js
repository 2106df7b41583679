// The form of a waiting approval, generated from what the step declared
// (its approval.waiting event: message, inputs NAME -> string | number |
// boolean, required), posted to .../approve as {input, comment} or to
// .../reject as {comment}. orchd checks the values again.
import { api, seg } from "./api.js";
import { h } from "./dom.js";
import { inputField, fieldValues } from "./fields.js";

export function approvalForm(runId, wait, canWrite, onDone) {
  const step = wait.step;
  const inputs = wait.inputs || {};
  const required = new Set(wait.required || []);
  const fid = (n) => `appr-${step}-${n}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const fields = Object.entries(inputs).map(([name, type]) => inputField(`appr-${step}`, { name, type, required: required.has(name) }));
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
    fields.map((f) => f.field),
    h("div", { class: "field" }, h("label", { for: comment.id }, "Comment"), comment),
    h("div", { class: "buttons" },
      h("button", { type: "submit", class: "approve", "data-action": "approve" }, "Approve"),
      h("button", { type: "button", class: "reject", "data-action": "reject" }, "Reject")),
    msg);
  const send = async (verb) => {
    msg.textContent = "";
    const body = comment.value ? { comment: comment.value } : {};
    try {
      if (verb === "approve") body.input = fieldValues(fields);
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
