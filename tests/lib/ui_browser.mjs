// The web UI in headless Chromium (tests/e2e/test_ui_browser.sh runs it):
// every wait is on something the page or the API shows, with a generous
// deadline, never a fixed pause. UI_BASE is orchd's URL, UI_GO the
// directory whose files let the workflow's steps go on, UI_SHOTS where
// screenshots go.
import { createRequire } from "module";
import fs from "fs";
import path from "path";
const require = createRequire(process.env.BROWSER_TOOLS + "/node_modules/");
const puppeteer = require("puppeteer-core");

const base = process.env.UI_BASE, shots = process.env.UI_SHOTS, go = process.env.UI_GO;
const DEADLINE = 60000;
const problems = [];
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

async function api(method, p, body, token = "writer") {
  const headers = { Authorization: `Bearer ${token}-token` };
  if (body) headers["Content-Type"] = "application/json";
  const r = await fetch(base + p, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const text = await r.text();
  return { status: r.status, json: text ? JSON.parse(text) : null };
}
async function startRun(workflow) {
  const r = await api("POST", "/v1/runs", { workflow });
  if (r.status !== 201) throw new Error(`POST /v1/runs ${workflow}: ${r.status} ${JSON.stringify(r.json)}`);
  return r.json.run.id;
}
async function waitApi(id, ok, what) {
  const end = Date.now() + DEADLINE;
  for (;;) {
    const r = (await api("GET", `/v1/runs/${id}`, null, "reader")).json.run;
    if (ok(r)) return r;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: run is ${r.state}`);
    await new Promise((res) => setTimeout(res, 100));
  }
}
async function until(page, what, fn, ...args) {
  try {
    return await page.waitForFunction(fn, { timeout: DEADLINE, polling: 100 }, ...args);
  } catch (e) {
    await page.screenshot({ path: path.join(shots, `failed-${what.replace(/\W+/g, "_")}.png`), fullPage: true }).catch(() => {});
    throw new Error(`timed out waiting for ${what}: ${e.message.split("\n")[0]}`);
  }
}
const shot = (page, name) => page.screenshot({ path: path.join(shots, `${name}.png`), fullPage: true });
const nodeState = (page, step) => page.$eval(`#dag .node[data-step="${step}"]`, (g) => g.dataset.state);
const waitNode = (page, step, state) => until(page, `step ${step} ${state}`,
  (s, st) => document.querySelector(`#dag .node[data-step="${s}"]`)?.dataset.state === st, step, state);

async function watch(page, label) {
  page.on("console", (m) => {
    if (m.type() === "error" || /Content.Security.Policy/i.test(m.text()))
      problems.push(`${label}: console ${m.type()}: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`${label}: page error: ${e.message}`));
  page.on("request", (r) => {
    const u = r.url();
    if (!u.startsWith("data:") && new URL(u).origin !== base) problems.push(`${label}: a request to another origin: ${u}`);
  });
  page.on("response", (r) => {
    const u = new URL(r.url());
    if (u.origin === base && u.pathname.startsWith("/ui/") && r.headers()["content-security-policy"] !== CSP)
      problems.push(`${label}: ${u.pathname} without the CSP (${r.headers()["content-security-policy"]})`);
  });
  // Through CDP, before the page's own scripts: not subject to the CSP.
  await page.evaluateOnNewDocument(() => {
    window.__csp = [];
    document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
}
async function cspOf(page, label) {
  const v = await page.evaluate(() => window.__csp || []);
  for (const x of v) problems.push(`${label}: CSP violation: ${x}`);
}

async function login(page, token) {
  const resp = await page.goto(`${base}/ui/`, { waitUntil: "load" });
  if (resp.headers()["content-security-policy"] !== CSP) problems.push(`/ui/ answered without the CSP`);
  await until(page, "the login form", () => !!document.querySelector("#token"));
  await page.type("#token", token);
  await page.click("#login-submit");
  await until(page, "the runs page after login", () => !!document.querySelector("#runs-table"));
}

const browser = await puppeteer.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"],
  defaultViewport: { width: 1280, height: 900 },
});
try {
  // --- login, then the runs list shows a run started over the API
  const page = await browser.newPage();
  await watch(page, "writer");
  await page.goto(`${base}/ui/`, { waitUntil: "load" });
  await until(page, "the login page", () => location.hash === "#/login" && !!document.querySelector("#token"));
  await shot(page, "login");
  await page.type("#token", "writer-token");
  await page.click("#login-submit");
  await until(page, "the runs page after login", () => !!document.querySelector("#runs-table"));
  if ((await page.evaluate(() => document.cookie + JSON.stringify(localStorage) + JSON.stringify(sessionStorage))).includes("token"))
    problems.push("the token is visible to the page (document.cookie or web storage)");
  if ((await page.evaluate(() => document.querySelector("#token")?.value || "")) !== "")
    problems.push("the token stayed in the login field");

  const flow = await startRun("flow");
  const t0 = Date.now();
  await until(page, "the new run in the list", (id) => !!document.querySelector(`tr[data-run="${id}"]`), flow);
  console.log(`ok: the runs list showed ${flow} ${Date.now() - t0} ms after it was started`);
  await page.type("#search-id", flow.slice(-6));
  await until(page, "the search to keep one run", (id) =>
    document.querySelectorAll("#runs-table tbody tr").length === 1 && !!document.querySelector(`tr[data-run="${id}"]`), flow);
  await page.$eval("#search-id", (el) => { el.value = ""; el.dispatchEvent(new Event("input")); });
  await shot(page, "runs");
  // A refresh (the running run's duration moves) keeps the keyboard's focus.
  await page.$eval(`tr[data-run="${flow}"] a`, (a) => a.focus());
  const dur0 = await page.$eval(`tr[data-run="${flow}"]`, (tr) => tr.cells[5].textContent);
  await until(page, "a refresh of the runs list", (id, d) => document.querySelector(`tr[data-run="${id}"]`).cells[5].textContent !== d, flow, dur0);
  if (!(await page.evaluate((id) => document.activeElement === document.querySelector(`tr[data-run="${id}"] a`), flow)))
    problems.push("a refresh of the runs list took the focus from a run's link");

  // --- the run page: nodes, edges, live states
  await page.click(`tr[data-run="${flow}"] a`);
  await until(page, "the graph", () => document.querySelectorAll("#dag .node").length > 0);
  const nodes = await page.$$eval("#dag .node", (gs) => gs.map((g) => g.dataset.step).sort());
  if (JSON.stringify(nodes) !== JSON.stringify(["build", "gate", "prep", "ship", "test"])) problems.push(`graph nodes: ${nodes}`);
  const edges = await page.$$eval("#dag .edge", (ps) => ps.map((p) => `${p.dataset.from}>${p.dataset.to}`).sort());
  const want = ["build>gate", "gate>ship", "prep>build", "prep>test", "test>gate"];
  if (JSON.stringify(edges) !== JSON.stringify(want)) problems.push(`graph edges: ${edges}, not ${want}`);
  const xs = Object.fromEntries(await page.$$eval("#dag .node", (gs) => gs.map((g) => [g.dataset.step, Number(/translate\(([-\d.]+)/.exec(g.getAttribute("transform"))[1])])));
  if (!(xs.prep < xs.build && xs.build === xs.test && xs.test < xs.gate && xs.gate < xs.ship)) problems.push(`layers: ${JSON.stringify(xs)}`);
  await waitNode(page, "prep", "running");
  for (const s of ["build", "gate", "ship"]) if ((await nodeState(page, s)) !== "pending") problems.push(`${s} is ${await nodeState(page, s)} while prep runs`);
  const labels = await page.$$eval("#dag .node", (gs) => gs.map((g) => [g.getAttribute("aria-label"), g.querySelector(".node-state").textContent, g.dataset.state, g.getAttribute("tabindex")]));
  for (const [aria, text, st, tab] of labels)
    if (!aria || !aria.endsWith(st) || text !== st || tab !== "0") problems.push(`node labels: ${aria} / ${text} / ${st} / tabindex ${tab}`);

  await shot(page, "run");

  // A step picked with the keyboard; its log streams while it runs.
  await page.$eval('#dag .node[data-step="prep"]', (g) => g.focus()); // an SVG element: not page.focus
  await page.keyboard.press("Enter");
  await until(page, "prep's log, stdout and stderr marked", () =>
    [...document.querySelectorAll("#step-log span.stdout")].some((s) => s.textContent.includes("hello-out")) &&
    [...document.querySelectorAll("#step-log span.stderr")].some((s) => s.textContent.includes("hello-err")));
  if ((await nodeState(page, "prep")) !== "running") problems.push("prep's log was not seen while prep ran");
  await shot(page, "step-log");

  fs.writeFileSync(path.join(go, "prep"), "");
  await waitNode(page, "prep", "succeeded");
  await waitNode(page, "test", "succeeded");
  await waitNode(page, "build", "running");
  await until(page, "prep's log stream to end", () => document.querySelector("#step-log")?.dataset.ended === "true");
  await until(page, "prep's exit code", () => document.querySelector(".attempts-table .exit-code")?.textContent === "0");
  // The panel shows the latest attempt's outputs as the API has them.
  const prepApi = (await api("GET", `/v1/runs/${flow}`, null, "reader")).json.run.steps.find((s) => s.id === "prep").attempts.at(-1);
  const wantOut = Object.entries(prepApi.outputs || {}).map(([k, v]) => `${k}=${v}`).sort();
  await until(page, "prep's outputs", (n) => document.querySelectorAll(".outputs-list dt").length === n, wantOut.length);
  const gotOut = await page.$$eval(".outputs-list dt", (dts) => dts.map((dt) => `${dt.textContent}=${dt.nextElementSibling.textContent}`).sort());
  if (JSON.stringify(gotOut) !== JSON.stringify(wantOut)) problems.push(`prep's outputs shown: ${gotOut}, not ${wantOut}`);
  fs.writeFileSync(path.join(go, "build"), "");
  await waitNode(page, "gate", "waiting");

  // --- the approval's form, reached with Tab, approved with Enter
  await until(page, "the approval form", () => !!document.querySelector('section[data-approval="gate"] button[data-action="approve"]'));
  const fields = await page.$$eval('section[data-approval="gate"] [data-input]', (els) => els.map((e) => `${e.dataset.input}:${e.type}${e.required ? "!" : ""}`).sort());
  if (JSON.stringify(fields) !== JSON.stringify(["force:checkbox", "replicas:number", "ticket:text!"])) problems.push(`approval fields: ${fields}`);
  await page.type('section[data-approval="gate"] [data-input="ticket"]', "T-42");
  await page.type('section[data-approval="gate"] [data-input="replicas"]', "3");
  await page.click('section[data-approval="gate"] [data-input="force"]');
  // From the page's first link (blur() would leave Chrome's starting point
  // at the checkbox), Tab goes through everything up to the approve button.
  await page.$eval(".brand", (a) => a.focus());
  const reached = [];
  const need = ["cancel", "approve", "reject", "step-log", ...["prep", "build", "test", "gate", "ship"].map((n) => `node:${n}`)];
  for (let i = 0; i < 80 && !need.every((n) => reached.includes(n)); i++) {
    await page.keyboard.press("Tab");
    reached.push(await page.evaluate(() => {
      const a = document.activeElement;
      return a ? a.dataset.action || (a.dataset.step && `node:${a.dataset.step}`) || a.id || a.tagName : "";
    }));
  }
  const missed = need.filter((n) => !reached.includes(n));
  if (missed.length) throw new Error(`Tab never reaches ${missed} (${reached.join(" ")})`);
  // Back to the approve button, which Tab reached, to press Enter on it.
  await page.$eval('section[data-approval="gate"] button[data-action="approve"]', (b) => b.focus());
  await shot(page, "approval");
  await page.keyboard.press("Enter");
  await until(page, "the run to succeed", () => document.querySelector("#run-state")?.dataset.state === "succeeded");
  const done = await waitApi(flow, (r) => r.state === "succeeded", "the flow run to succeed");
  const gate = done.steps.find((s) => s.id === "gate").attempts.at(-1);
  if (gate.outputs?.approved !== "true" || gate.outputs?.by !== "writer") problems.push(`gate outputs: ${JSON.stringify(gate.outputs)}`);
  if (await page.$('section[data-approval="gate"]')) problems.push("the approval form stayed after the decision");
  if (await page.$('button[data-action="cancel"]')) problems.push("a finished run offers cancel");

  // --- cancel and requeue from the page
  const slow = await startRun("slow");
  await page.goto(`${base}/ui/#/runs/${slow}`);
  await waitNode(page, "wait", "running");
  await page.click('button[data-action="cancel"]');
  await until(page, "the slow run cancelled", () => document.querySelector("#run-state")?.dataset.state === "cancelled");
  await waitApi(slow, (r) => r.state === "cancelled", "the slow run cancelled");
  await shot(page, "cancelled");
  await until(page, "the requeue button", () => !!document.querySelector('button[data-action="requeue"]'));
  await page.click('button[data-action="requeue"]');
  await waitApi(slow, (r) => r.state === "queued" || r.state === "running", "the slow run requeued");
  await until(page, "the requeued run shown", () => ["queued", "running"].includes(document.querySelector("#run-state")?.dataset.state));
  await api("POST", `/v1/runs/${slow}/cancel`);
  await waitApi(slow, (r) => r.state === "cancelled", "the requeued run cancelled over the API");

  // --- the workflows page: a run started from its generated form
  await page.goto(`${base}/ui/#/workflows`);
  await until(page, "greet's start form", () => !!document.querySelector('form[data-start="greet"]'));
  const gf = 'form[data-start="greet"]';
  const kinds = await page.$$eval(`${gf} [data-input]`, (els) => els.map((e) => `${e.dataset.input}:${e.type}:${e.value}`).sort());
  if (JSON.stringify(kinds) !== JSON.stringify(["color:select-one:red", "loud:checkbox:on", "times:number:2", "who:text:world"]))
    problems.push(`greet's start fields: ${kinds}`);
  await page.$eval(`${gf} [data-input="who"]`, (el) => { el.value = ""; });
  await page.type(`${gf} [data-input="who"]`, "ui");
  await page.$eval(`${gf} [data-input="times"]`, (el) => { el.value = ""; });
  await page.type(`${gf} [data-input="times"]`, "3");
  await page.click(`${gf} [data-input="loud"]`);
  await page.select(`${gf} [data-input="color"]`, "blue");
  await shot(page, "workflows");
  await page.click(`${gf} button[data-action="start"]`);
  await until(page, "the started run's page", () => /^#\/runs\/r-/.test(location.hash) && document.querySelector("#run-state")?.dataset.state === "succeeded");
  const started = decodeURIComponent((await page.evaluate(() => location.hash)).slice("#/runs/".length));
  const sr = (await api("GET", `/v1/runs/${started}`, null, "reader")).json.run;
  if (sr.workflow !== "greet" || JSON.stringify(Object.entries(sr.inputs || {}).sort()) !== JSON.stringify(Object.entries({ color: "blue", loud: true, times: 3, who: "ui" })))
    problems.push(`the run started from the form: ${sr.workflow} ${JSON.stringify(sr.inputs)}`);

  // --- a call step's child run, linked from its parent and back
  const outer = await startRun("outer");
  const outerDone = await waitApi(outer, (r) => r.state === "succeeded", "the outer run");
  const child = outerDone.children?.[0]?.run;
  if (!child) problems.push(`the outer run has no child: ${JSON.stringify(outerDone.children)}`);
  await page.goto(`${base}/ui/#/runs/${outer}`);
  await until(page, "the child's link", (id) => !!document.querySelector(`a[data-child="${id}"]`), child);
  // A refresh keeps the keyboard's focus on a link of the run page too.
  await page.$eval(`a[data-child="${child}"]`, (a) => a.focus());
  const paints = await page.$eval("#graph", (g) => Number(g.dataset.paints));
  await until(page, "a refresh of the run page", (n) => Number(document.querySelector("#graph").dataset.paints) > n, paints);
  if (!(await page.evaluate((id) => document.activeElement === document.querySelector(`a[data-child="${id}"]`), child)))
    problems.push("a refresh of the run page took the focus from the child's link");
  await page.click(`a[data-child="${child}"]`);
  await until(page, "the child's page with its parent's link", (id) =>
    location.hash === `#/runs/${id}` && !!document.querySelector("a[data-parent]"), child);
  const parentLink = await page.$eval("a[data-parent]", (a) => a.dataset.parent);
  if (parentLink !== outer) problems.push(`the child links to ${parentLink}, not ${outer}`);
  await until(page, "the child's graph", () => document.querySelector('#dag .node[data-step="say"]')?.dataset.state === "succeeded");
  await cspOf(page, "writer");

  // --- a read token sees, but has no action
  const ctx = await browser.createBrowserContext();
  const rpage = await ctx.newPage();
  await watch(rpage, "reader");
  await login(rpage, "reader-token");
  const gated = await startRun("flow"); // its files exist now: it goes straight to the gate
  await waitApi(gated, (r) => r.steps.find((s) => s.id === "gate").state === "waiting", "the second run's gate");
  await rpage.goto(`${base}/ui/#/runs/${gated}`);
  await waitNode(rpage, "gate", "waiting");
  await until(rpage, "the approval shown to the reader", () => !!document.querySelector('section[data-approval="gate"]'));
  const acts = await rpage.$$eval("button[data-action], form.approval-form", (els) => els.map((e) => e.dataset.action || e.className));
  if (acts.length) problems.push(`a read token sees actions: ${acts}`);
  await shot(rpage, "reader");
  await rpage.goto(`${base}/ui/#/workflows`);
  await until(rpage, "the workflows page for the reader", () => !!document.querySelector('section[data-workflow="greet"]'));
  if (await rpage.$("form.start-form")) problems.push("a read token sees a start form");
  const who = await rpage.evaluate(() => document.querySelector("#who").textContent);
  if (!who.includes("reader (read)")) problems.push(`the reader's header says '${who}'`);
  await cspOf(rpage, "reader");
  // The writer rejects it from the page, with a comment.
  await page.goto(`${base}/ui/#/runs/${gated}`);
  await until(page, "the second run's approval form", () => !!document.querySelector('section[data-approval="gate"] button[data-action="reject"]'));
  await page.type('section[data-approval="gate"] input[name="comment"]', "not today");
  await page.click('section[data-approval="gate"] button[data-action="reject"]');
  await until(page, "the rejected run failed", () => document.querySelector("#run-state")?.dataset.state === "failed");
  const rej = (await waitApi(gated, (r) => r.state === "failed", "the rejected run")).steps.find((s) => s.id === "gate").attempts.at(-1);
  if (rej.outputs?.approved !== "false" || rej.outputs?.comment !== "not today") problems.push(`the rejected gate's outputs: ${JSON.stringify(rej.outputs)}`);

  // --- logout: back to the login page, the cookie gone
  await page.click("#logout");
  await until(page, "the login page after logout", () => location.hash === "#/login" && !!document.querySelector("#token"));
  const after = await page.evaluate(async () => (await (await fetch("/v1/whoami")).json()).role);
  if (after !== null) problems.push(`after logout whoami says role ${after}`);
  await cspOf(page, "writer");
} catch (e) {
  problems.push(e.stack || String(e));
} finally {
  await browser.close();
}
if (problems.length) {
  console.error(problems.join("\n"));
  process.exit(1);
}
console.log("ok: login, runs list, graph, live states, log, approval, cancel, requeue, read role, logout");
