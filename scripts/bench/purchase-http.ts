/**
 * Purchases end to end: HTTP into the Worker in workerd (wrangler dev), admission JWT
 * verified, the purchase script run through @upstash/redis and the local REST bridge,
 * the order written to Postgres through the Neon driver and proxy, the answer back.
 *
 * What this is, honestly: one machine playing client, edge and every dependency. wrangler
 * dev puts a Node proxy in front of workerd, and Redis and Postgres are reached through
 * local bridges in this very process, so the figures are an upper bound on what the code
 * costs locally, not a forecast of Cloudflare's network.
 *
 * Runs on free ports and in a database of its own (dropped afterwards), like the
 * integration tests; its sale keys in the shared Redis are deleted afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis as IORedis } from "ioredis";
import { mintAdmissionToken } from "../../workers/auth/admission";
import { keys } from "../../workers/keys";
import { dropDatabase } from "../db/migrate";
import { stackConfigFromEnv } from "../stack/config";
import { type RunningStack, startStack } from "../stack/stack";
import { freePort } from "../stack/worker-process";
import { groupRss } from "./proc";
import { type BenchReport, type BenchRow, closedLoop, loopColumns, summarize } from "./stats";

const ADMISSION_SECRET = process.env.ADMISSION_JWT_SECRET ?? "dev-admission-secret";
const SKU = "BENCH-HTTP";
const RUN_DEADLINE_MS = 50_000; // under the admission tokens' 60 s life

export type PurchaseHttpOptions = {
  repeats?: number;
  attempts?: number;
  stock?: number;
  concurrency?: number;
  log?: (line: string) => void;
};

type Run = {
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  outcomes: Record<string, number>;
  errors: number;
  errorSamples: string[];
};

async function api(stack: RunningStack, path: string, init: RequestInit = {}): Promise<any> {
  const res = await fetch(`${stack.workerUrl}${path}`, {
    ...init,
    headers: {
      authorization: `Bearer ${stack.config.adminToken}`,
      "content-type": "application/json",
      ...init.headers,
    },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** A sale of `stock` units that opens a moment from now, created and pre-warmed through the admin API. */
async function activeSale(stack: RunningStack, stock: number): Promise<string> {
  const start = Date.now() + 2_000;
  const sale = await api(stack, "/api/v1/admin/sales", {
    method: "POST",
    body: JSON.stringify({
      name: "bench",
      start_time: new Date(start).toISOString(),
      end_time: new Date(start + 3_600_000).toISOString(),
      safety_buffer_percent: 0,
      items: [{ sku_id: SKU, name: "bench item", flash_price: "1.00", original_price: "2.00", total_stock: stock }],
    }),
  });
  await api(stack, `/api/v1/admin/sales/${sale.sale_id}/prewarm`, { method: "POST" });
  await new Promise((r) => setTimeout(r, Math.max(0, start - Date.now() + 100)));
  return sale.sale_id as string;
}

/** Runs `attempts` requests, `concurrency` in flight, counting answers by status and body. */
async function measure(attempts: number, concurrency: number, request: (i: number) => Promise<Response>): Promise<Run> {
  const outcomes: Record<string, number> = {};
  const oddAnswers = new Set<string>();
  const loop = await closedLoop(attempts, concurrency, RUN_DEADLINE_MS, async (i) => {
    const res = await request(i);
    const text = await res.text();
    let body: { status?: string; error?: string; now_ms?: number } | null = null;
    try {
      body = JSON.parse(text);
    } catch {
      /* not the API's JSON: wrangler dev's proxy answers some failures itself */
    }
    const label = body?.status ?? body?.error ?? (body?.now_ms ? "time" : "unrecognised body");
    if (label === "unrecognised body" && oddAnswers.size < 3) oddAnswers.add(`${res.status} ${text.slice(0, 160)}`);
    const kind = `${res.status} ${label}`;
    outcomes[kind] = (outcomes[kind] ?? 0) + 1;
  });
  const s = summarize(loop);
  return {
    perSecond: s.perSecond,
    p50: s.p50,
    p95: s.p95,
    p99: s.p99,
    outcomes,
    errors: loop.errors,
    errorSamples: [...loop.errorSamples, ...oddAnswers],
  };
}

