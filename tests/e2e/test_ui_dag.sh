# The web UI's DAG layout (tools/orchd/ui/js/dag.js `layout`, pure) in
# node: longest-path layers, one column per layer in order, barycenter
# ordering that removes the crossings of a crossed pair, a cycle (not a
# valid workflow) still laid out, and no two nodes on one spot.
. "$(dirname "$0")/../lib/common.sh"
command -v node >/dev/null || fail "node is needed (scripts/deps.sh --test)"
cat >"$T/dag_test.mjs" <<'JS'
const { layout } = await import(process.argv[2]);
const problems = [];
const layerOf = (l, n) => l.pos.get(n).layer;
function crossings(l, edges) {
  let c = 0;
  for (const [a, b] of edges) for (const [x, y] of edges) {
    const [pa, pb, px, py] = [a, b, x, y].map((n) => l.pos.get(n));
    if (pa.layer === px.layer && pb.layer === py.layer && (pa.order - px.order) * (pb.order - py.order) < 0) c++;
  }
  return c / 2;
}
function check(name, nodes, edges, layers) {
  const l = layout(nodes, edges);
  for (const [n, want] of Object.entries(layers || {}))
    if (layerOf(l, n) !== want) problems.push(`${name}: ${n} in layer ${layerOf(l, n)}, not ${want}`);
  for (const [a, b] of edges) if (a !== b && !(layerOf(l, a) < layerOf(l, b)) && layers) problems.push(`${name}: ${a} is not left of ${b}`);
  const spots = new Set([...l.pos.values()].map((p) => `${p.x},${p.y}`));
  if (spots.size !== nodes.length) problems.push(`${name}: two nodes on one spot`);
  for (const p of l.pos.values()) if (p.x < 0 || p.y < 0 || p.x > l.width || p.y > l.height) problems.push(`${name}: a node outside ${l.width}x${l.height}`);
  return l;
}
check("chain", ["a", "b", "c"], [["a", "b"], ["b", "c"]], { a: 0, b: 1, c: 2 });
check("diamond", ["a", "b", "c", "d"], [["a", "b"], ["a", "c"], ["b", "d"], ["c", "d"]], { a: 0, b: 1, c: 1, d: 2 });
check("longest path", ["a", "b", "c"], [["a", "c"], ["a", "b"], ["b", "c"]], { a: 0, b: 1, c: 2 });
check("roots and a lone step", ["x", "y", "lone", "z"], [["x", "z"], ["y", "z"]], { x: 0, y: 0, lone: 0, z: 1 });
const crossedEdges = [["x", "q"], ["y", "p"], ["p", "s"], ["q", "r"]];
const crossed = check("crossed", ["x", "y", "p", "q", "r", "s"], crossedEdges, { x: 0, y: 0, p: 1, q: 1, r: 2, s: 2 });
if (crossings(crossed, crossedEdges)) problems.push(`crossed: ${crossings(crossed, crossedEdges)} crossings left`);
const l = check("cycle", ["a", "b", "c"], [["a", "b"], ["b", "c"], ["c", "b"]], null);
if (l.pos.size !== 3) problems.push("cycle: not every node placed");
if (problems.length) { console.error(problems.join("\n")); process.exit(1); }
console.log("ok");
JS
node "$T/dag_test.mjs" "file://$ORCH_SOURCE_DIR/tools/orchd/ui/js/dag.js" || fail "the DAG layout (above)"
pass "dag.js lays out layers by longest path and orders them without crossings"
