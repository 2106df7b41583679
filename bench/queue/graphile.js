// graphile-worker draining N no-op jobs added in one statement, in its
// default configuration or, with MODE "batched", with its local queue
// (localQueue.size 50, completeJobBatchDelay 0: the batching its docs
// suggest for throughput). Prints the milliseconds from the worker's start
// to an empty queue. usage: node graphile.js CONNECTION N [batched]
const { run, makeWorkerUtils } = require("graphile-worker");
const pg = require("pg");
const [conn, n, mode] = [process.argv[2], +process.argv[3], process.argv[4]];
const preset = mode === "batched"
  ? { worker: { localQueue: { size: 50 }, completeJobBatchDelay: 0 } }
  : undefined;
(async () => {
  const utils = await makeWorkerUtils({ connectionString: conn });
  await utils.migrate();
  const c = new pg.Client({ connectionString: conn });
  await c.connect();
  await c.query("select graphile_worker.add_job('noop', '{}'::json) from generate_series(1, $1)", [n]);
  const t0 = Date.now();
  const runner = await run({ connectionString: conn, preset, taskList: { noop: async () => {} } });
  for (;;) {
    const r = await c.query("select count(*)::int as n from graphile_worker.jobs");
    if (r.rows[0].n === 0) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  console.log(Date.now() - t0);
  await runner.stop();
  await c.end();
  await utils.release();
})().catch((e) => { console.error(e); process.exit(1); });