/** One buyer per attempt, each with its own admission token, Idempotency-Key and device. */
async function purchases(stack: RunningStack, saleId: string, attempts: number, concurrency: number): Promise<Run> {
  // Tokens are minted before the clock starts: the queue mints them, not the purchase path.
  const tokens = await Promise.all(
    Array.from({ length: attempts }, (_, i) =>
      mintAdmissionToken(ADMISSION_SECRET, { sub: `hb${i}`, saleId, jti: `j${i}`, device: `hd${i}` }).then(
        (t) => t.token,
      ),
    ),
  );
  return measure(attempts, concurrency, (i) =>
    fetch(`${stack.workerUrl}/api/v1/flash-sale/${saleId}/purchase`, {
      method: "POST",
      headers: {
        authorization: `Bearer ${tokens[i]}`,
        "idempotency-key": `hk${i}`,
        "content-type": "application/json",
      },
      body: JSON.stringify({ sku_id: SKU, quantity: 1 }),
    }),
  );
}

async function deleteSaleKeys(redisUrl: string, saleIds: string[]): Promise<void> {
  const io = new IORedis(redisUrl, { maxRetriesPerRequest: 1 });
  try {
    for (const saleId of saleIds) {
      let cursor = "0";
      for (let rounds = 0; rounds < 100_000; rounds++) {
        const [next, found] = await io.scan(cursor, "MATCH", `fs:{${saleId}}:*`, "COUNT", 1000);
        if (found.length) await io.unlink(...found);
        cursor = next;
        if (cursor === "0") break;
      }
      await io.srem(keys.activeSales(), saleId);
    }
  } finally {
    io.disconnect();
  }
}

