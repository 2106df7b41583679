// A step's panel: its attempts (state, exit code, error, timings), the
// latest attempt's outputs, and its log, streamed live from
// .../logs?follow=true (EventSource sends the session cookie), each chunk
// marked stdout or stderr.
import { seg, onJson } from "./api.js";
import { h, clear, fmtTime, fmtDuration } from "./dom.js";

export function stepPanel(container, runId, stepId) {
  clear(container);
  const attempts = h("div", { class: "attempts" });
  const outputs = h("div", { class: "outputs" });
  const log = h("pre", { class: "log", id: "step-log", tabindex: 0, "aria-label": `log of step ${stepId}`, "data-ended": "false" });
  container.append(h("h2", { id: "step-title" }, `Step ${stepId}`), attempts, outputs,
    h("h3", {}, "Log ", h("span", { class: "legend" }, h("span", { class: "stdout" }, "stdout"), " ", h("span", { class: "stderr" }, "stderr"))), log);
  const es = new EventSource(`/v1/runs/${seg(runId)}/steps/${seg(stepId)}/logs?follow=true`);
  onJson(es, "log", (d) => {
    const stream = d.stream === "stderr" ? "stderr" : "stdout";
    log.append(h("span", { class: stream, "data-stream": stream, title: stream }, d.data));
  });
  es.addEventListener("end", () => {
    log.setAttribute("data-ended", "true");
    es.close();
  });
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) log.setAttribute("data-ended", "error");
  };
  const update = (step) => {
    clear(attempts);
    clear(outputs);
    if (!step) return;
    const rows = (step.attempts || []).map((a) => h("tr", { "data-attempt": a.attempt },
      h("td", {}, String(a.attempt)),
      h("td", {}, h("span", { class: `badge st-${a.state}` }, a.state)),
      h("td", { class: "exit-code" }, a.exit_code === undefined ? "" : String(a.exit_code)),
      h("td", {}, fmtTime(a.started)),
      h("td", {}, fmtDuration(a.duration_ms)),
      h("td", {}, a.error || "")));
    attempts.append(h("table", { class: "attempts-table" },
      h("caption", {}, `Attempts of ${stepId} (state ${step.state})`),
      h("thead", {}, h("tr", {}, ["#", "State", "Exit code", "Started", "Duration", "Error"].map((c) => h("th", { scope: "col" }, c)))),
      h("tbody", {}, rows)));
    const last = (step.attempts || []).at(-1);
    const outs = Object.entries((last && last.outputs) || {});
    if (outs.length)
      outputs.append(h("dl", { class: "outputs-list", "aria-label": "outputs" }, outs.map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)])));
  };
  return { update, stop: () => es.close() };
}
