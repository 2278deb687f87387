import { and, eq, sql } from "drizzle-orm";
import { flashSaleOrders, flashSales, type NewFlashSaleOrder } from "../../schema/schema";
import { type Database, isPostgresOutage } from "../clients/db";
import { type OrderEvent, parseOrderEvent, type ReservedEvent, type StateEvent } from "./events";

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
    requestId: e.request_id || null,
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
  // Reconciliation may cancel a paid order that was oversold, and the fraud review one it
  // found fraudulent; nothing else leaves `paid`.
  const from =
    e.t === "cancelled" && (e.cancel_reason === "oversold" || e.cancel_reason === "fraud")
      ? sql`${flashSaleOrders.status} in ('reserved', 'paid')`
      : eq(flashSaleOrders.status, "reserved");
  await db
    .update(flashSaleOrders)
    .set(set)
    .where(and(eq(flashSaleOrders.orderId, e.order_id), from));
}

/** The outbox's head written up to (not including) `written`; `refused` says why the next event cannot be. */
export type IsolatedWrite = { written: number; refused: { error: string } | null };

/**
 * Writes raw outbox events in order, isolating an event Postgres refuses: a batch that
 * fails for the event's own sake (its data; see `isRefusal`) is split in halves, the
 * first half written before the second is tried, until the culprit is alone. Everything
 * ahead of it is then committed, and it is reported so the drain can set it aside: one
 * bad event costs log2(batch) extra transactions instead of blocking the sale for ever.
 * Anything else (Postgres away, a deadlock, a schema the code does not match) is thrown
 * so every event stays where it is for the next drain.
 */
export async function writeIsolating(db: Database, saleId: string, raw: unknown[]): Promise<IsolatedWrite> {
  const attempt = async (from: number, to: number): Promise<unknown> => {
    try {
      await applyOrderEvents(db, raw.slice(from, to).map(parseOrderEvent));
      return null;
    } catch (err) {
      if (!isRefusal(err)) throw err;
      return err;
    }
  };
  const write = async (from: number, to: number, failed = false): Promise<{ at: number; error: string } | null> => {
    if (!failed && (await attempt(from, to)) === null) return null;
    if (to - from === 1) {
      // Alone, once more before it is set aside: an error that passes now was not the event's.
      const again = await attempt(from, to);
      return again === null ? null : { at: from, error: describe(again) };
    }
    const mid = from + Math.ceil((to - from) / 2);
    return (await write(from, mid)) ?? (await write(mid, to));
  };
  if (raw.length === 0 || (await attempt(0, raw.length)) === null) return { written: raw.length, refused: null };
  // Before any event is blamed: a Postgres that does not hold the sale refuses them all.
  if (!(await saleIsKnown(db, saleId))) throw new Error(`sale ${saleId} is not in Postgres; its outbox waits`);
  const refused = await write(0, raw.length, true);
  return refused ? { written: refused.at, refused: { error: refused.error } } : { written: raw.length, refused: null };
}

/**
 * Whether this Postgres holds the sale. One that does not (a wrong DATABASE_URL, a sale not
 * written yet, a test stack's own database beside a shared Redis) refuses every event of
 * it for a reason none of them owns: they wait rather than being set aside.
 */
async function saleIsKnown(db: Database, saleId: string): Promise<boolean> {
  const found = await db
    .select({ saleId: flashSales.saleId })
    .from(flashSales)
    .where(eq(flashSales.saleId, saleId))
    .limit(1);
  return found.length > 0;
}

/** SQLSTATE of the first error in the chain that has one (drizzle wraps the driver's). */
function sqlState(err: unknown): string | null {
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 6; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && /^[0-9A-Z]{5}$/.test(code)) return code;
    depth++;
  }
  return null;
}

/**
 * An error that is the event's fault, so writing it again can never succeed: Postgres
 * refusing its data (SQLSTATE class 22, data exception: too long, NUL, bad syntax; 23,
 * integrity: unknown sale, duplicate token) or an event the code cannot even read (no
 * SQLSTATE, not an outage). An outage, a serialization failure (40) or a schema that
 * does not match the code (42) would dead-letter every event: those wait instead.
 */
export function isRefusal(err: unknown): boolean {
  if (isPostgresOutage(err)) return false;
  const state = sqlState(err);
  return state === null || state.startsWith("22") || state.startsWith("23");
}

/** One line for a person: Postgres's own words and SQLSTATE, not the whole failed query. */
function describe(err: unknown): string {
  let innermost: unknown = err;
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 6; e = (e as { cause?: unknown }).cause) {
    innermost = e;
    depth++;
  }
  const message = innermost instanceof Error ? innermost.message : String(innermost);
  const state = sqlState(err);
  return (state ? `${message} (SQLSTATE ${state})` : message).slice(0, 500);
}
