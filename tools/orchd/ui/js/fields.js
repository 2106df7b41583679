// A form field for a declared input, shared by the start form (a
// workflow's inputs: string, number, boolean, choice, json) and the
// approval form (an approval's inputs: string, number, boolean). value()
// is the typed value to send, undefined for an empty optional field; a
// json field that does not parse throws, naming the input.
import { h } from "./dom.js";

export function inputField(prefix, decl) {
  const id = `${prefix}-${decl.name}`.replace(/[^A-Za-z0-9_-]/g, "_");
  const type = decl.type || "string";
  const attrs = { id, name: decl.name, "data-input": decl.name, required: !!decl.required && type !== "boolean" };
  const dflt = decl.default === undefined || decl.default === null ? "" : String(decl.default);
  let input;
  if (type === "boolean") input = h("input", { ...attrs, type: "checkbox", checked: dflt === "true" });
  else if (type === "choice")
    input = h("select", attrs, decl.required ? null : h("option", { value: "" }, ""),
      (decl.options || []).map((o) => h("option", { value: o, selected: o === dflt }, o)));
  else if (type === "json") input = h("textarea", { ...attrs, rows: 2 }, dflt);
  else input = h("input", { ...attrs, type: type === "number" ? "number" : "text", step: type === "number" ? "any" : undefined, value: dflt || undefined });
  const what = `${decl.name} (${type}${decl.required ? ", required" : ""})`;
  const field = h("div", { class: "field" }, h("label", { for: id }, what), input,
    decl.description ? h("span", { class: "note" }, decl.description) : null);
  const value = () => {
    if (type === "boolean") return input.checked;
    if (input.value === "") return undefined;
    if (type === "number") return Number(input.value);
    if (type === "json") {
      try {
        return JSON.parse(input.value);
      } catch {
        throw new Error(`${decl.name} is not JSON`);
      }
    }
    return input.value;
  };
  return { name: decl.name, field, input, value };
}

// NAME: value of the fields that have one.
export function fieldValues(fields) {
  const out = {};
  for (const f of fields) {
    const v = f.value();
    if (v !== undefined) out[f.name] = v;
  }
  return out;
}
