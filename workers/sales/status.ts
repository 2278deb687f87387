import type { Database } from "../clients/db";
import type { Redis } from "../clients/redis";
import { DependencyError } from "../errors";
import { queueStats } from "../queue/client";
import { prewarmSale } from "./prewarm";
import { readSnapshot, type SaleSnapshot } from "./snapshot";
import { findSale, type SaleRecord } from "./store";
import { statusJson } from "./view";

async function redisSnapshot(redis: Redis, saleId: string): Promise<SaleSnapshot | null> {
  try {
    return await readSnapshot(redis, saleId);
  } catch (err) {
    throw new DependencyError("redis", err);
  }
}

/**
 * The shopper's status for one sale, from Redis, or null for a sale that does not exist.
 *
 * Postgres is read only when Redis does not hold the sale yet (a page opened before the
 * cron pre-warmed it). That miss runs the full pre-warm rather than caching the
 * definition alone: a meta hash without stock would be a third state that the
 * purchase script and the pre-warm guard would both have to understand, while loading
 * stock early is harmless, because the purchase script sells only between start_ms and
 * end_ms of a sale not cancelled. After the miss every later request, in every
 * isolate, is served from Redis; only a sale id that exists nowhere reaches Postgres
 * each time, and the edge cache and the queue's rate limits bound those.
 */
/** An ended sale as Postgres remembers it: what reconciliation last counted as sold is gone. */
function archivedSnapshot(record: SaleRecord): SaleSnapshot {
  const { sale, items } = record;
  return {
    saleId: sale.saleId,
    name: sale.name,
    startMs: sale.startTime.getTime(),
    endMs: sale.endTime.getTime(),
    cancelled: sale.status === "cancelled",
    items: items.map((i) => ({
      skuId: i.skuId,
      name: i.name,
      price: i.flashPrice,
      originalPrice: i.originalPrice,
      total: i.totalStock,
      loaded: i.totalStock,
      limit: i.perUserLimit,
      remaining: Math.max(0, i.totalStock - i.soldCount),
    })),
  };
}

export async function saleStatus(env: Env, deps: { redis: Redis; db: () => Database }, saleId: string) {
  let snapshot = await redisSnapshot(deps.redis, saleId);
  if (!snapshot) {
    let record: Awaited<ReturnType<typeof findSale>>;
    try {
      record = await findSale(deps.db(), saleId);
    } catch (err) {
      throw new DependencyError("postgres", err);
    }
    if (!record) return null;
    // A sale that has ended (and whose Redis state the cron may have freed) is told from
    // the ledger: loading it back into Redis would only be swept out again.
    if (record.sale.endTime.getTime() <= Date.now())
      return statusJson(archivedSnapshot(record), await queueStats(env, saleId), Date.now());
    await prewarmSale({ redis: deps.redis, db: deps.db() }, record);
    snapshot = await redisSnapshot(deps.redis, saleId);
    if (!snapshot) throw new DependencyError("redis", new Error("the sale was pre-warmed but is not readable"));
  }
  const queue = await queueStats(env, saleId);
  // Read the clock after Redis answered, so a slow read cannot report a sale as
  // scheduled past its start.
  return statusJson(snapshot, queue, Date.now());
}
