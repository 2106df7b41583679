// node api_contract.mjs DOC SOCKET HOOK_KEY: drive a live orchd (configured
// by tests/e2e/test_api_contract.sh) through every route with valid and
// invalid requests, and check each answer against the OpenAPI document:
// the status is one the operation documents, the content type is one it
// documents for that status, and a JSON body validates against its schema
// (ajv, JSON Schema 2020-12, the dialect of OpenAPI 3.1). At the end, every
// documented operation must have been seen answering a success and, where
// it documents client errors, a client error. Times are checked besides:
// each validates as format date-time (ajv-formats), and in node, to the
// nanosecond, a run's read back exactly and an approval's deadline is its
// start plus the timeout. Exit 1 with each problem.
import { createRequire } from "module";
import crypto from "crypto";
import fs from "fs";
import http from "http";
const require = createRequire(process.env.NPM_TOOLS + "/node_modules/");
const Ajv2020 = require("ajv/dist/2020").default;
const addFormats = require("ajv-formats");
const YAML = require("yaml");

const [docPath, socketPath, hookKey] = process.argv.slice(2);
const api = YAML.parse(fs.readFileSync(docPath, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv, ["date-time"]);
ajv.addSchema(api, "api");
const problems = [];
// Without its format added, ajv takes "format" for a note and passes any
// string: a date that is no date must fail the Time schema.
const isTime = ajv.getSchema("api#/components/schemas/Time");
if (!isTime || !isTime("2026-12-03T14:00:00.000000042Z") || isTime("2026-13-45T14:00:00.000000042Z"))
  problems.push("the Time schema does not check format date-time (is ajv-formats added?)");

// A time of the API as BigInt nanoseconds (null when it is not one), and
// back: a BigInt keeps what a Number, a double, rounds to 256 ns.
function timeNs(s) {
  const m = typeof s === "string" && /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d{9})Z$/.exec(s);
  const ms = m ? Date.parse(m[1] + "Z") : NaN;
  return Number.isNaN(ms) ? null : BigInt(ms) * 1000000n + BigInt(m[2]);
}
function timeText(ns) {
  const whole = new Date(Number(ns / 1000000000n) * 1000).toISOString().slice(0, 19);
  return `${whole}.${String(ns % 1000000000n).padStart(9, "0")}Z`;
}
// The run of a GET /v1/runs/{id} answer: created and updated are times
// that read back to the same text, as node parsed them from the answer,
// created not before notBefore (taken before the POST), updated not before
// created; its attempts started not before it was created and finished
// (once) not before they started.
function checkRunTimes(res, notBefore) {
  const run = res.json?.run, where = `GET /v1/runs/${run?.id}`;
  const c = timeNs(run?.created), u = timeNs(run?.updated);
  if (c === null || u === null) {
    problems.push(`${where}: created and updated are not times: ${run?.created}, ${run?.updated}`);
    return;
  }
  if (timeText(c) !== run.created || timeText(u) !== run.updated)
    problems.push(`${where}: ${run.created}, ${run.updated} do not read back to themselves`);
  if (res.text.match(/"created":"([^"]*)"/)?.[1] !== run.created)
    problems.push(`${where}: node's created ${run.created} is not the answer's text`);
  if (c < notBefore) problems.push(`${where}: created ${run.created} is before the POST (${timeText(notBefore)})`);
  if (u < c) problems.push(`${where}: updated ${run.updated} is before created ${run.created}`);
  for (const step of run.steps || [])
    for (const a of step.attempts) {
      const s0 = timeNs(a.started), s1 = a.finished === null ? null : timeNs(a.finished);
      if (s0 === null || s0 < c || (a.finished !== null && (s1 === null || s1 < s0)))
        problems.push(`${where}: attempt ${step.id}#${a.attempt}: started ${a.started}, finished ${a.finished}`);
    }
}
const seen = new Map(); // "GET /v1/runs" -> Set of status classes

