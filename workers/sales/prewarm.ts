import type { Database } from "../clients/db";
import { createDb } from "../clients/db";
import { createRedis, type Redis } from "../clients/redis";
import { keys } from "../keys";
import { cancelQueue, configureQueue } from "../queue/client";
import type { QueueSaleConfig } from "../queue/types";
import { loadedUnits } from "./definition";
import prewarmLua from "./prewarm.lua";
import {
  markPrewarmed,
  markQueueTold,
  type SaleRecord,
  salesDueForPrewarm,
  salesUntoldToQueue,
  unitsHeldBySku,
} from "./store";

export type PrewarmResult = {
  sale_id: string;
  /** false when an earlier call had already loaded the sale (nothing was changed). */
  loaded: boolean;
  prewarmed_at: string;
  /**
   * `loaded` is what the sale offers in all (total minus the safety buffer); `already_sold`
   * the units Postgres holds as reserved or paid when this call ran; `stock` what the
   * purchase script was handed (loaded minus already sold, never below 0).
   */
  items: Array<{ sku_id: string; total_stock: number; loaded: number; already_sold: number; stock: number }>;
};

/**
 * Loads a sale's definition and stock into Redis in one script (prewarm.lua), so the
 * purchase script never sees half a sale, and does it at most once per Redis lifetime of
 * the sale. When Redis lost a sale that had sold (its keys evicted, or a failover to an
 * empty replica), loading it again hands out only what Postgres says is unsold: the
 * full stock again would resell every unit already taken.
 */
export async function prewarmSale(
  deps: { redis: Redis; db: Database },
  record: SaleRecord,
  nowMs = Date.now(),
): Promise<PrewarmResult> {
  const { sale, items } = record;
  const buffer = Number(sale.safetyBufferPercent);
  const loaded = items.map((i) => loadedUnits(i.totalStock, buffer));
  const held = await unitsHeldBySku(deps.db, sale.saleId);
  const sold = items.map((i) => (held.get(i.skuId)?.reserved ?? 0) + (held.get(i.skuId)?.paid ?? 0));
  const stock = items.map((_, i) => Math.max(0, loaded[i]! - sold[i]!));
  const call = prewarmCall(record, loaded, stock, nowMs);
  const [didLoad, at] = await deps.redis.createScript<[number, string]>(prewarmLua).exec(call.keys, call.args);
  // Outside the script: the set is not in the sale's hash slot. SADD is idempotent, so
  // every call repairs a set that missed an earlier one.
  await deps.redis.sadd(keys.activeSales(), sale.saleId);
  const prewarmedAt = new Date(Number(at));
  await markPrewarmed(deps.db, sale.saleId, prewarmedAt);
  return {
    sale_id: sale.saleId,
    loaded: Number(didLoad) === 1,
    prewarmed_at: prewarmedAt.toISOString(),
    items: items.map((item, i) => ({
      sku_id: item.skuId,
      total_stock: item.totalStock,
      loaded: loaded[i]!,
      already_sold: sold[i]!,
      stock: stock[i]!,
    })),
  };
}

/**
 * prewarm.lua's KEYS and ARGV: the sale, and per SKU what it offers (`loaded`) and what the
 * purchase script is handed (`stock`). Exported for callers outside the Worker (the simulation).
 */
export function prewarmCall(
  { sale, items }: SaleRecord,
  loaded: number[],
  stock: number[],
  nowMs: number,
): { keys: string[]; args: string[] } {
  const keyList = [keys.meta(sale.saleId)];
  const args = [
    String(sale.startTime.getTime()),
    String(sale.endTime.getTime()),
    sale.status === "cancelled" ? "1" : "0",
    String(sale.paymentDeadlineSeconds),
    items.map((i) => i.skuId).join(","),
    String(nowMs),
    sale.name,
  ];
  items.forEach((item, i) => {
    keyList.push(keys.item(sale.saleId, item.skuId), keys.stock(sale.saleId, item.skuId));
    args.push(
      item.name,
      item.flashPrice,
      item.originalPrice,
      String(item.totalStock),
      String(loaded[i]),
      String(item.perUserLimit),
      String(stock[i]),
    );
  });
  return { keys: keyList, args };
}

/** What the sale's queue must hold, from Postgres alone (so a retry can say it again). */
export function queueConfigOf({ sale }: SaleRecord): QueueSaleConfig {
  return {
    saleId: sale.saleId,
    startMs: sale.startTime.getTime(),
    endMs: sale.endTime.getTime(),
    preQueueMinutes: sale.preQueueMinutes,
    preQueueMode: sale.preQueueMode,
    // Paused is a rate of 0: the queue's meter accrues no credit, so nobody is admitted
    // and nothing is saved up for the resume (durable-objects/queue/meter.ts).
    admissionRatePerSecond: sale.admissionPausedAt ? 0 : sale.admissionRatePerSecond,
    expectedShoppers: sale.expectedShoppers,
    // The admin's count, on every call: a queue that missed the creation's call and sized
    // itself (or adopted one object) gets it from whichever call reaches it first.
    ...(sale.shards === null ? {} : { shards: sale.shards }),
  };
}

