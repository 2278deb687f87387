import type { Redis } from "@upstash/redis";
import { and, eq, inArray, sql } from "drizzle-orm";
import { type FlashSaleOrder, flashSaleItems, flashSaleOrders, flashSales } from "../../schema/schema";
import type { Database } from "../clients/db";
import { hashFromReply, scanKeys } from "../clients/redis";
import { ApiError } from "../errors";
import { keys } from "../keys";
import {
  createReservationTransitions,
  parseReservation,
  type Reservation,
  readReservation,
} from "../purchase/reservations";
import { loadedUnits } from "../sales/definition";
import { type DeadLetterSummary, readDeadLetters } from "./dead-letter";
import { type OrderEvent, parseOrderEvent } from "./events";
import { drainOutbox } from "./outbox";
import leaseLua from "./outbox-lease.lua";
import reservationLua from "./reconcile-reservation.lua";
import stockLua from "./reconcile-stock.lua";
import { applyOrderEvents } from "./writer";

/** What was found and repaired, per SKU and in total. */
type Counts = {
  /** Orders Redis decided that Postgres lacked, written from Redis's reservation. */
  missing_orders_written: number;
  /** Rows reserved in Postgres that Redis had forgotten: put back as live reservations. */
  orphans_restored: number;
  /** …the same, but already past their deadline: expired, their units back on sale. */
  orphans_expired: number;
  /** Paid orders Redis had forgotten: written back so limits and replays hold. */
  paid_restored: number;
  /** Reservations whose state Redis and Postgres disagreed on, brought into line. */
  states_repaired: number;
  /** Units Postgres held beyond the real stock before the repair: sold twice. */
  oversold_units: number;
  excess_cancelled: number;
};

const noCounts = (): Counts => ({
  missing_orders_written: 0,
  orphans_restored: 0,
  orphans_expired: 0,
  paid_restored: 0,
  states_repaired: 0,
  oversold_units: 0,
  excess_cancelled: 0,
});

export type ReconcileItem = Counts & {
  sku_id: string;
  total_stock: number;
  /** Units the sale offers in all (total minus the safety buffer). */
  loaded: number;
  /** Redis's stock counter before and after; null when Redis does not hold the sale. */
  redis_stock_before: number | null;
  redis_remaining: number | null;
  /**
   * after − before. Negative: Redis would have sold that many units a second time (a
   * failover forgot their decrements); positive: units Redis had lost track of.
   */
  stock_corrected: number;
  /** Postgres after the repair: the ledger the stock is computed from. */
  orders_reserved: number;
  orders_paid: number;
  units_held: number;
};

export type ReconcileReport = Counts & {
  sale_id: string;
  checked_at: string;
  items: ReconcileItem[];
  outbox_events_applied: number;
  cancelled_order_ids: string[];
  /** Events Postgres refused, set aside by the drain: orders NOT in Postgres until someone acts. */
  dead_letter: DeadLetterSummary;
  expired_order_ids: string[];
  restored_order_ids: string[];
  /** false when Redis does not hold the sale: pre-warm it (it subtracts what is sold), then reconcile. */
  stock_corrected: boolean;
  /** Every repair Redis or Postgres refused, with its answer: each needs a person. */
  refused: Array<{ order_id: string; action: string; answer: string }>;
};

type Deps = { redis: Redis; db: Database };

const LEASE_MS = 60_000;
const HOLDING = new Set(["reserved", "paid"]);

/** Every reservation Redis holds for the sale (SCAN: an admin operation, never the hot path). */
async function redisReservations(redis: Redis, saleId: string): Promise<Reservation[]> {
  const prefix = keys.reservation(saleId, "");
  const found: Reservation[] = [];
  for await (const batch of scanKeys(redis, `${prefix}*`)) {
    for (const key of batch) {
      const r = parseReservation(saleId, key.slice(prefix.length), hashFromReply(await redis.hgetall(key)));
      if (r) found.push(r);
    }
  }
  return found;
}

/** The events a reservation Redis holds would have written, for an order Postgres never heard of. */
function eventsOf(saleId: string, r: Reservation): OrderEvent[] {
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
  if (r.state === "reserved") return [reserved];
  const later = parseOrderEvent({
    t: r.state,
    order_id: r.orderId,
    sale_id: saleId,
    token: r.token,
    at_ms: Date.now(),
  });
  return [reserved, later];
}

