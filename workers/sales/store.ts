import { and, desc, eq, gt, inArray, isNull, lte, sql } from "drizzle-orm";
import { type FlashSale, type FlashSaleItem, flashSaleItems, flashSaleOrders, flashSales } from "../../schema/schema";
import type { Database } from "../clients/db";
import type { SaleDefinition } from "./definition";

/** A sale and its items as Postgres holds them: the durable definition. */
export type SaleRecord = { sale: FlashSale; items: FlashSaleItem[] };

export type OrderCounts = Record<"reserved" | "paid" | "cancelled" | "expired", number>;

/** Sale and items in one transaction: a sale without its items is never visible. */
export async function insertSale(db: Database, def: SaleDefinition): Promise<SaleRecord> {
  return db.transaction(async (tx) => {
    const [sale] = await tx
      .insert(flashSales)
      .values({
        name: def.name,
        startTime: def.startTime,
        endTime: def.endTime,
        preQueueMinutes: def.preQueueMinutes,
        preQueueMode: def.preQueueMode,
        admissionRatePerSecond: def.admissionRatePerSecond,
        expectedShoppers: def.expectedShoppers,
        shards: def.shards ?? null,
        safetyBufferPercent: def.safetyBufferPercent.toFixed(2),
        paymentDeadlineSeconds: def.paymentDeadlineSeconds,
      })
      .returning();
    const items = await tx
      .insert(flashSaleItems)
      .values(
        def.items.map((item) => ({
          saleId: sale!.saleId,
          skuId: item.skuId,
          name: item.name,
          flashPrice: item.flashPrice,
          originalPrice: item.originalPrice,
          totalStock: item.totalStock,
          perUserLimit: item.perUserLimit,
        })),
      )
      .returning();
    // The same order as every later read (by SKU), so a sale reads the same every time.
    return { sale: sale!, items: items.sort((a, b) => (a.skuId < b.skuId ? -1 : a.skuId > b.skuId ? 1 : 0)) };
  });
}

async function withItems(db: Database, sales: FlashSale[]): Promise<SaleRecord[]> {
  if (sales.length === 0) return [];
  const items = await db
    .select()
    .from(flashSaleItems)
    .where(
      inArray(
        flashSaleItems.saleId,
        sales.map((s) => s.saleId),
      ),
    )
    .orderBy(sql`${flashSaleItems.skuId} collate "C"`);
  return sales.map((sale) => ({ sale, items: items.filter((i) => i.saleId === sale.saleId) }));
}

export async function findSale(db: Database, saleId: string): Promise<SaleRecord | null> {
  const sales = await db.select().from(flashSales).where(eq(flashSales.saleId, saleId));
  return (await withItems(db, sales))[0] ?? null;
}

/** Newest start first. */
export async function listSales(db: Database, limit = 100): Promise<SaleRecord[]> {
  return withItems(db, await db.select().from(flashSales).orderBy(desc(flashSales.startTime)).limit(limit));
}

/**
 * Sales whose pre-queue opens within `horizonMs` and that were never pre-warmed: the
 * cron runs once a minute, so it looks one tick ahead and no sale opens cold.
 */
export async function salesDueForPrewarm(db: Database, nowMs: number, horizonMs: number): Promise<SaleRecord[]> {
  const sales = await db
    .select()
    .from(flashSales)
    .where(
      and(
        eq(flashSales.status, "scheduled"),
        isNull(flashSales.prewarmedAt),
        gt(flashSales.endTime, new Date(nowMs)),
        lte(
          sql`${flashSales.startTime} - make_interval(mins => ${flashSales.preQueueMinutes})`,
          new Date(nowMs + horizonMs),
        ),
      ),
    );
  return withItems(db, sales);
}

/** Not `updated_at`: loading Redis changes nothing the queue must hear (markQueueTold compares it). */
export async function markPrewarmed(db: Database, saleId: string, at: Date): Promise<void> {
  await db
    .update(flashSales)
    .set({ prewarmedAt: at })
    .where(and(eq(flashSales.saleId, saleId), isNull(flashSales.prewarmedAt)));
}

/**
 * Sales whose queue has not confirmed their current settings (`queue_synced_at` null) and
 * that have not ended: the cron tells each again. An ended sale's queue closes by its own clock.
 */
export async function salesUntoldToQueue(db: Database, nowMs: number): Promise<SaleRecord[]> {
  const sales = await db
    .select()
    .from(flashSales)
    .where(and(isNull(flashSales.queueSyncedAt), gt(flashSales.endTime, new Date(nowMs))));
  return withItems(db, sales);
}