function request(method, path, { body, token, headers = {}, raw } = {}) {
  return new Promise((resolve, reject) => {
    const h = { ...headers };
    if (token) h.Authorization = `Bearer ${token}-token`;
    let data = raw !== undefined ? raw : body !== undefined ? JSON.stringify(body) : undefined;
    if (data !== undefined) {
      h["Content-Type"] = h["Content-Type"] || "application/json";
      h["Content-Length"] = Buffer.byteLength(data);
    }
    const rq = http.request({ socketPath, path, method, headers: h }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () =>
      {
        const buf = Buffer.concat(chunks);
        resolve({ status: res.statusCode, type: res.headers["content-type"] || "", headers: res.headers, buf, text: buf.toString("utf8") });
      });
    });
    rq.setTimeout(120000, () => rq.destroy(new Error(`${method} ${path}: no answer in 120 s`)));
    rq.on("error", reject);
    if (data !== undefined) rq.write(data);
    rq.end();
  });
}

// The documented path template a concrete path matches.
function template(path) {
  const bare = path.split("?")[0];
  for (const t of Object.keys(api.paths)) {
    // An artifact's {name} is the rest of the path, slashes and all.
    const re = new RegExp("^" + t.replace(/[.]/g, "\\.").replace(/\/\{name\}$/, "/.+")
      .replace(/\{[^}]+\}/g, "[^/]+") + "$");
    if (re.test(bare)) return t;
  }
  return null;
}

