/**
 * The queue's two numbers, measured on the local stack (wrangler dev, real Redis behind
 * the Upstash bridge):
 *
 *   1. the admission tick costs the same with 1,000 and 1,000,000 shoppers queued: each
 *      tick advances the sale's clock 100 ms at 10,000/s (1,000 admissions), reads the
 *      stock from Redis and moves the watermark;
 *   2. enter-queue throughput through the real door (JWT, body, limiter; captcha off as in
 *      .dev.vars) against one object and against N shard objects.
 *
 * Honest limits: one machine plays client, edge and Redis; wrangler dev runs every Durable
 * Object in one workerd process, so N objects share its threads here, where on Cloudflare
 * each would have its own. The tick figure is a round trip through HTTP; the floor row
 * (GET /api/v1/time) says how much of it is HTTP.
 *
 *   npx tsx scripts/bench/queue.ts        (or: npm run bench -- queue)
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Redis as IORedis } from "ioredis";
import { SignJWT } from "jose";
import { keys } from "../../workers/keys";
import { SHOPPERS_PER_SHARD, shardsFor } from "../../workers/queue/shards";
import { dropDatabase } from "../db/migrate";
import { stackConfigFromEnv } from "../stack/config";
import { type RunningStack, startStack } from "../stack/stack";
import { freePort } from "../stack/worker-process";
import { groupCpuMs } from "./proc";

type Row = Record<string, string | number | null>;
type Report = { name: string; notes: string[]; rows: Row[] };
type Options = { repeats?: number; log?: (line: string) => void };

const SKU = "BENCH-QUEUE";
const TICKS = 300;
const ENTER_SECONDS = 8;
const ENTER_CONCURRENCY = 32;
const IDLE_SAMPLE_MS = 2_000;
const WARM_UP_SECONDS = 3;

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
const ms = (n: number) => n.toFixed(2);

async function post(
  stack: RunningStack,
  path: string,
  body: unknown,
  token = stack.config.adminToken,
  headers: Record<string, string> = {},
) {
  const res = await fetch(`${stack.workerUrl}${path}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json().catch(() => null)) as any };
}

/** A sale known to Redis (meta + stock, as the prewarm writes them) and configured in its queue. */
async function sale(stack: RunningStack, redis: IORedis, created: string[], startMs: number, expectedShoppers: number) {
  const saleId = crypto.randomUUID();
  created.push(saleId);
  await redis.hset(keys.meta(saleId), { start_ms: startMs, end_ms: startMs + 3_600_000, cancelled: 0, skus: SKU });
  await redis.set(keys.stock(saleId, SKU), 1_000_000);
  const configured = await post(stack, `/api/v1/flash-sale/${saleId}/queue-bench`, {
    configure: {
      startMs,
      endMs: startMs + 3_600_000,
      preQueueMinutes: 5,
      preQueueMode: "fifo",
      admissionRatePerSecond: 10_000,
      expectedShoppers,
    },
  });
  if (configured.status !== 200) throw new Error(`configure: ${configured.status} ${JSON.stringify(configured.body)}`);
  return saleId;
}

async function timed(work: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await work();
  return performance.now() - t0;
}