/**
 * Tells the sale's queue what Postgres holds (a cancelled sale: the cancel) and records in
 * `queue_synced_at` whether it heard. A queue that cannot hear it now must not undo the
 * caller's work, so this never throws; the cron tells every unheard sale again
 * (`tellUntoldQueues`): nothing else would, and a queue never told runs on the defaults
 * it adopts from Redis (docs/queue.md "Configuration").
 */
export async function tellQueue(env: Env, db: Database, record: SaleRecord): Promise<boolean> {
  const { sale } = record;
  let heard = true;
  try {
    if (sale.status === "cancelled") await cancelQueue(env, sale.saleId);
    else {
      const config = queueConfigOf(record);
      const reply = await configureQueue(env, config);
      if (!reply.ok) {
        // Only the count was refused (too late to change it) and nothing else was taken:
        // the queue keeps its count, and the rest is sent again without it.
        console.warn(`queue of sale ${sale.saleId} kept its shard count: ${reply.problem}`);
        const { shards: _, ...keepCount } = config;
        await configureQueue(env, keepCount);
      }
    }
  } catch (err) {
    heard = false;
    console.warn(`queue of sale ${sale.saleId} not told:`, err instanceof Error ? err.message : err);
  }
  try {
    await markQueueTold(db, sale, heard);
  } catch (err) {
    // Every change the queue must hear unsyncs the row as it is written (store.ts), so a
    // lost mark costs at most one more call from the cron.
    console.warn(`queue_synced_at of sale ${sale.saleId} not written:`, err instanceof Error ? err.message : err);
  }
  return heard;
}

/**
 * The cron's retry: every sale not ended whose queue has not confirmed its settings is told
 * again (`skip`: sales told this tick already). A sale whose pre-warm has not run yet is
 * told too: creation configures queues before their stock is loaded, and a queue holds its
 * shoppers `waiting` until the stock is there.
 */
export async function tellUntoldQueues(
  env: Env,
  db: Database,
  nowMs: number,
  skip: ReadonlySet<string> = new Set(),
): Promise<Array<{ sale_id: string; heard: boolean }>> {
  const told: Array<{ sale_id: string; heard: boolean }> = [];
  for (const record of await salesUntoldToQueue(db, nowMs)) {
    if (skip.has(record.sale.saleId)) continue;
    told.push({ sale_id: record.sale.saleId, heard: await tellQueue(env, db, record) });
  }
  return told;
}

/** The cron ticks once a minute; looking two ticks ahead absorbs a late or skipped tick. */
const CRON_PERIOD_MS = 60_000;
const PREWARM_HORIZON_MS = 2 * CRON_PERIOD_MS;

/**
 * A new sale whose pre-queue opens before the next cron tick is sure to have run (already
 * open, or within a minute) is loaded at once: waiting for the cron would open its door
 * cold, every shopper `waiting` while the queue finds no stock to admit against. Later
 * sales are left to the cron, which loads them before they open. A failure here (Redis
 * away) is left to the cron too: the sale is created all the same.
 */
export async function prewarmIfOpening(
  deps: { redis: Redis; db: Database },
  record: SaleRecord,
  nowMs = Date.now(),
): Promise<PrewarmResult | null> {
  const opensAt = record.sale.startTime.getTime() - record.sale.preQueueMinutes * 60_000;
  if (opensAt > nowMs + CRON_PERIOD_MS) return null;
  try {
    return await prewarmSale(deps, record, nowMs);
  } catch (err) {
    console.warn(
      `pre-warming new sale ${record.sale.saleId} failed; the cron retries:`,
      err instanceof Error ? err.message : err,
    );
    return null;
  }
}

/**
 * The cron's share of sales work: every sale whose pre-queue opens before the next ticks
 * is loaded now, so no sale opens cold, and its queue told; then every queue that has not
 * heard its sale's settings is told again. One sale failing does not stop the others.
 */
export async function salesCron(
  env: Env,
  nowMs = Date.now(),
): Promise<{ prewarmed: PrewarmResult[]; told: Array<{ sale_id: string; heard: boolean }> }> {
  const redis = createRedis(env);
  const { db, pool } = createDb(env);
  try {
    const prewarmed: PrewarmResult[] = [];
    const tried = new Set<string>();
    for (const record of await salesDueForPrewarm(db, nowMs, PREWARM_HORIZON_MS)) {
      try {
        prewarmed.push(await prewarmSale({ redis, db }, record, nowMs));
        tried.add(record.sale.saleId);
        await tellQueue(env, db, record);
      } catch (err) {
        console.error(`pre-warming sale ${record.sale.saleId} failed:`, err instanceof Error ? err.message : err);
      }
    }
    return { prewarmed, told: await tellUntoldQueues(env, db, nowMs, tried) };
  } finally {
    await pool.end().catch(() => undefined);
  }
}