const ptr = (s) => encodeURIComponent(s.replace(/~/g, "~0").replace(/\//g, "~1"));

function resolveResponse(r) {
  while (r && r.$ref) {
    const parts = r.$ref.replace(/^#\//, "").split("/");
    r = parts.reduce((o, k) => o[k.replace(/~1/g, "/").replace(/~0/g, "~")], api);
  }
  return r;
}

async function call(method, path, opts = {}) {
  const res = await request(method, path, opts);
  const t = template(path);
  const where = `${method} ${path} -> ${res.status}`;
  if (!t || !api.paths[t][method.toLowerCase()]) {
    problems.push(`${where}: no documented operation`);
    return res;
  }
  const op = api.paths[t][method.toLowerCase()];
  const key = `${method} ${t}`;
  if (!seen.has(key)) seen.set(key, new Set());
  seen.get(key).add(String(res.status)[0] + "xx");
  if (opts.expect && res.status !== opts.expect)
    problems.push(`${where}: expected ${opts.expect}: ${res.text.slice(0, 300)}`);
  let respRef = `responses/${res.status}`;
  let resp = op.responses[String(res.status)];
  if (!resp) {
    problems.push(`${where}: status not documented for this operation: ${res.text.slice(0, 300)}`);
    return res;
  }
  const content = resolveResponse(resp).content || {};
  const mime = res.type.split(";")[0].trim();
  if (!content[mime]) {
    problems.push(`${where}: content type '${res.type}' not documented (${Object.keys(content)})`);
    return res;
  }
  if (mime === "application/json") {
    let body;
    try {
      body = JSON.parse(res.text);
    } catch (e) {
      problems.push(`${where}: body is not JSON: ${res.text.slice(0, 200)}`);
      return res;
    }
    res.json = body;
    // A response given by $ref is validated through the component, so the
    // pointer stays valid either way.
    const base = resp.$ref
      ? `api${resp.$ref}/content/${ptr(mime)}/schema`
      : `api#/paths/${ptr(t)}/${method.toLowerCase()}/${respRef}/content/${ptr(mime)}/schema`;
    const validate = ajv.getSchema(base);
    if (!validate) problems.push(`${where}: cannot resolve schema ${base}`);
    else if (!validate(body))
      problems.push(`${where}: body does not match the schema: ${ajv.errorsText(validate.errors)}\n  ${res.text.slice(0, 400)}`);
  }
  return res;
}

async function waitRun(id, states) {
  const end = Date.now() + 60000;
  for (;;) {
    const r = await request("GET", `/v1/runs/${id}`, { token: "reader" });
    const s = r.status === 200 ? JSON.parse(r.text).run.state : null;
    if (states.includes(s)) return s;
    if (Date.now() > end) throw new Error(`run ${id} did not reach ${states} in 60 s (last: ${s})`);
    await new Promise((ok) => setTimeout(ok, 50));
  }
}
const start = async (workflow, extra = {}) =>
  (await call("POST", "/v1/runs", { token: "writer", body: { workflow, ...extra }, expect: 201 })).json.run.id;

// --- health, metrics, this document
await call("GET", "/health", { expect: 200 });
await call("GET", "/health/ready");
await call("GET", "/health/live", { expect: 200 });
await call("GET", "/v1/health", { token: "reader" });
await call("GET", "/health/env", { token: "reader", expect: 200 });
await call("GET", "/health/env", { expect: 401 });
await call("GET", "/metrics", { token: "reader", expect: 200 });
await call("GET", "/metrics", { token: "nobody", expect: 401 });
await call("GET", "/v1/openapi.yaml", { expect: 200 });
const served = await call("GET", "/v1/openapi.json", { expect: 200 });
if (served.json && JSON.stringify(served.json) !== JSON.stringify(api))
  problems.push("GET /v1/openapi.json differs from docs/api/openapi.yaml");

// --- workflows
// --- the web UI's session (docs/ui.md): login, the cookie, logout
await call("GET", "/v1/whoami", { expect: 200 });
await call("GET", "/v1/whoami", { token: "reader", expect: 200 });
await call("GET", "/v1/whoami", { token: "forged", expect: 401 });
const login = await call("POST", "/v1/session", { body: { token: "writer-token" }, expect: 200 });
const sessionCookie = String((login.headers["set-cookie"] || [""])[0]).split(";")[0];
await call("GET", "/v1/whoami", { headers: { Cookie: sessionCookie }, expect: 200 });
await call("POST", "/v1/session", { body: { token: "not-a-token" }, expect: 401 });
await call("POST", "/v1/session", { body: { token: "writer-token", bogus: 1 }, expect: 400 });
await call("POST", "/v1/session", { body: { token: "writer-token" }, headers: { Origin: "http://evil.example" }, expect: 403 });
await call("DELETE", "/v1/session", { headers: { Cookie: sessionCookie }, expect: 403 });
await call("DELETE", "/v1/session", { headers: { Cookie: sessionCookie, "X-Orch-CSRF": "1" }, expect: 200 });

await call("GET", "/v1/workflows", { token: "reader", expect: 200 });
await call("GET", "/v1/workflows", { expect: 401 });
await call("GET", "/v1/workflows/hello", { token: "reader", expect: 200 });
await call("GET", "/v1/workflows/nope", { token: "reader", expect: 404 });

// --- runs
const beforeHello = BigInt(Date.now()) * 1000000n;
const hello = await start("hello", { inputs: { who: "api" }, idempotency_key: "contract-1" });
await call("POST", "/v1/runs", { token: "writer", body: { workflow: "hello", inputs: { who: "api" }, idempotency_key: "contract-1" }, expect: 200 });
await call("POST", "/v1/runs", { token: "writer", body: { workflow: "hello", inputs: { who: "other" }, idempotency_key: "contract-1" }, expect: 409 });
await call("POST", "/v1/runs", { token: "reader", body: { workflow: "hello" }, expect: 403 });
await call("POST", "/v1/runs", { body: { workflow: "hello" }, expect: 401 });
await call("POST", "/v1/runs", { token: "writer", body: {}, expect: 400 });
await call("POST", "/v1/runs", { token: "writer", body: { workflow: "hello", bogus: 1 }, expect: 400 });
await call("POST", "/v1/runs", { token: "writer", raw: "{not json", expect: 400 });
await call("POST", "/v1/runs", { token: "writer", body: { workflow: "nope" }, expect: 404 });
await call("POST", "/v1/runs", { token: "writer", raw: JSON.stringify({ workflow: "hello", pad: "x".repeat(70000) }), expect: 413 });
// A caller's trace context, and one that is malformed: ignored, never refused.
const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
await call("POST", "/v1/runs", { token: "writer", body: { workflow: "hello" }, headers: { traceparent: tp }, expect: 201 });
await call("POST", "/v1/runs", { token: "writer", body: { workflow: "hello" }, headers: { traceparent: "00-junk" }, expect: 201 });
await waitRun(hello, ["succeeded"]);
await call("GET", "/v1/runs", { token: "reader", expect: 200 });
await call("GET", "/v1/runs?state=succeeded&workflow=hello&limit=5", { token: "reader", expect: 200 });
await call("GET", "/v1/runs?state=bogus", { token: "reader", expect: 400 });
await call("GET", "/v1/runs?limit=0", { token: "reader", expect: 400 });
checkRunTimes(await call("GET", `/v1/runs/${hello}`, { token: "reader", expect: 200 }), beforeHello);
await call("GET", "/v1/runs/r-nope", { token: "reader", expect: 404 });
const helloEvents = (await call("GET", `/v1/runs/${hello}/events`, { token: "reader", expect: 200 })).json?.events || [];
for (const e of helloEvents)
  if (!(timeNs(e.ts) >= beforeHello))
    problems.push(`GET /v1/runs/${hello}/events: event ${e.seq} at ${e.ts}, before the POST`);
if (!helloEvents.length) problems.push(`GET /v1/runs/${hello}/events: no events`);
await call("GET", `/v1/runs/${hello}/events?after=2`, { token: "reader", expect: 200 });
await call("GET", `/v1/runs/${hello}/events?after=x`, { token: "reader", expect: 400 });
const followed = await call("GET", `/v1/runs/${hello}/events?follow=true`, { token: "reader", expect: 200 });
if (!/event: event\nid: [0-9]+\n/.test(followed.text) || !/event: end\ndata: \{"state":"succeeded"\}/.test(followed.text))
  problems.push(`GET /v1/runs/{id}/events?follow=true of an ended run: ${followed.text.slice(0, 300)}`);
await call("GET", `/v1/runs/${hello}/events?follow=on`, { token: "reader", expect: 400 });
await call("GET", "/v1/runs/r-nope/events?follow=true", { token: "reader", expect: 404 });
await call("GET", "/v1/runs/r-nope/events", { token: "reader", expect: 404 });
await call("GET", `/v1/runs/${hello}/steps/greet/logs`, { token: "reader", expect: 200 });
await call("GET", `/v1/runs/${hello}/steps/greet/logs?follow=true`, { token: "reader", expect: 200 });
await call("GET", `/v1/runs/${hello}/steps/nope/logs`, { token: "reader", expect: 404 });
await call("GET", `/v1/runs/${hello}/steps/greet/logs?attempt=x`, { token: "reader", expect: 400 });
await call("GET", `/v1/runs/${hello}/steps/greet/logs?follow=on`, { token: "reader", expect: 400 });

// --- approvals
const gated = await start("gated");
await waitRun(gated, ["waiting"]);
// The deadline the engine stored as integer ns is its attempt's start plus
// the step's timeout (1h), to the nanosecond, as node reads both.
{
  const where = `approval deadline of ${gated}`;
  const evs = (await call("GET", `/v1/runs/${gated}/events`, { token: "reader", expect: 200 })).json?.events || [];
  const waiting = evs.find((e) => e.type === "approval.waiting")?.data;
  const parked = evs.find((e) => e.type === "run.waiting")?.data;
  const run = (await call("GET", `/v1/runs/${gated}`, { token: "reader", expect: 200 })).json?.run;
  const att = run?.steps?.[0]?.attempts?.[0];
  const d = timeNs(waiting?.deadline), s0 = timeNs(att?.started);
  if (d === null || s0 === null || d - s0 !== 3600n * 1000000000n)
    problems.push(`${where}: deadline ${waiting?.deadline} is not started ${att?.started} + 1h`);
  if (waiting && "deadline_ns" in waiting) problems.push(`${where}: approval.waiting still has deadline_ns`);
  if (parked?.deadline !== waiting?.deadline)
    problems.push(`${where}: run.waiting's deadline ${parked?.deadline} is not the step's ${waiting?.deadline}`);
  if (att?.finished !== null) problems.push(`${where}: a waiting attempt is finished: ${att?.finished}`);
}
await call("POST", `/v1/runs/${gated}/steps/gate/approve`, { token: "writer", body: { input: { replicas: 2 } }, expect: 400 });
await call("POST", `/v1/runs/${gated}/steps/gate/approve`, { token: "reader", body: {}, expect: 403 });
await call("POST", `/v1/runs/${gated}/steps/nope/approve`, { token: "writer", body: {}, expect: 404 });
await call("POST", `/v1/runs/${gated}/steps/gate/approve`, { token: "writer", body: { input: { ticket: "T-1", replicas: 2 }, comment: "ok" }, expect: 202 });
await waitRun(gated, ["succeeded"]);
await call("POST", `/v1/runs/${gated}/steps/gate/approve`, { token: "writer", body: {}, expect: 409 });
const gated2 = await start("gated");
await waitRun(gated2, ["waiting"]);
await call("POST", `/v1/runs/${gated2}/steps/gate/reject`, { token: "writer", body: { comment: 5 }, expect: 400 });
await call("POST", `/v1/runs/${gated2}/steps/gate/reject`, { token: "writer", body: { comment: "no" }, expect: 202 });
await call("POST", "/v1/runs/r-nope/steps/gate/reject", { token: "writer", body: {}, expect: 404 });
await waitRun(gated2, ["failed"]);
await call("POST", `/v1/runs/${gated2}/steps/gate/reject`, { token: "writer", body: {}, expect: 409 });

// --- cancel, resume, dead letters
const slow = await start("slow");
await waitRun(slow, ["running"]);
await call("POST", `/v1/runs/${slow}/cancel`, { token: "reader", expect: 403 });
await call("POST", `/v1/runs/${slow}/cancel`, { token: "writer", expect: 202 });
await waitRun(slow, ["cancelled"]);
await call("POST", `/v1/runs/${hello}/cancel`, { token: "writer", expect: 409 });
await call("POST", "/v1/runs/r-nope/cancel", { token: "writer", expect: 404 });
const broken = await start("broken");
await waitRun(broken, ["failed"]);
await call("GET", "/v1/ticks", { token: "reader", expect: 200 });
await call("GET", "/v1/ticks?since=10m&limit=5", { token: "reader", expect: 200 });
await call("GET", "/v1/ticks?since=later", { token: "reader", expect: 400 });
await call("GET", "/v1/dead-letters", { token: "reader", expect: 200 });
await call("GET", "/v1/dead-letters?limit=0", { token: "reader", expect: 400 });
await call("POST", `/v1/dead-letters/${broken}/requeue`, { token: "writer", expect: 202 });
await call("POST", `/v1/dead-letters/${hello}/requeue`, { token: "writer", expect: 409 });
await call("POST", "/v1/dead-letters/r-nope/requeue", { token: "writer", expect: 404 });
await waitRun(broken, ["failed"]);
await call("DELETE", `/v1/dead-letters/${broken}`, { token: "reader", expect: 403 });
await call("DELETE", `/v1/dead-letters/${broken}?reason=${"x".repeat(1001)}`, { token: "writer", expect: 400 });
await call("DELETE", `/v1/dead-letters/${broken}?reason=known%20flake`, { token: "writer", expect: 200 });
await call("DELETE", `/v1/dead-letters/${broken}`, { token: "writer", expect: 409 });
await call("DELETE", "/v1/dead-letters/r-nope", { token: "writer", expect: 404 });
await call("POST", `/v1/runs/${broken}/resume`, { token: "writer", expect: 202 });
await waitRun(broken, ["failed"]);
await call("POST", `/v1/runs/${broken}/resume`, { token: "writer", expect: 202 });
await call("POST", `/v1/runs/${hello}/resume`, { token: "writer", expect: 409 });
await call("POST", "/v1/runs/r-nope/resume", { token: "writer", expect: 404 });
await call("POST", `/v1/runs/${broken}/resume`, { token: "reader", expect: 403 });

// --- instances and executions
const made = await call("POST", "/v1/instances", { token: "writer", body: { backend: "local", labels: { team: "a" } }, expect: 201 });
const inst = made.json?.instance?.id;
{
  const i = made.json?.instance, c = timeNs(i?.created), u = timeNs(i?.updated), l = timeNs(i?.last_used);
  if (c === null || u === null || l === null || u < c || l < c)
    problems.push(`POST /v1/instances: created ${i?.created}, updated ${i?.updated}, last_used ${i?.last_used}`);
}
await call("POST", "/v1/instances", { token: "writer", body: {}, expect: 400 });
await call("POST", "/v1/instances", { token: "writer", body: { backend: "local", size: 3 }, expect: 400 });
await call("POST", "/v1/instances", { token: "writer", body: { backend: "nope" }, expect: 400 });
await call("POST", "/v1/instances", { token: "reader", body: { backend: "local" }, expect: 403 });
await call("GET", "/v1/instances", { token: "reader", expect: 200 });
await call("GET", "/v1/instances?all=true&status=false", { token: "reader", expect: 200 });
await call("GET", "/v1/instances?all=maybe", { token: "reader", expect: 400 });
await call("GET", `/v1/instances/${inst}`, { token: "reader", expect: 200 });
await call("GET", "/v1/instances/i-nope", { token: "reader", expect: 404 });
{
  const x = (await call("POST", `/v1/instances/${inst}/exec`, { token: "writer", body: { command: "echo hi; echo err >&2" }, expect: 200 })).json?.execution;
  const s0 = timeNs(x?.started), s1 = timeNs(x?.ended);
  if (s0 === null || s1 === null || s1 < s0) problems.push(`POST /v1/instances/${inst}/exec: started ${x?.started}, ended ${x?.ended}`);
}
await call("POST", `/v1/instances/${inst}/exec`, { token: "writer", body: { argv: ["true"], command: "true" }, expect: 400 });
await call("POST", "/v1/instances/i-nope/exec", { token: "writer", body: { command: "true" }, expect: 404 });
const asyncX = await call("POST", `/v1/instances/${inst}/exec`, { token: "writer", body: { command: "echo started; sleep 30", async: true }, expect: 202 });
const xid = asyncX.json?.execution?.id;
await call("GET", `/v1/instances/${inst}/executions`, { token: "reader", expect: 200 });
await call("GET", "/v1/instances/i-nope/executions", { token: "reader", expect: 404 });
await call("GET", `/v1/instances/${inst}/executions/${xid}`, { token: "reader", expect: 200 });
await call("GET", `/v1/instances/${inst}/executions/x-nope`, { token: "reader", expect: 404 });
await call("GET", `/v1/instances/${inst}/executions/${xid}?output=maybe`, { token: "reader", expect: 400 });
await call("GET", `/v1/instances/${inst}/executions/${xid}/output?follow=yes`, { token: "reader", expect: 400 });
await call("GET", `/v1/instances/${inst}/executions/${xid}/output`, { token: "reader", expect: 200 });
await call("GET", `/v1/instances/${inst}/executions/x-nope/output`, { token: "reader", expect: 404 });
await call("DELETE", `/v1/instances/${inst}/executions/${xid}`, { token: "reader", expect: 403 });
await call("DELETE", `/v1/instances/${inst}/executions/${xid}`, { token: "writer", expect: 202 });
await call("DELETE", `/v1/instances/${inst}/executions/x-nope`, { token: "writer", expect: 404 });
await call("GET", `/v1/instances/${inst}/executions/${xid}/output?follow=true`, { token: "reader", expect: 200 });
await call("DELETE", `/v1/instances/${inst}`, { token: "reader", expect: 403 });
await call("DELETE", `/v1/instances/${inst}`, { token: "writer", expect: 200 });
await call("DELETE", "/v1/instances/i-nope", { token: "writer", expect: 404 });

// --- plugins, control
await call("GET", "/v1/plugins", { token: "reader", expect: 200 });
// --- artifacts: listed, served whole and by range, checked by sha256
const stored = await start("stored");
await waitRun(stored, ["succeeded"]);
const arts = (await call("GET", `/v1/runs/${stored}/artifacts`, { token: "reader", expect: 200 })).json?.artifacts || [];
const want = Buffer.from("0123456789".repeat(100));
const sha = crypto.createHash("sha256").update(want).digest();
const art = arts.find((a) => a.name === "out/digits.txt");
if (!art || art.size !== 1000 || art.sha256 !== sha.toString("hex") || art.step !== "write")
  problems.push(`GET /v1/runs/${stored}/artifacts: ${JSON.stringify(arts)}`);
await call("GET", `/v1/runs/${hello}/artifacts`, { token: "reader", expect: 200 });
await call("GET", "/v1/runs/r-nope/artifacts", { token: "reader", expect: 404 });
const whole = await call("GET", `/v1/runs/${stored}/artifacts/out/digits.txt`, { token: "reader", expect: 200 });
if (!whole.buf.equals(want)) problems.push(`the artifact's bytes: ${whole.text.slice(0, 80)}`);
if (whole.headers.etag !== `"${sha.toString("hex")}"` || whole.headers["repr-digest"] !== `sha-256=:${sha.toString("base64")}:`)
  problems.push(`the artifact's ETag ${whole.headers.etag} and Repr-Digest ${whole.headers["repr-digest"]}`);
if (whole.headers["content-length"] !== "1000" || whole.headers["accept-ranges"] !== "bytes")
  problems.push(`the artifact's Content-Length ${whole.headers["content-length"]}, Accept-Ranges ${whole.headers["accept-ranges"]}`);
for (const [range, from, to] of [["bytes=10-19", 10, 20], ["bytes=990-", 990, 1000], ["bytes=-5", 995, 1000], ["bytes=995-5000", 995, 1000]]) {
  const part = await call("GET", `/v1/runs/${stored}/artifacts/out/digits.txt`, { token: "reader", headers: { Range: range }, expect: 206 });
  if (!part.buf.equals(want.subarray(from, to)) || part.headers["content-range"] !== `bytes ${from}-${to - 1}/1000`)
    problems.push(`Range ${range}: ${part.headers["content-range"]}, ${part.text.slice(0, 40)}`);
}
// A list of ranges, another unit or an If-Range of other bytes: the whole.
for (const headers of [{ Range: "bytes=0-1,5-6" }, { Range: "items=0-1" }, { Range: "bytes=0-9", "If-Range": '"0000"' }]) {
  const r = await call("GET", `/v1/runs/${stored}/artifacts/out/digits.txt`, { token: "reader", headers, expect: 200 });
  if (!r.buf.equals(want)) problems.push(`${JSON.stringify(headers)}: not the whole artifact`);
}
const same = await call("GET", `/v1/runs/${stored}/artifacts/out/digits.txt`, { token: "reader", headers: { Range: "bytes=0-9", "If-Range": whole.headers.etag }, expect: 206 });
if (same.text !== "0123456789") problems.push(`If-Range with its own ETag: ${same.text}`);
const past = await call("GET", `/v1/runs/${stored}/artifacts/out/digits.txt`, { token: "reader", headers: { Range: "bytes=1000-" }, expect: 416 });
if (past.headers["content-range"] !== "bytes */1000") problems.push(`416's Content-Range: ${past.headers["content-range"]}`);
await call("GET", `/v1/runs/${stored}/artifacts/out/../../../etc/passwd`, { token: "reader", expect: 404 });
await call("GET", `/v1/runs/${stored}/artifacts/out%2F..%2F..%2Fetc%2Fpasswd`, { token: "reader", expect: 404 });
await call("GET", `/v1/runs/${stored}/artifacts/nope`, { token: "reader", expect: 404 });
await call("GET", `/v1/runs/r-nope/artifacts/out/digits.txt`, { token: "reader", expect: 404 });
// --- a shared namespace: listed, its latest and a named version served
const shared = await start("shared");
await waitRun(shared, ["succeeded"]);
const vers = (await call("GET", "/v1/artifacts/namespaces/shared", { token: "reader", expect: 200 })).json?.versions || [];
const vsha = crypto.createHash("sha256").update("v1 bytes").digest("hex");
if (vers.length !== 1 || vers[0].name !== "dir/v.txt" || vers[0].version !== 1 || vers[0].state !== "stored" || vers[0].sha256 !== vsha || vers[0].run !== shared)
  problems.push(`GET /v1/artifacts/namespaces/shared: ${JSON.stringify(vers)}`);
await call("GET", "/v1/artifacts/namespaces/never-written", { token: "reader", expect: 200 });
await call("GET", "/v1/artifacts/namespaces/..", { token: "reader", expect: 400 });
await call("GET", "/v1/artifacts/namespaces/Bad%2Fns", { token: "reader", expect: 400 });
for (const q of ["", "?version=1"]) {
  const v = await call("GET", `/v1/artifacts/namespaces/shared/dir/v.txt${q}`, { token: "reader", expect: 200 });
  if (v.text !== "v1 bytes" || v.headers.etag !== `"${vsha}"` || v.headers["content-length"] !== "8")
    problems.push(`the namespace version${q}: ${v.text} ${v.headers.etag} ${v.headers["content-length"]}`);
}
await call("GET", "/v1/artifacts/namespaces/shared/dir/v.txt", { token: "reader", headers: { Range: "bytes=0-1" }, expect: 206 });
await call("GET", "/v1/artifacts/namespaces/shared/dir/v.txt?version=2", { token: "reader", expect: 404 });
await call("GET", "/v1/artifacts/namespaces/shared/dir/v.txt?version=01", { token: "reader", expect: 400 });
await call("GET", "/v1/artifacts/namespaces/shared/dir/%2e%2e/%2e%2e/etc/passwd", { token: "reader", expect: 400 });
await call("GET", "/v1/artifacts/namespaces/shared/dir%2F..%2Fv.txt", { token: "reader", expect: 400 });
await call("GET", "/v1/artifacts/namespaces/shared/v.txt@1", { token: "reader", expect: 400 });
await call("GET", "/v1/artifacts/namespaces/shared/nope", { token: "reader", expect: 404 });
await call("GET", "/v1/artifacts/namespaces/shared/dir/v.txt", { token: "reader", headers: { Range: "bytes=100-" }, expect: 416 });

await call("GET", "/v1/control", { token: "reader", expect: 200 });
await call("POST", "/v1/control", { token: "admin", body: { paused: false }, expect: 200 });
await call("POST", "/v1/control", { token: "writer", body: { paused: false }, expect: 403 });
await call("POST", "/v1/admin/reload", { token: "writer", expect: 403 });
await call("POST", "/v1/admin/reload", { token: "admin", expect: 200 });
await call("POST", "/v1/control", { token: "admin", body: { bogus: true }, expect: 400 });

// --- webhooks
const hookBody = JSON.stringify({ inputs: { who: "hook" } });
const sig = "sha256=" + crypto.createHmac("sha256", hookKey).update(hookBody).digest("hex");
await call("POST", "/v1/hooks/build", { raw: hookBody, headers: { "X-Orch-Signature": sig, "X-Orch-Delivery": "d-1", traceparent: tp }, expect: 201 });
await call("POST", "/v1/hooks/build", { raw: hookBody, headers: { "X-Orch-Signature": sig, "X-Orch-Delivery": "d-1" }, expect: 200 });
await call("POST", "/v1/hooks/build", { raw: hookBody, expect: 401 });
await call("POST", "/v1/hooks/nope", { raw: hookBody, headers: { "X-Orch-Signature": sig }, expect: 404 });
const badBody = "[1]";
const badSig = "sha256=" + crypto.createHmac("sha256", hookKey).update(badBody).digest("hex");
await call("POST", "/v1/hooks/build", { raw: badBody, headers: { "X-Orch-Signature": badSig }, expect: 400 });

// --- every authenticated route refuses a request without a token (401)
// and one with an unknown token, before it looks at anything else.
for (const [p, ops] of Object.entries(api.paths))
  for (const [m, op] of Object.entries(ops)) {
    if (op.security && op.security.length === 0) continue;
    const concrete = p.replace(/\{[^}]+\}/g, "x-none");
    await call(m.toUpperCase(), concrete, { expect: 401 });
    await call(m.toUpperCase(), concrete, { token: "forged", expect: 401 });
  }

// --- coverage: every operation answered a success, and a client error
// where it documents one.
for (const [p, ops] of Object.entries(api.paths))
  for (const [m, op] of Object.entries(ops)) {
    const key = `${m.toUpperCase()} ${p}`;
    const got = seen.get(key) || new Set();
    if (!got.has("2xx")) problems.push(`${key}: never seen answering a success`);
    const has4xx = Object.keys(op.responses).some((c) => c[0] === "4");
    if (has4xx && !got.has("4xx")) problems.push(`${key}: never seen answering a client error`);
  }
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log(`ok: ${seen.size} operations checked against the document`);
