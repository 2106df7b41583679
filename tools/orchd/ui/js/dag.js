// A small layered DAG layout, written for this UI (no library): each step
// goes in the layer of its longest path from a root (a step is right of
// everything it needs), steps in a layer are ordered by the barycenter of
// their neighbours' places (a few sweeps down and up, which removes most
// crossings), and the result is drawn as SVG, left to right.
import { s } from "./dom.js";

export const NODE_W = 168, NODE_H = 46, GAP_X = 56, GAP_Y = 18;

// nodes: [id]; edges: [[from, to]] (to needs from). Pure: {pos, width, height}.
export function layout(nodes, edges) {
  const preds = new Map(nodes.map((n) => [n, []]));
  const succs = new Map(nodes.map((n) => [n, []]));
  for (const [a, b] of edges) {
    if (!preds.has(a) || !preds.has(b) || a === b) continue;
    preds.get(b).push(a);
    succs.get(a).push(b);
  }
  // Longest-path layering in a topological order (Kahn); a node on a
  // cycle (not a valid workflow) is put after everything else.
  const indeg = new Map(nodes.map((n) => [n, preds.get(n).length]));
  const layer = new Map();
  const queue = nodes.filter((n) => indeg.get(n) === 0);
  for (const n of queue) layer.set(n, 0);
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i];
    for (const m of succs.get(n)) {
      layer.set(m, Math.max(layer.get(m) || 0, layer.get(n) + 1));
      indeg.set(m, indeg.get(m) - 1);
      if (indeg.get(m) === 0) queue.push(m);
    }
  }
  let maxLayer = Math.max(0, ...layer.values());
  for (const n of nodes) if (!layer.has(n)) layer.set(n, ++maxLayer);
  const layers = [];
  for (const n of nodes) (layers[layer.get(n)] ||= []).push(n);
  for (let i = 0; i < layers.length; i++) layers[i] ||= [];
  const place = new Map();
  const renumber = (l) => l.forEach((n, i) => place.set(n, i));
  layers.forEach(renumber);
  const bary = (n, nbrs) => {
    const p = nbrs.get(n).map((m) => place.get(m));
    return p.length ? p.reduce((a, b) => a + b, 0) / p.length : place.get(n);
  };
  for (let sweep = 0; sweep < 4; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? layers.keys() : [...layers.keys()].reverse();
    for (const i of order) {
      const key = new Map(layers[i].map((n) => [n, bary(n, down ? preds : succs)]));
      // A stable sort: ties keep the workflow's order.
      layers[i] = layers[i].map((n, k) => [n, k]).sort((x, y) => key.get(x[0]) - key.get(y[0]) || x[1] - y[1]).map((x) => x[0]);
      renumber(layers[i]);
    }
  }
  const tallest = Math.max(1, ...layers.map((l) => l.length));
  const height = tallest * (NODE_H + GAP_Y) - GAP_Y;
  const pos = new Map();
  layers.forEach((l, li) => {
    const off = (height - (l.length * (NODE_H + GAP_Y) - GAP_Y)) / 2;
    l.forEach((n, k) => pos.set(n, { layer: li, order: k, x: li * (NODE_W + GAP_X), y: off + k * (NODE_H + GAP_Y) }));
  });
  return { pos, width: layers.length * (NODE_W + GAP_X) - GAP_X, height };
}

const cut = (t, n) => (t.length > n ? `${t.slice(0, n - 1)}…` : t);

// Draw into container; onSelect(id) on click or Enter/Space. Returns
// update(states: Map id -> state) that recolours without a new layout.
export function renderDag(container, nodes, edges, onSelect) {
  const { pos, width, height } = layout(nodes, edges);
  const pad = 8;
  const svg = s("svg", { id: "dag", class: "dag", role: "group", "aria-label": `Step graph: ${nodes.length} steps`,
    viewBox: `${-pad} ${-pad} ${width + 2 * pad} ${height + 2 * pad}`, width: width + 2 * pad, height: height + 2 * pad });
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    s("path", { d: "M0 0L10 5L0 10z", class: "arrowhead" }))));
  for (const [a, b] of edges) {
    const p = pos.get(a), q = pos.get(b);
    if (!p || !q) continue;
    const x1 = p.x + NODE_W, y1 = p.y + NODE_H / 2, x2 = q.x, y2 = q.y + NODE_H / 2, mx = (x1 + x2) / 2;
    svg.append(s("path", { class: "edge", "data-from": a, "data-to": b, "marker-end": "url(#arrow)",
      d: `M${x1} ${y1}C${mx} ${y1} ${mx} ${y2} ${x2} ${y2}` }));
  }
  const els = new Map();
  for (const n of nodes) {
    const p = pos.get(n);
    const label = s("text", { x: 10, y: 38, class: "node-state" }, "");
    const g = s("g", { class: "node", tabindex: 0, role: "button", "data-step": n, transform: `translate(${p.x} ${p.y})` },
      s("title", {}, n),
      s("rect", { width: NODE_W, height: NODE_H, rx: 6 }),
      s("text", { x: 10, y: 18, class: "node-id" }, cut(n, 22)),
      label);
    const pick = () => onSelect(n);
    g.addEventListener("click", pick);
    g.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        pick();
      }
    });
    els.set(n, { g, label });
    svg.append(g);
  }
  container.append(svg);
  return (states, selected) => {
    for (const [n, { g, label }] of els) {
      const st = states.get(n) || "pending";
      g.setAttribute("class", `node st-${st}${n === selected ? " selected" : ""}`);
      g.setAttribute("data-state", st);
      g.setAttribute("aria-label", `step ${n}: ${st}`);
      g.setAttribute("aria-pressed", n === selected ? "true" : "false");
      label.textContent = st;
    }
  };
}
