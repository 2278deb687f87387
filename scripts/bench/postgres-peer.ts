/**
 * The peer a shop would otherwise pick: the same sale decided by Postgres row locking
 * (the seed follow-ups' option 2),
 *
 *   UPDATE items SET stock = stock - $q WHERE sku = $1 AND stock >= $q RETURNING stock
 *
 * one row updated is a sale, none is sold out. Two rows: the UPDATE alone, and the UPDATE
 * with the order's INSERT into the project's own flash_sale_orders table in one
 * transaction (what the peer needs to be as safe as the outbox: a unit taken always has
 * its order). Against purchase.lua in the same run: the purchase-script benchmark's
 * sellout row (same buyers, units and concurrency), interleaved repeat by repeat so drift
 * in the machine's load falls on both.
 *
 * Client: @neondatabase/serverless's Pool (one WebSocket per connection) through the
 * local Neon WebSocket proxy (scripts/stack/neon-ws-proxy.ts), started in this process:
 * the driver and wire path the Worker uses for Postgres, as purchase.lua is called through
 * the Worker's @upstash/redis client and a REST bridge in this process. The pool holds as
 * many connections as there are buyers in flight (64), as a peer serving 64 concurrent
 * purchases would need; the Worker's per-request pool (max 4) is for its background writes.
 *
 * Postgres: the local server (DATABASE_URL, default 127.0.0.1:5432, trust auth), in a
 * throw-away database created with the project's migrations and dropped afterwards.
 */
import { randomUUID } from "node:crypto";
import type { Pool } from "@neondatabase/serverless";
import { newReservationToken } from "../../workers/purchase/purchase";
import { createNodePool } from "../db/neon-node";
import { benchPurchaseScript, type Run } from "./purchase-script";
import { type BenchReport, type BenchRow, closedLoop, loopColumns, median, summarize } from "./stats";
import { insertBenchSale, throwawayPostgres } from "./throwaway-postgres";

const SKU = "BENCH-SKU";
const RUN_DEADLINE_MS = 120_000;

const DECIDE = "UPDATE items SET stock = stock - $2 WHERE sku = $1 AND stock >= $2 RETURNING stock";
const INSERT_ORDER = `INSERT INTO flash_sale_orders
  (order_id, sale_id, user_id, sku_id, quantity, price, reservation_token, idempotency_key, payment_deadline, reserved_at)
  VALUES ($1, $2, $3, $4, $5, '1.00', $6, $7, now() + interval '10 minutes', now())`;

type Mode = "update" | "update+insert";
type PgRun = { mode: Mode; perSecond: number; p50: number; p95: number; p99: number; sold: number; errors: number };

export type PostgresPeerOptions = {
  repeats?: number;
  buyers?: number;
  stock?: number;
  concurrency?: number;
  log?: (line: string) => void;
};

/** The sale's one SKU, and a sale row for the orders' foreign key. */
async function prepare(pool: Pool, saleId: string): Promise<void> {
  await pool.query("CREATE TABLE items (sku text PRIMARY KEY, stock integer NOT NULL CHECK (stock >= 0))");
  await insertBenchSale(pool, saleId);
}

async function measure(pool: Pool, saleId: string, mode: Mode, buyers: number, stock: number, concurrency: number) {
  await pool.query("DELETE FROM flash_sale_orders WHERE sale_id = $1", [saleId]);
  await pool.query(
    "INSERT INTO items (sku, stock) VALUES ($1, $2) ON CONFLICT (sku) DO UPDATE SET stock = excluded.stock",
    [SKU, stock],
  );
  await pool.query("VACUUM items");
  let sold = 0;
  const call =
    mode === "update"
      ? async () => {
          const res = await pool.query(DECIDE, [SKU, 1]);
          if (res.rowCount === 1) sold++;
        }
      : async (i: number) => {
          const client = await pool.connect();
          try {
            await client.query("BEGIN");
            const res = await client.query(DECIDE, [SKU, 1]);
            if (res.rowCount === 1) {
              await client.query(INSERT_ORDER, [
                randomUUID(),
                saleId,
                `b${i}`,
                SKU,
                1,
                newReservationToken(saleId),
                `k${i}`,
              ]);
            }
            await client.query("COMMIT");
            if (res.rowCount === 1) sold++;
          } catch (err) {
            await client.query("ROLLBACK").catch(() => undefined);
            throw err;
          } finally {
            client.release();
          }
        };
  const loop = await closedLoop(buyers, concurrency, RUN_DEADLINE_MS, call);
  const left = Number((await pool.query("SELECT stock FROM items WHERE sku = $1", [SKU])).rows[0].stock);
  const orders = Number(
    (await pool.query("SELECT count(*)::int AS n FROM flash_sale_orders WHERE sale_id = $1", [saleId])).rows[0].n,
  );
  // What the peer must get right, checked rather than assumed.
  if (left !== stock - sold || sold > stock || (mode === "update+insert" && orders !== sold))
    throw new Error(`${mode}: sold ${sold}, stock left ${left} of ${stock}, orders ${orders}`);
  if (loop.errors) throw new Error(`${mode}: ${loop.errors} errors, e.g. ${loop.errorSamples.join("; ")}`);
  const summary = summarize(loop);
  return { mode, ...summary, sold, errors: loop.errors } satisfies PgRun;
}

