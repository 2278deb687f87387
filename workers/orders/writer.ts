import { and, eq, sql } from "drizzle-orm";
import { flashSaleOrders, type NewFlashSaleOrder } from "../../schema/schema";
import type { Database } from "../clients/db";
import type { OrderEvent, ReservedEvent, StateEvent } from "./events";

export function orderRow(e: ReservedEvent): NewFlashSaleOrder {
  return {
    orderId: e.order_id,
    saleId: e.sale_id,
    userId: e.user_id,
    skuId: e.sku_id,
    quantity: e.quantity,
    price: e.price,
    status: "reserved",
    reservationToken: e.token,
    idempotencyKey: e.idempotency_key || null,
    deviceFingerprint: e.device || null,
    paymentDeadline: new Date(e.deadline_ms),
    reservedAt: new Date(e.at_ms),
  };
}

/**
 * Applies order events to Postgres, in order. Every write is idempotent (an insert that
 * finds its order does nothing; a state change applies only to an order still
 * `reserved`), so the same event written by the purchase path and again by the outbox
 * drain, or by two drains, leaves one correct row.
 */
export async function applyOrderEvents(db: Database, events: OrderEvent[]): Promise<void> {
  if (events.length === 0) return;
  await db.transaction(async (tx) => {
    let pending: ReservedEvent[] = [];
    const flush = async () => {
      if (pending.length === 0) return;
      await tx
        .insert(flashSaleOrders)
        .values(pending.map(orderRow))
        .onConflictDoNothing({ target: flashSaleOrders.orderId });
      pending = [];
    };
    for (const event of events) {
      if (event.t === "reserved") {
        pending.push(event);
        continue;
      }
      await flush();
      await applyState(tx as unknown as Database, event);
    }
    await flush();
  });
}

async function applyState(db: Database, e: StateEvent): Promise<void> {
  const at = new Date(e.at_ms);
  const common = { status: e.t, updatedAt: sql`now()` } as const;
  const set =
    e.t === "paid"
      ? {
          ...common,
          paidAt: at,
          paymentMethodFingerprint: e.payment_method_fingerprint ?? null,
          shippingAddress: e.shipping_address ?? null,
        }
      : e.t === "expired"
        ? { ...common, expiredAt: at }
        : { ...common, cancelledAt: at, cancelReason: e.cancel_reason ?? "shopper" };
  // Reconciliation may cancel a paid order that was oversold; nothing else leaves `paid`.
  const from =
    e.t === "cancelled" && e.cancel_reason === "oversold"
      ? sql`${flashSaleOrders.status} in ('reserved', 'paid')`
      : eq(flashSaleOrders.status, "reserved");
  await db
    .update(flashSaleOrders)
    .set(set)
    .where(and(eq(flashSaleOrders.orderId, e.order_id), from));
}
