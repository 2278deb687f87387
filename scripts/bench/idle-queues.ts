/**
 * What idle sales cost: the local stack with N live sales (started, an hour to run) and no
 * traffic, and the CPU its workerd process uses over a window, read from /proc/<pid>/stat
 * (utime + stime). A queue nobody waits in should sleep until its next boundary
 * (docs/queue.md "A queue that sleeps"), so the figure should be close to the idle floor.
 *
 *   npx tsx scripts/bench/idle-queues.ts [sales=20] [seconds=30]
 *
 * Starts its own redis-server and Postgres database (both removed afterwards), so nothing
 * else's data is touched. Linux only (/proc).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { dropDatabase } from "../db/migrate";
import { stackConfigFromEnv } from "../stack/config";
import { startOwnRedis } from "../stack/own-servers";
import { startStack } from "../stack/stack";
import { freePort } from "../stack/worker-process";

const SALES = Number(process.argv[2] ?? 20);
const SECONDS = Number(process.argv[3] ?? 30);
const CLOCK_TICKS = 100; // USER_HZ on Linux

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The workerd processes under `root` (wrangler dev runs workerd as a child). */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      out.push(child);
      walk(child);
    }
  };
  walk(root);
  return out;
}

const commOf = (pid: number) => readFileSync(`/proc/${pid}/comm`, "utf8").trim();

/** utime + stime of `pid`, in clock ticks. */
function cpuTicks(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

const base = stackConfigFromEnv();
const databaseUrl = new URL(base.databaseUrl);
databaseUrl.pathname = `/flashsale_idle_${process.pid}`;
const redis = await startOwnRedis({ durable: false });
const stateDir = mkdtempSync(join(tmpdir(), "flashsale-idle-"));
const stack = await startStack({
  config: {
    ...base,
    redisUrl: redis.url,
    databaseUrl: databaseUrl.toString(),
    upstashUrl: `http://127.0.0.1:${await freePort()}`,
    neonProxyPort: await freePort(),
    workerPort: await freePort(),
  },
  worker: true,
  stateDir,
});
try {
  // Far enough ahead for every sale to be created on a loaded machine.
  const startMs = Date.now() + 40_000;
  for (let i = 0; i < SALES; i++) {
    const res = await fetch(`${stack.workerUrl}/api/v1/admin/sales`, {
      method: "POST",
      headers: { authorization: `Bearer ${stack.config.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({
        name: `Idle sale ${i}`,
        start_time: new Date(startMs).toISOString(),
        end_time: new Date(startMs + 3_600_000).toISOString(),
        items: [{ sku_id: "IDLE", name: "Idle", flash_price: "1.00", original_price: "2.00", total_stock: 10 }],
      }),
    });
    if (res.status !== 201) throw new Error(`create sale: ${res.status} ${await res.text()}`);
    const { sale_id } = (await res.json()) as { sale_id: string };
    // Wakes the queue object, as a shopper's page would once.
    await fetch(`${stack.workerUrl}/api/v1/flash-sale/${sale_id}/status`).then((r) => r.arrayBuffer());
  }
  // Past the start, and past the first ticks after it.
  await sleep(Math.max(0, startMs - Date.now()) + 5_000);
  const workerd = descendants(process.pid).filter((pid) => commOf(pid) === "workerd");
  if (workerd.length === 0) throw new Error("no workerd process found under this one");
  const before = workerd.map(cpuTicks);
  const t0 = performance.now();
  await sleep(SECONDS * 1000);
  const elapsed = (performance.now() - t0) / 1000;
  const used = workerd.map(cpuTicks).reduce((sum, t, i) => sum + t - before[i]!, 0) / CLOCK_TICKS;
  console.log(
    `${SALES} live sales, no traffic: workerd used ${used.toFixed(2)} s of CPU in ${elapsed.toFixed(1)} s ` +
      `= ${((100 * used) / elapsed).toFixed(1)}% of one core (pids ${workerd.join(", ")})`,
  );
} finally {
  await stack.stop();
  await dropDatabase(databaseUrl.toString()).catch(() => undefined);
  await redis.remove();
  rmSync(stateDir, { recursive: true, force: true });
}