/** Waits out a background drain (one waiting out a Postgres outage, say) rather than reconcile against a half-written Postgres. */
async function drainFirst(deps: Deps, saleId: string) {
  let drained = await drainOutbox(deps, saleId, { budgetMs: 60_000 });
  for (let waited = 0; drained.skipped === "locked" && waited < 15_000; waited += 250) {
    await new Promise((r) => setTimeout(r, 250));
    drained = await drainOutbox(deps, saleId, { budgetMs: 60_000 });
  }
  if (drained.skipped === "locked") throw busy();
  return drained.applied;
}

const busy = () =>
  new ApiError(
    503,
    "dependency_unavailable",
    "Another drain of this sale's orders is running; retry shortly.",
    undefined,
    5,
  );

/**
 * Brings Postgres and Redis into agreement for one sale, both ways, after it or on
 * demand (a failover that lost recent writes, or keys that vanished):
 *  1. drains the outbox, then holds its lease, so no other drain trims while it works;
 *  2. writes every reservation Redis holds that Postgres lacks, and the state Redis
 *     decided where Postgres still says reserved;
 *  3. takes Postgres's final state where Redis still says reserved (Redis forgot a payment,
 *     cancel or expiry), and puts back what Redis forgot entirely: a reserved row before its
 *     deadline becomes a live reservation again (its shopper holds a token and may pay),
 *     one past it is expired, a paid one is written back so limits and replays hold;
 *  4. where Postgres holds more units than the SKU's real stock, cancels the excess in
 *     Redis and Postgres without returning units that never existed: reservations last in
 *     first out, and paid orders only if reservations are not enough;
 *  5. sets each stock counter to loaded − reserved − paid (never below 0), atomically and
 *     only if no decision landed since the totals were read (else it reads them again).
 */
