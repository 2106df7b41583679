// pg-boss draining N no-op jobs inserted in one call. Its default worker
// fetches one job a poll every 2 s (about 0.5 jobs/s), which would take
// hours here; this one fetches 100 a poll and polls every 0.5 s, as a user
// tuning it for throughput would. Prints the milliseconds from the
// worker's start to an empty queue. usage: node pgboss.js CONNECTION N
const PgBoss = require("pg-boss");
const [conn, n] = [process.argv[2], +process.argv[3]];
(async () => {
  const boss = new PgBoss(conn);
  boss.on("error", (e) => console.error(e));
  await boss.start();
  await boss.createQueue("noop");
  const jobs = Array.from({ length: n }, () => ({ name: "noop", data: {} }));
  for (let i = 0; i < jobs.length; i += 1000) await boss.insert(jobs.slice(i, i + 1000));
  const t0 = Date.now();
  await boss.work("noop", { batchSize: 100, pollingIntervalSeconds: 0.5 }, async () => {});
  for (;;) {
    const left = await boss.getQueueSize("noop", { before: "completed" });
    if (left === 0) break;
    await new Promise((res) => setTimeout(res, 20));
  }
  console.log(Date.now() - t0);
  await boss.stop({ graceful: false });
})().catch((e) => { console.error(e); process.exit(1); });
