/**
 * What the outbox asks of Postgres: 1,000 reserved orders (a sale of 1,000 units sold
 * out) written by the production drain (`drainOutbox`, workers/orders/outbox.ts) from a
 * private Redis, through the Worker's @upstash/redis client and the local REST bridge,
 * into a throw-away database through the Neon driver and WebSocket proxy.
 *
 * Two rows, the two ends of what a sale produces: batches of 500 (the drain's default:
 * orders arrived faster than one drain's round trip, so each drain takes all that waits),
 * and batches of 1 (every drain finds one order: orders arrived slower than a round trip).
 * Transactions are read from Postgres (`pg_stat_database.xact_commit` of the database).
 */
import { randomUUID } from "node:crypto";
import { drizzle } from "drizzle-orm/neon-serverless";
import { Redis as IORedis } from "ioredis";
import * as schema from "../../schema/schema";
import { createRedis } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import type { ReservedEvent } from "../../workers/orders/events";
import { drainOutbox } from "../../workers/orders/outbox";
import { newReservationToken } from "../../workers/purchase/purchase";
import { createNodePool } from "../db/neon-node";
import { startUpstashBridge } from "../stack/upstash-bridge";
import { freePort } from "../stack/worker-process";
import { startPrivateRedis } from "./purchase-script";
import { type BenchReport, type BenchRow, medianWithSpread } from "./stats";
import { insertBenchSale, throwawayPostgres } from "./throwaway-postgres";

const ORDERS = 1_000;
const BRIDGE_TOKEN = "bench-upstash-token";

type Drain = { batch: number; ms: number; transactions: number };

function reservedEvent(saleId: string, i: number, now: number): string {
  const event: ReservedEvent = {
    t: "reserved",
    order_id: randomUUID(),
    sale_id: saleId,
    user_id: `b${i}`,
    sku_id: "BENCH-SKU",
    quantity: 1,
    price: "1.00",
    token: newReservationToken(saleId),
    deadline_ms: now + 600_000,
    at_ms: now,
    idempotency_key: `k${i}`,
    device: `d${i}`,
    request_id: "",
  };
  return JSON.stringify(event);
}

export async function benchOutboxDrain(options: { repeats?: number; log?: (line: string) => void } = {}) {
  const log = options.log ?? (() => undefined);
  const repeats = options.repeats ?? 3;
  const pg = await throwawayPostgres("flashsale_bench_outbox");
  const { databaseUrl } = pg;
  const privateRedis = await startPrivateRedis();
  const io = new IORedis(privateRedis.url, { maxRetriesPerRequest: 1 });
  const bridge = await startUpstashBridge({ redisUrl: privateRedis.url, token: BRIDGE_TOKEN, port: await freePort() });
  const redis = createRedis({ UPSTASH_REDIS_REST_URL: bridge.url, UPSTASH_REDIS_REST_TOKEN: BRIDGE_TOKEN });
  // For setup and readings; each drain gets a pool of its own (below).
  const pool = createNodePool(databaseUrl, 1);
  const saleId = randomUUID();
  const drains: Drain[] = [];
  // The drain logs one line per order written (its trail for operators); counted here, not printed.
  const print = console.log;
  try {
    await insertBenchSale(pool, saleId);
    const commits = async () =>
      Number(
        (await pool.query("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()")).rows[0]
          .xact_commit,
      );
    for (let r = 0; r <= repeats; r++) {
      for (const batch of [500, 1]) {
        await pool.query("DELETE FROM flash_sale_orders WHERE sale_id = $1", [saleId]);
        const now = Date.now();
        await io.rpush(keys.outbox(saleId), ...Array.from({ length: ORDERS }, (_, i) => reservedEvent(saleId, i, now)));
        // Statistics reach pg_stat_database when a backend reports them; read before and after, settled.
        const before = await commits();
        // The Worker's pool size (workers/clients/db.ts), ended after the drain: a backend
        // reports its statistics when it exits, so the count after is complete.
        const drainPool = createNodePool(databaseUrl, 4);
        console.log = () => undefined;
        const t0 = performance.now();
        const result = await drainOutbox({ redis, db: drizzle(drainPool, { schema }) }, saleId, {
          batch,
          budgetMs: 120_000,
        });
        const ms = performance.now() - t0;
        console.log = print;
        await drainPool.end();
        await new Promise((resolve) => setTimeout(resolve, 500));
        const transactions = (await commits()) - before;
        const rows = Number(
          (await pool.query("SELECT count(*)::int AS n FROM flash_sale_orders WHERE sale_id = $1", [saleId])).rows[0].n,
        );
        if (result.applied !== ORDERS || rows !== ORDERS || result.remaining !== 0)
          throw new Error(`batch ${batch}: applied ${result.applied}, ${rows} rows, ${result.remaining} left`);
        // The first round warms the connections and plans, untimed.
        if (r === 0) continue;
        drains.push({ batch, ms, transactions });
        log(`  run ${r}/${repeats} batches of ${batch}: ${ORDERS} orders in ${ms.toFixed(0)} ms`);
      }
    }
  } finally {
    console.log = print;
    await pool.end().catch(() => undefined);
    io.disconnect();
    await bridge.close();
    await privateRedis.stop();
    await pg.drop();
  }
  const rows: BenchRow[] = [500, 1].map((batch) => {
    const runs = drains.filter((d) => d.batch === batch);
    return {
      "orders per drain read": batch,
      runs: runs.length,
      "ms for 1,000 orders": medianWithSpread(
        runs.map((d) => d.ms),
        0,
      ),
      "orders/s": medianWithSpread(
        runs.map((d) => (ORDERS * 1000) / d.ms),
        0,
      ),
      "Postgres commits (all statements)": medianWithSpread(
        runs.map((d) => d.transactions),
        0,
      ),
      "commits/s": medianWithSpread(
        runs.map((d) => (d.transactions * 1000) / d.ms),
        0,
      ),
    };
  });
  return {
    name: "outbox-drain",
    notes: [
      `${ORDERS} reserved orders in a sale's outbox, written by drainOutbox (the production drain) from a private Redis via the Upstash REST bridge into a throw-away Postgres database via the Neon WebSocket proxy; ${repeats} runs per row after an untimed one, median (min–max).`,
      "Commits: pg_stat_database.xact_commit of the database over the drain (the drain's own pool, ended after it so its backends report), every statement outside a transaction included; the benchmark's readings may add one or two.",
    ],
    rows,
  } satisfies BenchReport;
}