async function tickCost(
  stack: RunningStack,
  redis: IORedis,
  created: string[],
  queued: number,
  log: (l: string) => void,
): Promise<Row> {
  const start = Date.now() - 1_000;
  const saleId = await sale(stack, redis, created, start, 10_000);
  const t0 = performance.now();
  for (let filled = 0; filled < queued; filled += 250_000) {
    const res = await post(stack, `/api/v1/flash-sale/${saleId}/queue-bench`, {
      fill: Math.min(250_000, queued - filled),
    });
    if (res.status !== 200) throw new Error(`fill: ${res.status} ${JSON.stringify(res.body)}`);
  }
  log(`  ${queued.toLocaleString("en")} queued in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const latencies: number[] = [];
  let last: any;
  for (let i = 1; i <= TICKS; i++) {
    latencies.push(
      await timed(async () => {
        last = (await post(stack, `/api/v1/flash-sale/${saleId}/queue-bench`, { tick_at_ms: start + i * 100 })).body;
      }),
    );
  }
  latencies.sort((a, b) => a - b);
  const expected = Math.min(queued, TICKS * 1_000);
  return {
    measure: `tick, ${queued.toLocaleString("en")} queued`,
    n: TICKS,
    "p50 ms": ms(percentile(latencies, 50)),
    "p95 ms": ms(percentile(latencies, 95)),
    "mean ms": ms(latencies.reduce((a, b) => a + b, 0) / latencies.length),
    detail: `admitted_through ${last?.admittedThrough} (expected ${expected}), length ${last?.length}`,
  };
}

async function floor(stack: RunningStack, pgid: number): Promise<Row> {
  const latencies: number[] = [];
  const cpuBefore = groupCpuMs(pgid).get("workerd") ?? 0;
  for (let i = 0; i < TICKS; i++)
    latencies.push(await timed(() => fetch(`${stack.workerUrl}/api/v1/time`).then((r) => r.text())));
  const cpu = (groupCpuMs(pgid).get("workerd") ?? 0) - cpuBefore;
  latencies.sort((a, b) => a - b);
  return {
    measure: "floor: GET /api/v1/time",
    n: TICKS,
    "p50 ms": ms(percentile(latencies, 50)),
    "p95 ms": ms(percentile(latencies, 95)),
    "mean ms": ms(latencies.reduce((a, b) => a + b, 0) / latencies.length),
    detail: "HTTP through wrangler dev, no Durable Object",
    "workerd cpu ms/enter": `${(cpu / TICKS).toFixed(2)} per request`,
  };
}

async function enterThroughput(
  stack: RunningStack,
  redis: IORedis,
  created: string[],
  objects: number,
  pgid: number,
  enterSeconds = ENTER_SECONDS,
): Promise<Row> {
  const expectedShoppers = objects === 1 ? 10_000 : objects * SHOPPERS_PER_SHARD;
  const saleId = await sale(stack, redis, created, Date.now() + 60_000, expectedShoppers);
  const secret = new TextEncoder().encode(process.env.SHOPPER_JWT_SECRET ?? "dev-shopper-secret");
  const now = Math.floor(Date.now() / 1000);
  const tokens = await Promise.all(
    Array.from({ length: 20_000 }, (_, i) =>
      new SignJWT({ acct_created: now - 30 * 86_400 })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(`bench-${objects}-${i}`)
        .setIssuedAt(now)
        .setExpirationTime(now + 3_600)
        .sign(secret),
    ),
  );
  const statuses = new Map<number, number>();
  const latencies: number[] = [];
  let next = 0;
  // workerd's own background work (other objects' alarms, timers), per second, measured
  // idle just before, is taken out of the enter phase's CPU.
  const idleStart = groupCpuMs(pgid);
  await new Promise((r) => setTimeout(r, IDLE_SAMPLE_MS));
  const idleMsPerSecond =
    (((groupCpuMs(pgid).get("workerd") ?? 0) - (idleStart.get("workerd") ?? 0)) * 1000) / IDLE_SAMPLE_MS;
  const cpuBefore = groupCpuMs(pgid);
  const deadline = performance.now() + enterSeconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: ENTER_CONCURRENCY }, async () => {
      while (performance.now() < deadline && next < tokens.length) {
        const i = next++;
        const t = performance.now();
        const res = await post(
          stack,
          `/api/v1/flash-sale/${saleId}/enter-queue`,
          { captcha_token: "bench", device_fingerprint: `fp-${objects}-${i}` },
          tokens[i],
          {
            // One address per shopper, so the per-IP limiter measures nothing here.
            "cf-connecting-ip": `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`,
          },
        );
        latencies.push(performance.now() - t);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpuAfter = groupCpuMs(pgid);
  const cpu = (name: string) => (cpuAfter.get(name) ?? 0) - (cpuBefore.get(name) ?? 0);
  latencies.sort((a, b) => a - b);
  const ok = statuses.get(200) ?? 0;
  const shards = objects === 1 ? 1 : shardsFor(expectedShoppers);
  const stats = (await post(stack, `/api/v1/flash-sale/${saleId}/queue-bench`, {})).body;
  return {
    measure: `enter-queue, ${objects === 1 ? "1 object" : `${shards} shards + coordinator`}`,
    n: latencies.length,
    "entries/s": (ok / seconds).toFixed(0),
    "entries/s per object": (ok / seconds / shards).toFixed(0),
    // Edge Worker and every object share the one workerd: this is their CPU together, per entry.
    "workerd cpu ms/enter": ok ? (Math.max(0, cpu("workerd") - idleMsPerSecond * seconds) / ok).toFixed(2) : "n/a",
    "workerd idle cpu ms/s": idleMsPerSecond.toFixed(0),
    "wrangler proxy cpu ms/enter": ok ? (cpu("node") / ok).toFixed(2) : "n/a",
    "p50 ms": ms(percentile(latencies, 50)),
    "p95 ms": ms(percentile(latencies, 95)),
    detail: `${ENTER_CONCURRENCY} in flight for ${ENTER_SECONDS} s; answers ${[...statuses].map(([s, n]) => `${s}: ${n}`).join(", ")}; queue length ${stats?.length}`,
  };
}

export async function bench(options: Options = {}): Promise<Report> {
  const log = options.log ?? console.log;
  const base = stackConfigFromEnv();
  const database = `flashsale_bench_queue_${process.pid}_${Date.now().toString(36)}`;
  const databaseUrl = new URL(base.databaseUrl);
  databaseUrl.pathname = `/${database}`;
  const config = {
    ...base,
    databaseUrl: databaseUrl.toString(),
    upstashUrl: `http://127.0.0.1:${await freePort()}`,
    neonProxyPort: await freePort(),
    workerPort: await freePort(),
  };
  const stateDir = mkdtempSync(join(tmpdir(), "flashsale-bench-queue-"));
  log(`  starting the stack (wrangler dev, database ${database})`);
  const stack = await startStack({ config, worker: true, stateDir });
  const redis = new IORedis(config.redisUrl);
  // wrangler runs detached: its pid is the process group of workerd (scripts/bench/proc.ts).
  const pgid = Number(/wrangler dev, pid (\d+)/.exec(stack.started.join("\n"))?.[1] ?? 0);
  const created: string[] = [];
  const rows: Row[] = [];
  try {
    rows.push(await floor(stack, pgid));
    // Entries first, while no queue of a million is alive in the same workerd to tick beside them.
    const entries: Row[] = [];
    // Untimed: the object class's first isolate and JIT would otherwise be charged to the first row's CPU.
    await enterThroughput(stack, redis, created, 1, pgid, WARM_UP_SECONDS);
    for (const objects of [1, 8]) {
      const row = await enterThroughput(stack, redis, created, objects, pgid);
      log(
        `  ${row.measure}: ${row["entries/s"]} entries/s, ${row["workerd cpu ms/enter"]} ms workerd CPU each (${row.detail})`,
      );
      entries.push(row);
    }
    for (const queued of [1_000, 1_000_000]) rows.push(await tickCost(stack, redis, created, queued, log));
    rows.push(...entries);
  } finally {
    for (const saleId of created) await redis.del(keys.meta(saleId), keys.stock(saleId, SKU)).catch(() => undefined);
    redis.disconnect();
    await dropDatabase(config.databaseUrl).catch((err) => console.warn(`could not drop ${database}: ${err.message}`));
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }
  return {
    name: "queue",
    notes: [
      `Tick: ${TICKS} ticks per row, one at a time, each moving the sale's clock 100 ms at 10,000/s; time is the HTTP round trip (the floor row is HTTP alone).`,
      "The tick's own work is one Redis MGET, O(1) arithmetic and one small SQLite write: flat in the queue's length by construction; these rows measure it.",
      `Enter: POST enter-queue through the door (session JWT verified, body parsed, limiter asked, captcha off per .dev.vars) for ${ENTER_SECONDS} s, ${ENTER_CONCURRENCY} in flight.`,
      "wrangler dev runs every object in one workerd process on this 2-core machine, so N objects cannot add CPU here; on Cloudflare each object is its own ~1,000 req/s.",
      "CPU per enter: user + system time of the workerd process (/proc/<pid>/stat, 10 ms ticks) over the enter phase, less workerd's idle CPU rate measured over the 2 s before, divided by the entries accepted. workerd runs the edge Worker (JWT, body, limiter) and every object, so it is an upper bound on one object's CPU per enter; wrangler's Node proxy in front is shown apart. Per object = the one object's share with 1 object; with N shards each entry is handled by one shard (and the coordinator only in batches).",
    ],
    rows,
  };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const report = await bench();
  console.log("");
  for (const note of report.notes) console.log(`  ${note}`);
  console.log("");
  const columns = [...new Set(report.rows.flatMap((r) => Object.keys(r)))];
  const widths = columns.map((c) => Math.max(c.length, ...report.rows.map((r) => String(r[c] ?? "").length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join("  ");
  console.log(line(columns));
  console.log(line(widths.map((w) => "-".repeat(w))));
  for (const row of report.rows) console.log(line(columns.map((c) => String(row[c] ?? ""))));
  process.exit(0);
}
