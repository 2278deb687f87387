import type { Database } from "../clients/db";
import type { Redis } from "../clients/redis";
import { DependencyError } from "../errors";
import { queueStats } from "../queue/client";
import type { QueueStats } from "../queue/types";
import { prewarmSale } from "./prewarm";
import { readSnapshot, type SaleSnapshot, totalRemaining } from "./snapshot";
import { findSale, type SaleRecord } from "./store";

/**
 * A sale's status, in one place: the lifecycle rule, the admin's view of it, and the
 * shopper's status answer (docs/sales.md "Lifecycle").
 */

/** The sale's lifecycle (docs/api.md status values). */
export type SaleStatus = "scheduled" | "active" | "sold_out" | "ended" | "cancelled";

/**
 * The status by the server's clock. Only `scheduled` and `cancelled` are ever stored;
 * everything else follows from the clock and the stock, so a status can never lag a
 * missed job. Precedence: an admin's cancel beats the clock, the clock beats the
 * stock (a sold-out sale still ends), and stock that returns (expiry, a shopper's
 * cancel) reopens a sold-out sale. `remaining` is null when the stock is not loaded
 * yet, which can never read as sold out.
 */
export function lifecycleStatus(
  sale: { startMs: number; endMs: number; cancelled: boolean; remaining: number | null },
  nowMs: number,
): SaleStatus {
  if (sale.cancelled) return "cancelled";
  if (nowMs >= sale.endMs) return "ended";
  if (nowMs < sale.startMs) return "scheduled";
  if (sale.remaining !== null && sale.remaining <= 0) return "sold_out";
  return "active";
}

/** The status of a sale by the server's clock, from Redis when loaded, else from Postgres. */
export function statusOf(record: SaleRecord, snapshot: SaleSnapshot | null, nowMs: number): SaleStatus {
  return lifecycleStatus(
    {
      startMs: record.sale.startTime.getTime(),
      endMs: record.sale.endTime.getTime(),
      cancelled: record.sale.status === "cancelled" || (snapshot?.cancelled ?? false),
      remaining: snapshot ? totalRemaining(snapshot) : null,
    },
    nowMs,
  );
}

/** The shopper's status answer (docs/sales.md "Shopper status"), built from Redis only. */
export function statusJson(snapshot: SaleSnapshot, queue: QueueStats, nowMs: number) {
  return {
    sale_id: snapshot.saleId,
    name: snapshot.name,
    status: lifecycleStatus({ ...snapshot, remaining: totalRemaining(snapshot) }, nowMs),
    start_time: new Date(snapshot.startMs).toISOString(),
    end_time: new Date(snapshot.endMs).toISOString(),
    server_time: new Date(nowMs).toISOString(),
    items: snapshot.items.map((item) => ({
      sku_id: item.skuId,
      name: item.name,
      flash_price: item.price,
      original_price: item.originalPrice,
      total_stock: item.total,
      remaining: item.remaining,
      per_user_limit: item.limit,
    })),
    queue: { length: queue.length, admitted_through: queue.admittedThrough },
  };
}

async function redisSnapshot(redis: Redis, saleId: string): Promise<SaleSnapshot | null> {
  try {
    return await readSnapshot(redis, saleId);
  } catch (err) {
    throw new DependencyError("redis", err);
  }
}

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