/**
 * Records whether the queue heard the sale as `read`. Heard: synced, but only while the row
 * is still the one that was sent (same `updated_at`): a PATCH that landed meanwhile carries
 * settings this call did not, and the queue may even have heard this older call after the
 * PATCH's own, so the row is left unsynced for the cron to tell again. Not heard: unsynced.
 * (Not closed: the older call heard last but marked first, before the PATCH's own mark. The
 * queue keeps no version to refuse an older call with.)
 */
export async function markQueueTold(db: Database, read: FlashSale, heard: boolean, at = new Date()): Promise<void> {
  // To the millisecond, as the row was read (a defaultNow() column holds microseconds).
  const unchanged = sql`date_trunc('milliseconds', ${flashSales.updatedAt}) = ${read.updatedAt.toISOString()}::timestamptz`;
  await db
    .update(flashSales)
    .set({ queueSyncedAt: heard ? sql`case when ${unchanged} then ${at.toISOString()}::timestamptz end` : null })
    .where(eq(flashSales.saleId, read.saleId));
}

export async function markCancelled(db: Database, saleId: string, at: Date): Promise<FlashSale | undefined> {
  const [sale] = await db
    .update(flashSales)
    // Unsynced in the same write: the queue must hear the cancel (prewarm.ts tellQueue).
    .set({ status: "cancelled", cancelledAt: at, updatedAt: at, queueSyncedAt: null })
    .where(eq(flashSales.saleId, saleId))
    .returning();
  return sale;
}

/**
 * What an admin may change while a sale runs: how fast its queue admits, whether it admits
 * at all (paused keeps the rate for the resume), and its shard count (the one the queue
 * took). `paused` undefined leaves it.
 */
export async function setAdmission(
  db: Database,
  saleId: string,
  change: { ratePerSecond?: number; paused?: boolean; shards?: number },
  now: Date,
): Promise<FlashSale | undefined> {
  const [sale] = await db
    .update(flashSales)
    .set({
      ...(change.ratePerSecond === undefined ? {} : { admissionRatePerSecond: change.ratePerSecond }),
      ...(change.shards === undefined ? {} : { shards: change.shards }),
      // Pausing a paused sale keeps the time it was first paused.
      ...(change.paused === undefined
        ? {}
        : { admissionPausedAt: change.paused ? sql`coalesce(${flashSales.admissionPausedAt}, ${now})` : null }),
      // Unsynced in the same write: the queue must hear the change (prewarm.ts tellQueue).
      updatedAt: now,
      queueSyncedAt: null,
    })
    .where(eq(flashSales.saleId, saleId))
    .returning();
  return sale;
}

/** Orders per status for one sale (order rows, not units). */
export async function orderCounts(db: Database, saleId: string): Promise<OrderCounts> {
  const rows = await db
    .select({ status: flashSaleOrders.status, n: sql<number>`count(*)::int` })
    .from(flashSaleOrders)
    .where(eq(flashSaleOrders.saleId, saleId))
    .groupBy(flashSaleOrders.status);
  const counts: OrderCounts = { reserved: 0, paid: 0, cancelled: 0, expired: 0 };
  for (const row of rows) counts[row.status] = Number(row.n);
  return counts;
}

export type HeldUnits = { reserved: number; paid: number };

/**
 * Units Postgres says are taken, per SKU (reserved or paid): the truth that a second
 * pre-warm and reconciliation put back into Redis after Redis forgot part of a sale.
 */
export async function unitsHeldBySku(db: Database, saleId: string): Promise<Map<string, HeldUnits>> {
  const rows = await db
    .select({
      skuId: flashSaleOrders.skuId,
      status: flashSaleOrders.status,
      units: sql<number>`coalesce(sum(${flashSaleOrders.quantity}), 0)::int`,
    })
    .from(flashSaleOrders)
    .where(and(eq(flashSaleOrders.saleId, saleId), inArray(flashSaleOrders.status, ["reserved", "paid"])))
    .groupBy(flashSaleOrders.skuId, flashSaleOrders.status);
  const held = new Map<string, HeldUnits>();
  for (const row of rows) {
    const entry = held.get(row.skuId) ?? { reserved: 0, paid: 0 };
    if (row.status === "reserved" || row.status === "paid") entry[row.status] += Number(row.units);
    held.set(row.skuId, entry);
  }
  return held;
}
