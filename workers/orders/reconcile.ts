import type { Redis } from "@upstash/redis";
import { and, desc, eq, inArray, sql } from "drizzle-orm";
import { flashSaleItems, flashSaleOrders } from "../../schema/schema";
import type { Database } from "../clients/db";
import { hashFromReply, scanKeys } from "../clients/redis";
import { ApiError } from "../errors";
import { keys } from "../keys";
import { createReservationTransitions, parseReservation } from "../purchase/reservations";
import { type DeadLetterSummary, readDeadLetters } from "./dead-letter";
import { parseOrderEvent } from "./events";
import { drainOutbox } from "./outbox";
import { applyOrderEvents } from "./writer";

/** What reconciliation found and did, per SKU and in total. */
export type ReconcileReport = {
  sale_id: string;
  checked_at: string;
  items: Array<{
    sku_id: string;
    total_stock: number;
    redis_remaining: number;
    orders_reserved: number;
    orders_paid: number;
    units_held: number;
    missing_orders_written: number;
    excess_cancelled: number;
  }>;
  outbox_events_applied: number;
  missing_orders_written: number;
  excess_cancelled: number;
  cancelled_order_ids: string[];
  /** Events Postgres refused, set aside by the drain: orders NOT in Postgres until someone acts. */
  dead_letter: DeadLetterSummary;
};

type Deps = { redis: Redis; db: Database };

/** Every reservation Redis holds for the sale (SCAN: an admin operation, never the hot path). */
async function redisReservations(redis: Redis, saleId: string) {
  const prefix = keys.reservation(saleId, "");
  const found = [];
  for await (const batch of scanKeys(redis, `${prefix}*`)) {
    for (const key of batch) {
      const r = parseReservation(saleId, key.slice(prefix.length), hashFromReply(await redis.hgetall(key)));
      if (r) found.push(r);
    }
  }
  return found;
}

/**
 * Brings Postgres and Redis into agreement for one sale, after it or on demand:
 * 1. drains the outbox (orders Redis decided but Postgres has not seen);
 * 2. writes any reservation Redis holds that Postgres still lacks (belt and braces);
 * 3. where Postgres holds more units than the SKU's real stock (docs/purchase.md "Durability": a Redis
 *    failover lost a second of decrements), cancels the excess, last in first out, in
 *    Redis and Postgres alike, without returning units that never existed.
 */
export async function reconcileSale(deps: Deps, saleId: string): Promise<ReconcileReport> {
  const { redis, db } = deps;
  // A background drain may hold the lease (one that is waiting out a Postgres outage, for
  // one): wait for it rather than reconcile against a half-written Postgres.
  let drained = await drainOutbox(deps, saleId, { budgetMs: 60_000 });
  for (let waited = 0; drained.skipped === "locked" && waited < 15_000; waited += 250) {
    await new Promise((r) => setTimeout(r, 250));
    drained = await drainOutbox(deps, saleId, { budgetMs: 60_000 });
  }
  if (drained.skipped === "locked") {
    throw new ApiError(
      503,
      "dependency_unavailable",
      "Another drain of this sale's orders is still running; retry shortly.",
      undefined,
      5,
    );
  }

  const inRedis = await redisReservations(redis, saleId);
  const known = new Set(
    (
      await db.select({ id: flashSaleOrders.orderId }).from(flashSaleOrders).where(eq(flashSaleOrders.saleId, saleId))
    ).map((r) => r.id),
  );
  const missing = inRedis.filter((r) => !known.has(r.orderId));
  const missingBySku = new Map<string, number>();
  if (missing.length > 0) {
    const events = missing.flatMap((r) => {
      const reserved = parseOrderEvent({
        t: "reserved",
        order_id: r.orderId,
        sale_id: saleId,
        user_id: r.userId,
        sku_id: r.skuId,
        quantity: r.quantity,
        price: r.price,
        token: r.token,
        deadline_ms: r.deadlineMs,
        at_ms: r.reservedMs,
        idempotency_key: "",
        device: r.device,
      });
      const later =
        r.state === "reserved"
          ? []
          : [
              parseOrderEvent({
                t: r.state,
                order_id: r.orderId,
                sale_id: saleId,
                token: r.token,
                at_ms: r.reservedMs,
              }),
            ];
      return [reserved, ...later];
    });
    await applyOrderEvents(db, events);
    for (const r of missing) missingBySku.set(r.skuId, (missingBySku.get(r.skuId) ?? 0) + 1);
  }

  const items = await db.select().from(flashSaleItems).where(eq(flashSaleItems.saleId, saleId));
  const transition = createReservationTransitions(redis);
  const byToken = new Map(inRedis.map((r) => [r.token, r]));
  const report: ReconcileReport = {
    sale_id: saleId,
    checked_at: new Date().toISOString(),
    items: [],
    outbox_events_applied: drained.applied,
    missing_orders_written: missing.length,
    excess_cancelled: 0,
    cancelled_order_ids: [],
    dead_letter: { count: 0, entries: [] },
  };

  for (const item of items) {
    const held = await db
      .select({
        orderId: flashSaleOrders.orderId,
        token: flashSaleOrders.reservationToken,
        quantity: flashSaleOrders.quantity,
        status: flashSaleOrders.status,
      })
      .from(flashSaleOrders)
      .where(
        and(
          eq(flashSaleOrders.saleId, saleId),
          eq(flashSaleOrders.skuId, item.skuId),
          inArray(flashSaleOrders.status, ["reserved", "paid"]),
        ),
      )
      .orderBy(desc(flashSaleOrders.reservedAt), desc(flashSaleOrders.orderId));
    let units = held.reduce((sum, o) => sum + o.quantity, 0);
    let excess = units - item.totalStock;
    const cancelled: string[] = [];
    for (const order of held) {
      if (excess <= 0) break;
      const r = byToken.get(order.token);
      if (r) await transition(r, "void", { nowMs: Date.now() });
      await db
        .update(flashSaleOrders)
        .set({ status: "cancelled", cancelledAt: new Date(), cancelReason: "oversold", updatedAt: sql`now()` })
        .where(and(eq(flashSaleOrders.orderId, order.orderId), inArray(flashSaleOrders.status, ["reserved", "paid"])));
      excess -= order.quantity;
      units -= order.quantity;
      cancelled.push(order.orderId);
    }
    await db
      .update(flashSaleItems)
      .set({ soldCount: units })
      .where(and(eq(flashSaleItems.saleId, saleId), eq(flashSaleItems.skuId, item.skuId)));
    const remaining = Number((await redis.get(keys.stock(saleId, item.skuId))) ?? 0);
    const counts = held.filter((o) => !cancelled.includes(o.orderId));
    report.items.push({
      sku_id: item.skuId,
      total_stock: item.totalStock,
      redis_remaining: remaining,
      orders_reserved: counts.filter((o) => o.status === "reserved").length,
      orders_paid: counts.filter((o) => o.status === "paid").length,
      units_held: units,
      missing_orders_written: missingBySku.get(item.skuId) ?? 0,
      excess_cancelled: cancelled.length,
    });
    report.excess_cancelled += cancelled.length;
    report.cancelled_order_ids.push(...cancelled);
  }
  // The voids above wrote outbox events; apply them now so the report is the final word.
  await drainOutbox(deps, saleId, { budgetMs: 30_000 });
  report.dead_letter = await readDeadLetters(redis, saleId);
  return report;
}