export async function reconcileSale(deps: Deps, saleId: string): Promise<ReconcileReport> {
  const { redis, db } = deps;
  let applied = await drainFirst(deps, saleId);

  const lock = keys.outboxLock(saleId);
  const holder = crypto.randomUUID();
  let got = await redis.set(lock, holder, { nx: true, px: LEASE_MS });
  for (let waited = 0; got !== "OK" && waited < 15_000; waited += 100) {
    await new Promise((r) => setTimeout(r, 100));
    got = await redis.set(lock, holder, { nx: true, px: LEASE_MS });
  }
  if (got !== "OK") throw busy();
  const lease = redis.createScript<number>(leaseLua);

  // With the lease held nobody trims, so the outbox only grows; `seen` events of it are in Postgres.
  let seen = 0;
  const catchUp = async () => {
    const raw = (await redis.lrange(keys.outbox(saleId), seen, -1)) as unknown[];
    if (raw.length > 0) await applyOrderEvents(db, raw.map(parseOrderEvent));
    seen += raw.length;
    applied += raw.length;
  };

  const report: ReconcileReport = {
    sale_id: saleId,
    checked_at: new Date().toISOString(),
    items: [],
    outbox_events_applied: 0,
    ...noCounts(),
    cancelled_order_ids: [],
    dead_letter: { count: 0, entries: [] },
    expired_order_ids: [],
    restored_order_ids: [],
    stock_corrected: false,
    refused: [],
  };
  const perSku = new Map<string, ReconcileItem>();
  const [sale] = await db.select().from(flashSales).where(eq(flashSales.saleId, saleId));
  const items = await db.select().from(flashSaleItems).where(eq(flashSaleItems.saleId, saleId));
  for (const item of items) {
    perSku.set(item.skuId, {
      sku_id: item.skuId,
      total_stock: item.totalStock,
      loaded: loadedUnits(item.totalStock, Number(sale?.safetyBufferPercent ?? 0)),
      redis_stock_before: null,
      redis_remaining: null,
      stock_corrected: 0,
      orders_reserved: 0,
      orders_paid: 0,
      units_held: 0,
      ...noCounts(),
    });
  }
  const bump = (sku: string, field: keyof ReconcileItem, by = 1) => {
    const item = perSku.get(sku);
    if (item) (item[field] as number) += by;
  };
  const refuse = (orderId: string, action: string, answer: unknown) =>
    report.refused.push({ order_id: orderId, action, answer: JSON.stringify(answer) });

  try {
    await catchUp();
    const inRedis = await redisReservations(redis, saleId);
    const byOrder = new Map(inRedis.map((r) => [r.orderId, r]));
    const rows = async () => db.select().from(flashSaleOrders).where(eq(flashSaleOrders.saleId, saleId));

    // 2. Redis → Postgres: orders Postgres never heard of, and states Postgres missed.
    let inPostgres = await rows();
    const known = new Map(inPostgres.map((o) => [o.orderId, o]));
    const toWrite: OrderEvent[] = [];
    for (const r of inRedis) {
      const row = known.get(r.orderId);
      if (!row) {
        toWrite.push(...eventsOf(saleId, r));
        report.missing_orders_written++;
        bump(r.skuId, "missing_orders_written");
      } else if (row.status === "reserved" && r.state !== "reserved") {
        toWrite.push(eventsOf(saleId, r)[1]!);
        report.states_repaired++;
        bump(r.skuId, "states_repaired");
      }
    }
    await applyOrderEvents(db, toWrite);

    // 3. Postgres → Redis: what Redis forgot.
    const nowMs = Date.now();
    const repair = redis.createScript<unknown>(reservationLua);
    const repairOne = (action: "restore" | "adopt", o: FlashSaleOrder) =>
      repair.exec(
        [
          keys.reservation(saleId, o.reservationToken),
          keys.bought(saleId, o.skuId, o.userId),
          keys.device(saleId, o.deviceFingerprint || "-"),
          keys.deadlines(saleId),
          keys.counters(saleId),
        ],
        [
          action,
          o.status,
          o.reservationToken,
          o.orderId,
          o.userId,
          o.skuId,
          String(o.quantity),
          o.price,
          String(o.paymentDeadline.getTime()),
          String(o.reservedAt.getTime()),
          o.deviceFingerprint ?? "",
          String(nowMs),
        ],
      ) as Promise<[string, string?]>;
    inPostgres = await rows();
    for (const o of inPostgres) {
      const r = byOrder.get(o.orderId);
      if (r) {
        if (r.state === "reserved" && o.status !== "reserved") {
          const answer = await repairOne("adopt", o);
          if (answer[0] === "ADOPTED") {
            report.states_repaired++;
            bump(o.skuId, "states_repaired");
          } else if (answer[0] !== "ALREADY") refuse(o.orderId, `adopt ${o.status}`, answer);
        }
        continue;
      }
      if (o.status === "reserved" && o.paymentDeadline.getTime() <= nowMs) {
        // Dead: its deadline passed while Redis did not know it. Its units go back on sale.
        const done = await db
          .update(flashSaleOrders)
          .set({ status: "expired", expiredAt: new Date(nowMs), updatedAt: sql`now()` })
          .where(and(eq(flashSaleOrders.orderId, o.orderId), eq(flashSaleOrders.status, "reserved")))
          .returning({ id: flashSaleOrders.orderId });
        if (done.length !== 1) refuse(o.orderId, "expire orphan", "not reserved any more");
        else {
          report.orphans_expired++;
          report.expired_order_ids.push(o.orderId);
          bump(o.skuId, "orphans_expired");
        }
      } else if (HOLDING.has(o.status)) {
        const answer = await repairOne("restore", o);
        if (answer[0] !== "RESTORED") refuse(o.orderId, `restore ${o.status}`, answer);
        else if (o.status === "paid") {
          report.paid_restored++;
          bump(o.skuId, "paid_restored");
        } else {
          report.orphans_restored++;
          report.restored_order_ids.push(o.orderId);
          bump(o.skuId, "orphans_restored");
        }
      }
    }

    // 4. Oversold: more units held than exist. Live reservations go first, newest first;
    // a paid order only when reservations cannot cover the excess. Dead rows were
    // expired above, so a paid order never makes room for one.
    const transition = createReservationTransitions(redis);
    await catchUp();
    inPostgres = await rows();
    const byReservedDesc = (a: FlashSaleOrder, b: FlashSaleOrder) =>
      b.reservedAt.getTime() - a.reservedAt.getTime() || (a.orderId < b.orderId ? 1 : -1);
    for (const item of items) {
      const report_ = perSku.get(item.skuId)!;
      const held = inPostgres.filter((o) => o.skuId === item.skuId && HOLDING.has(o.status));
      let excess = held.reduce((n, o) => n + o.quantity, 0) - item.totalStock;
      report_.oversold_units = Math.max(0, excess);
      report.oversold_units += report_.oversold_units;
      const candidates = [
        ...held.filter((o) => o.status === "reserved").sort(byReservedDesc),
        ...held.filter((o) => o.status === "paid").sort(byReservedDesc),
      ];
      for (const order of candidates) {
        if (excess <= 0) break;
        const r = byOrder.get(order.orderId) ?? (await readReservation(redis, saleId, order.reservationToken));
        if (r) {
          const result = await transition(r, "void", { nowMs: Date.now() });
          if (result.kind === "conflict" && (result.state === "expired" || result.state === "cancelled")) {
            excess -= order.quantity; // it left by itself meanwhile: its units are free already
            continue;
          }
          if (result.kind !== "ok" && result.kind !== "already") {
            refuse(order.orderId, "void", result);
            continue;
          }
        }
        const done = await db
          .update(flashSaleOrders)
          .set({ status: "cancelled", cancelledAt: new Date(), cancelReason: "oversold", updatedAt: sql`now()` })
          .where(and(eq(flashSaleOrders.orderId, order.orderId), inArray(flashSaleOrders.status, ["reserved", "paid"])))
          .returning({ id: flashSaleOrders.orderId });
        if (done.length !== 1) {
          refuse(order.orderId, "cancel oversold", "not reserved or paid any more");
          continue;
        }
        excess -= order.quantity;
        report_.excess_cancelled++;
        report.excess_cancelled++;
        report.cancelled_order_ids.push(order.orderId);
      }
    }

    // 5. Stock from Postgres's truth, set only if no decision landed since the totals were read.
    const setStock = redis.createScript<unknown>(stockLua);
    for (let attempt = 0; attempt < 20; attempt++) {
      await catchUp();
      inPostgres = await rows();
      const targets = items.map((item) => {
        const held = inPostgres.filter((o) => o.skuId === item.skuId && HOLDING.has(o.status));
        const r = perSku.get(item.skuId)!;
        r.orders_reserved = held.filter((o) => o.status === "reserved").length;
        r.orders_paid = held.filter((o) => o.status === "paid").length;
        r.units_held = held.reduce((n, o) => n + o.quantity, 0);
        return Math.max(0, r.loaded - r.units_held);
      });
      const reply = (await setStock.exec(
        [lock, keys.outbox(saleId), keys.meta(saleId), ...items.map((i) => keys.stock(saleId, i.skuId))],
        [holder, String(seen), ...targets.map(String)],
      )) as [string, ...number[]];
      if (reply[0] === "MOVED") continue;
      if (reply[0] === "LEASE_LOST") throw busy();
      if (reply[0] === "OK") {
        report.stock_corrected = true;
        items.forEach((item, i) => {
          const r = perSku.get(item.skuId)!;
          const before = Number(reply[i + 1]);
          r.redis_stock_before = before < 0 ? null : before;
          r.redis_remaining = targets[i]!;
          r.stock_corrected = targets[i]! - Math.max(before, 0);
        });
      }
      break;
    }
    for (const item of items) {
      await db
        .update(flashSaleItems)
        .set({ soldCount: perSku.get(item.skuId)!.units_held })
        .where(and(eq(flashSaleItems.saleId, saleId), eq(flashSaleItems.skuId, item.skuId)));
    }
  } finally {
    await lease.exec([lock, keys.outbox(saleId)], [holder, "release", "0"]).catch(() => undefined);
  }
  // Everything read above is in Postgres already; this trims it (and writes anything newer).
  await drainOutbox(deps, saleId, { budgetMs: 30_000 });
  report.outbox_events_applied = applied;
  report.items = items.map((i) => perSku.get(i.skuId)!);
  report.dead_letter = await readDeadLetters(deps.redis, saleId);
  return report;
}