export async function benchPurchaseHttp(
  options: PurchaseHttpOptions = {},
): Promise<BenchReport & { memory: object; runs: Record<string, Run[]> }> {
  const log = options.log ?? (() => undefined);
  // Capped at 3: a sell-out run takes tens of seconds here, and `npm run bench` stays under 5 min.
  const repeats = Math.min(options.repeats ?? 3, 3);
  const attempts = options.attempts ?? 5_000;
  const stock = options.stock ?? 1_000;
  const concurrency = options.concurrency ?? 64;

  const base = stackConfigFromEnv();
  const database = `flashsale_bench_${process.pid}_${Date.now().toString(36)}`;
  const databaseUrl = new URL(base.databaseUrl);
  databaseUrl.pathname = `/${database}`;
  const config = {
    ...base,
    databaseUrl: databaseUrl.toString(),
    upstashUrl: `http://127.0.0.1:${await freePort()}`,
    neonProxyPort: await freePort(),
    workerPort: await freePort(),
  };
  const stateDir = mkdtempSync(join(tmpdir(), "flashsale-bench-"));
  log(`  starting the stack (wrangler dev, database ${database})`);
  const stack = await startStack({ config, worker: true, stateDir });
  // startStack names the wrangler pid only in its log lines; wrangler runs detached, so
  // its pid is also the process group of workerd and everything else it started.
  const pgid = Number(/wrangler dev, pid (\d+)/.exec(stack.started.join("\n"))?.[1] ?? 0);

  // Three measurements per repeat: the floor (GET /time touches no dependency, so it is
  // what wrangler dev + workerd cost per request here), one purchase at a time (latency
  // without queueing), and the sell-out crowd (throughput, and latency under load).
  const scenarios = [
    { name: "floor: GET /api/v1/time", attempts: 2_000, concurrency, stock: 0 },
    { name: "purchase, 1 in flight", attempts: 200, concurrency: 1, stock: 1_000 },
    { name: `purchase: ${attempts} buyers, ${stock} units`, attempts, concurrency, stock },
  ];
  const saleIds: string[] = [];
  const runs = new Map<string, Run[]>(scenarios.map((s) => [s.name, []]));
  let rssBefore = { totalMb: Number.NaN, processes: "" };
  let rssAfter = rssBefore;
  const nodeRssBefore = process.memoryUsage().rss / 2 ** 20;
  try {
    // Untimed warm-up: the first requests compile the Worker's code paths and open pools.
    const warm = await activeSale(stack, 50);
    saleIds.push(warm);
    await purchases(stack, warm, 200, concurrency);
    if (pgid) rssBefore = groupRss(pgid);

    for (let r = 1; r <= repeats; r++) {
      for (const scenario of scenarios) {
        let run: Run;
        if (scenario.stock === 0) {
          run = await measure(scenario.attempts, scenario.concurrency, () => fetch(`${stack.workerUrl}/api/v1/time`));
        } else {
          const saleId = await activeSale(stack, scenario.stock);
          saleIds.push(saleId);
          run = await purchases(stack, saleId, scenario.attempts, scenario.concurrency);
        }
        runs.get(scenario.name)!.push(run);
        log(
          `  run ${r}/${repeats} ${scenario.name}: ${run.perSecond.toFixed(0)} req/s, p50 ${run.p50.toFixed(1)} ms, ` +
            `p99 ${run.p99.toFixed(1)} ms, ${JSON.stringify(run.outcomes)}`,
        );
        for (const sample of run.errorSamples) log(`    sample: ${sample}`);
      }
    }
    if (pgid) rssAfter = groupRss(pgid);
  } finally {
    await deleteSaleKeys(config.redisUrl, saleIds).catch((err) =>
      console.warn(`could not delete bench keys: ${err.message}`),
    );
    // Dropped while the stack's Neon proxy still runs (startStack pointed the driver at
    // it); `with (force)` closes the idle Worker's connections.
    await dropDatabase(config.databaseUrl).catch((err) => console.warn(`could not drop ${database}: ${err.message}`));
    await stack.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }

  const nodeRssAfter = process.memoryUsage().rss / 2 ** 20;
  const rows: BenchRow[] = scenarios.map((scenario) => {
    const group = runs.get(scenario.name)!;
    const outcomes = new Map<string, number>();
    for (const run of group)
      for (const [k, v] of Object.entries(run.outcomes)) outcomes.set(k, (outcomes.get(k) ?? 0) + v);
    return {
      scenario: scenario.name,
      "in flight": scenario.concurrency,
      runs: group.length,
      ...loopColumns(group, "req/s", 1),
      errors: group.reduce((n, r) => n + r.errors, 0),
      "answers (all runs)": [...outcomes].map(([k, v]) => `${k}: ${v}`).join(", "),
    };
  });
  return {
    name: "purchase-http",
    notes: [
      `POST /api/v1/flash-sale/{id}/purchase with a fresh admission JWT, Idempotency-Key and device per buyer; ${repeats} runs per row, median (min–max).`,
      "Path: Node fetch -> wrangler dev's proxy -> workerd (Worker) -> Upstash REST bridge -> Redis, and Neon WS proxy -> Postgres; bridges, proxies and the load generator share this process and 2 cores.",
      `wrangler group after the runs: ${rssAfter.processes || "not found"}.`,
      `RSS of the wrangler dev process group (wrangler's node, workerd, esbuild) after warm-up -> after the runs: ${rssBefore.totalMb.toFixed(0)} MB -> ${rssAfter.totalMb.toFixed(0)} MB.`,
      `RSS of this Node process (load generator + Upstash bridge + Neon proxy), start -> end: ${nodeRssBefore.toFixed(0)} MB -> ${nodeRssAfter.toFixed(0)} MB.`,
    ],
    rows,
    memory: {
      wrangler_group_rss_mb: {
        after_warm_up: rssBefore.totalMb,
        after_runs: rssAfter.totalMb,
        processes_after: rssAfter.processes,
      },
      bench_process_rss_mb: { start: nodeRssBefore, end: nodeRssAfter },
    },
    runs: Object.fromEntries(runs),
  };
}
