// node otlp_receiver.mjs OUT [FAIL_FIRST]: an OTLP/HTTP trace receiver for
// the tests, decoding with the official OpenTelemetry definitions (npm
// @opentelemetry/otlp-transformer's generated protobuf code), never with
// orch's own .proto. Accepts application/x-protobuf and application/json
// on POST /v1/traces; writes one JSON line per span to OUT (protocol, ids
// as hex, parent, name, kind, times, attributes, events, status, resource)
// and its port to OUT.port; each request's headers as a JSON line to
// OUT.requests. The first FAIL_FIRST requests get a 503.
import { createRequire } from "module";
import fs from "fs";
import http from "http";
const require = createRequire(process.env.NPM_TOOLS + "/node_modules/");
const root = require("@opentelemetry/otlp-transformer/build/src/generated/root.js");
const Req = root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;

const [out, failFirstArg] = process.argv.slice(2);
let failFirst = Number(failFirstArg || 0);
const hex = (b) => (b ? Buffer.from(b).toString("hex") : "");
function anyValue(v) {
  if (!v) return null;
  if ("stringValue" in v) return v.stringValue;
  if ("intValue" in v) return Number(v.intValue);
  if ("boolValue" in v) return v.boolValue;
  if ("doubleValue" in v) return v.doubleValue;
  return null;
}
const attrs = (list) => Object.fromEntries((list || []).map((kv) => [kv.key, anyValue(kv.value)]));

function emit(protocol, doc, ids) {
  for (const rs of doc.resourceSpans || []) {
    const resource = attrs(rs.resource && rs.resource.attributes);
    for (const ss of rs.scopeSpans || [])
      for (const s of ss.spans || [])
        fs.appendFileSync(out, JSON.stringify({
          protocol, resource, scope: ss.scope && ss.scope.name,
          traceId: ids(s.traceId), spanId: ids(s.spanId), parentSpanId: ids(s.parentSpanId),
          name: s.name, kind: Number(s.kind),
          start: String(s.startTimeUnixNano), end: String(s.endTimeUnixNano),
          attributes: attrs(s.attributes), events: (s.events || []).map((e) => e.name),
          status: { code: Number((s.status && s.status.code) || 0), message: (s.status && s.status.message) || "" },
        }) + "\n");
  }
}

const server = http.createServer((rq, rs) => {
  const chunks = [];
  rq.on("data", (c) => chunks.push(c));
  rq.on("end", () => {
    if (rq.method !== "POST" || rq.url !== "/v1/traces") { rs.writeHead(404); rs.end(); return; }
    fs.appendFileSync(out + ".requests", JSON.stringify({ headers: rq.headers }) + "\n");
    if (failFirst > 0) { failFirst--; rs.writeHead(503); rs.end(); return; }
    const body = Buffer.concat(chunks);
    const type = (rq.headers["content-type"] || "").split(";")[0];
    try {
      if (type === "application/x-protobuf") {
        const msg = Req.decode(body);
        emit("protobuf", Req.toObject(msg, { longs: String, enums: Number, bytes: Array }), (b) => hex(b));
        rs.writeHead(200, { "Content-Type": "application/x-protobuf" });
        rs.end();
      } else if (type === "application/json") {
        // OTLP/JSON: ids are hex strings already.
        emit("json", JSON.parse(body.toString("utf8")), (s) => s || "");
        rs.writeHead(200, { "Content-Type": "application/json" });
        rs.end("{}");
      } else {
        rs.writeHead(415); rs.end();
      }
    } catch (e) {
      fs.appendFileSync(out + ".errors", String(e) + "\n");
      rs.writeHead(400); rs.end();
    }
  });
});
server.listen(0, "127.0.0.1", () => fs.writeFileSync(out + ".port", String(server.address().port)));
