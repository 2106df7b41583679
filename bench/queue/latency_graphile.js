// Queue latency of graphile-worker (default configuration; "batched":
// its local queue) at a steady offered load (issue 24): one job added every
// 1/RATE s for SECONDS s, each carrying the time it was added; the task
// records how long after that it started. Prints "P50_MS P99_MS N".
// usage: node latency_graphile.js CONNECTION RATE SECONDS [batched]
const { run, makeWorkerUtils } = require("graphile-worker");
const [conn, rate, secs, mode] = [process.argv[2], +process.argv[3], +process.argv[4], process.argv[5]];
const preset = mode === "batched"
  ? { worker: { localQueue: { size: 50 }, completeJobBatchDelay: 0 } }
  : undefined;
const pct = (a, p) => a[Math.min(a.length - 1, Math.floor(p * a.length))];
(async () => {
  const utils = await makeWorkerUtils({ connectionString: conn });
  await utils.migrate();
  const lat = [];
  const n = Math.floor(rate * secs);
  const runner = await run({
    connectionString: conn, preset, logger: undefined,
    taskList: { lat: async (p) => { lat.push(Date.now() - p.t); } },
  });
  const t0 = Date.now();
  for (let i = 0; i < n; i++) {
    const d = t0 + (i * 1000) / rate - Date.now();
    if (d > 0) await new Promise((r) => setTimeout(r, d));
    await utils.addJob("lat", { t: Date.now() });
  }
  while (lat.length < n) await new Promise((r) => setTimeout(r, 20));
  lat.sort((a, b) => a - b);
  console.log(`${pct(lat, 0.5).toFixed(1)} ${pct(lat, 0.99).toFixed(1)} ${lat.length}`);
  await runner.stop();
  await utils.release();
})().catch((e) => { console.error(e); process.exit(1); });