function row(label: string, client: string, runs: { perSecond: number; p50: number; p95: number; p99: number }[]) {
  return {
    decider: label,
    client,
    runs: runs.length,
    ...loopColumns(runs, "decisions/s", 2, ["p50", "p99"]),
  };
}

export async function benchPostgresPeer(options: PostgresPeerOptions = {}): Promise<BenchReport> {
  const log = options.log ?? (() => undefined);
  const repeats = options.repeats ?? 3;
  const buyers = options.buyers ?? 5_000;
  const stock = options.stock ?? 1_000;
  const concurrency = options.concurrency ?? 64;

  const pg = await throwawayPostgres("flashsale_bench_pg");
  const pool = createNodePool(pg.databaseUrl, concurrency);
  const saleId = randomUUID();
  const pgRuns: PgRun[] = [];
  const luaRuns: Run[] = [];
  let version = "?";
  try {
    await prepare(pool, saleId);
    version = String((await pool.query("SHOW server_version")).rows[0].server_version);
    // Untimed: opens the pool's connections and warms the plans.
    await measure(pool, saleId, "update+insert", 500, 100, concurrency);
    for (let r = 1; r <= repeats; r++) {
      for (const mode of ["update", "update+insert"] as const) {
        const run = await measure(pool, saleId, mode, buyers, stock, concurrency);
        pgRuns.push(run);
        log(`  run ${r}/${repeats} postgres ${mode}: ${run.perSecond.toFixed(0)}/s, p99 ${run.p99.toFixed(2)} ms`);
      }
      const lua = await benchPurchaseScript({
        repeats: 1,
        buyers,
        concurrency,
        scenarios: ["sellout"],
        scripts: ["purchase.lua"],
      });
      luaRuns.push(...lua.runs);
      for (const run of lua.runs)
        log(`  run ${r}/${repeats} purchase.lua via ${run.transport}: ${run.perSecond.toFixed(0)}/s`);
    }
  } finally {
    await pool.end().catch(() => undefined);
    await pg.drop();
  }

  const rest = luaRuns.filter((r) => r.transport === "upstash-rest");
  const direct = luaRuns.filter((r) => r.transport === "ioredis");
  const luaRate = median(rest.map((r) => r.perSecond));
  const ratio = (runs: { perSecond: number }[]) => `${(luaRate / median(runs.map((r) => r.perSecond))).toFixed(1)}x`;
  const byMode = (mode: Mode) => pgRuns.filter((r) => r.mode === mode);
  const rows: BenchRow[] = [
    {
      ...row("postgres row lock: UPDATE … RETURNING", "neon-ws", byMode("update")),
      "purchase.lua ÷ this": ratio(byMode("update")),
    },
    {
      ...row("postgres row lock + order INSERT, one transaction", "neon-ws", byMode("update+insert")),
      "purchase.lua ÷ this": ratio(byMode("update+insert")),
    },
    { ...row("purchase.lua (reserve, outbox, idempotency)", "upstash-rest", rest), "purchase.lua ÷ this": "1.0x" },
    { ...row("purchase.lua (reserve, outbox, idempotency)", "ioredis", direct), "purchase.lua ÷ this": "" },
  ];
  return {
    name: "postgres-peer",
    notes: [
      `Postgres ${version} at ${pg.host}:${pg.port}, a throw-away database with the project's migrations (dropped afterwards); ${buyers} buyers, ${stock} units, ${concurrency} in flight, each buyer tries once for 1 unit; ${repeats} runs per row, median (min–max).`,
      `The peer decides with "${DECIDE}"; the second row adds the order's INSERT into flash_sale_orders in the same transaction (BEGIN, UPDATE, INSERT when a row came back, COMMIT). Every run is checked: sold ≤ stock, stock left = stock − sold, one order per sale.`,
      "Client: @neondatabase/serverless Pool, one WebSocket per connection, 64 connections, through the local Neon WebSocket proxy in this process: the Worker's own driver and wire path.",
      "purchase.lua: the purchase-script benchmark's sellout row, run between the Postgres runs of each repeat (its own Redis, bridge and warm-up); the ratio is purchase.lua's decisions/s via upstash-rest over the row's.",
      "The peer decides stock only: no idempotency record, per-shopper or device limit or sale window, all of which purchase.lua also does in its one command.",
    ],
    rows,
  };
}
