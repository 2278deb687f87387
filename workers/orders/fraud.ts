/**
 * The fraud review after a sale (docs/purchase.md "After the sale: the fraud report"):
 * what the rules at payment could not see in the moment, read from the orders Postgres
 * holds and the bot signals Redis kept, and the cancel that takes flagged orders back.
 *
 * The payment rules refuse the exact same payment method or normalised address twice in
 * one sale. They cannot see an address written another way ("1 Main Street, Apt 2" and
 * "1 main st #2"), a payment method shared with accounts of other sales, an account that
 * buys the maximum in every sale, or an order by a shopper the door flagged as a bot.
 */
import type { Redis } from "@upstash/redis";
import { and, eq, inArray, ne, sql } from "drizzle-orm";
import { flashSaleItems, flashSaleOrders } from "../../schema/schema";
import type { Database } from "../clients/db";
import { DEFAULTS } from "../config";
import { createReservationTransitions, normaliseAddress, readReservation } from "../purchase/reservations";
import { readFlaggedShoppers } from "../queue/signals";
import { drainOutbox } from "./outbox";

type Order = {
  orderId: string;
  userId: string;
  skuId: string;
  quantity: number;
  status: "reserved" | "paid" | "cancelled" | "expired";
  reservationToken: string;
  reservedAt: Date;
  paymentMethodFingerprint: string | null;
  shippingAddress: string | null;
};

export type SharedGroup = {
  /** The loosely normalised address, or the payment method's fingerprint. */
  key: string;
  accounts: string[];
  order_ids: string[];
  units: number;
};

export type FraudReport = {
  sale_id: string;
  generated_at: string;
  orders_reviewed: number;
  /** Paid orders of two or more accounts to one address, however it was written. */
  shared_addresses: SharedGroup[];
  /** One payment method behind two or more accounts: in this sale, or this sale's and earlier ones'. */
  shared_payment_methods: Array<SharedGroup & { other_sales_accounts: string[] }>;
  /** Accounts that took the per-shopper maximum here and in at least `resellerSales` − 1 other sales. For review only. */
  resellers: Array<{ user_id: string; sales_at_the_limit: number }>;
  /** Shoppers a bot rule flagged (docs/queue.md "Bot signals") who hold live orders. */
  flagged_shoppers: Array<{ user_id: string; rules: string[]; order_ids: string[] }>;
  /** Live orders the cancel takes back by default: every flagged shopper's, and all but the first of each shared group. */
  cancellable: Array<{ order_id: string; user_id: string; status: "reserved" | "paid"; reasons: string[] }>;
};

const LIVE = new Set(["reserved", "paid"]);

/**
 * Two spellings of one address are one key: case, punctuation and spacing (as at payment),
 * the usual street-type abbreviations, and unit designators ("apt", "#", "unit") are
 * ignored; the numbers stay, so two flats of one building stay two addresses.
 */
export function addressKey(address: string): string {
  const words: Record<string, string> = {
    street: "st",
    avenue: "ave",
    road: "rd",
    boulevard: "blvd",
    drive: "dr",
    lane: "ln",
    place: "pl",
    court: "ct",
    square: "sq",
    north: "n",
    south: "s",
    east: "e",
    west: "w",
  };
  const dropped = new Set(["apt", "apartment", "unit", "suite", "ste", "flat", "no", "number"]);
  return normaliseAddress(address.replace(/#/g, " "))
    .split(" ")
    .filter((w) => w && !dropped.has(w))
    .map((w) => words[w] ?? w)
    .join(" ");
}

/**
 * Groups of live orders sharing a key across two or more accounts, first order first: by
 * `reserved_at`, never by the order Postgres happens to return the rows in.
 */
export function sharedGroups(orders: Order[], keyOf: (o: Order) => string | null): Map<string, Order[]> {
  const groups = new Map<string, Order[]>();
  for (const o of orders) {
    const key = keyOf(o);
    if (key) groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  for (const [key, group] of groups) {
    if (new Set(group.map((o) => o.userId)).size < 2) groups.delete(key);
    else group.sort((a, b) => a.reservedAt.getTime() - b.reservedAt.getTime() || a.orderId.localeCompare(b.orderId));
  }
  return groups;
}

const groupJson = (key: string, group: Order[]): SharedGroup => ({
  key,
  accounts: [...new Set(group.map((o) => o.userId))],
  order_ids: group.map((o) => o.orderId),
  units: group.reduce((n, o) => n + o.quantity, 0),
});

async function saleOrders(db: Database, saleId: string): Promise<Order[]> {
  return db
    .select({
      orderId: flashSaleOrders.orderId,
      userId: flashSaleOrders.userId,
      skuId: flashSaleOrders.skuId,
      quantity: flashSaleOrders.quantity,
      status: flashSaleOrders.status,
      reservationToken: flashSaleOrders.reservationToken,
      reservedAt: flashSaleOrders.reservedAt,
      paymentMethodFingerprint: flashSaleOrders.paymentMethodFingerprint,
      shippingAddress: flashSaleOrders.shippingAddress,
    })
    .from(flashSaleOrders)
    .where(eq(flashSaleOrders.saleId, saleId));
}

/** Accounts of other sales that paid with one of these payment methods. */
async function otherSalesPayers(db: Database, saleId: string, methods: string[]): Promise<Map<string, Set<string>>> {
  const found = new Map<string, Set<string>>();
  if (methods.length === 0) return found;
  const rows = await db
    .selectDistinct({ method: flashSaleOrders.paymentMethodFingerprint, userId: flashSaleOrders.userId })
    .from(flashSaleOrders)
    .where(
      and(
        inArray(flashSaleOrders.paymentMethodFingerprint, methods),
        ne(flashSaleOrders.saleId, saleId),
        eq(flashSaleOrders.status, "paid"),
      ),
    );
  for (const { method, userId } of rows) {
    if (!method) continue;
    found.set(method, (found.get(method) ?? new Set()).add(userId));
  }
  return found;
}

/** Per account: the sales (this one included) where it paid for a SKU's whole per-shopper limit. */
async function salesAtTheLimit(db: Database, users: string[]): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  if (users.length === 0) return counts;
  const rows = await db
    .select({ userId: flashSaleOrders.userId, saleId: flashSaleOrders.saleId })
    .from(flashSaleOrders)
    .innerJoin(
      flashSaleItems,
      and(eq(flashSaleItems.saleId, flashSaleOrders.saleId), eq(flashSaleItems.skuId, flashSaleOrders.skuId)),
    )
    .where(and(inArray(flashSaleOrders.userId, users), eq(flashSaleOrders.status, "paid")))
    .groupBy(flashSaleOrders.userId, flashSaleOrders.saleId, flashSaleOrders.skuId, flashSaleItems.perUserLimit)
    .having(sql`sum(${flashSaleOrders.quantity}) >= ${flashSaleItems.perUserLimit}`);
  const sales = new Map<string, Set<string>>();
  for (const { userId, saleId } of rows) sales.set(userId, (sales.get(userId) ?? new Set()).add(saleId));
  for (const [userId, set] of sales) counts.set(userId, set.size);
  return counts;
}

export async function fraudReport(deps: { redis: Redis; db: Database }, saleId: string): Promise<FraudReport> {
  const [orders, flags] = await Promise.all([saleOrders(deps.db, saleId), readFlaggedShoppers(deps.redis, saleId)]);
  const live = orders.filter((o) => LIVE.has(o.status));
  const paid = live.filter((o) => o.status === "paid");
  const reasons = new Map<string, Set<string>>();
  const mark = (o: Order, reason: string) => reasons.set(o.orderId, (reasons.get(o.orderId) ?? new Set()).add(reason));

  const addresses = sharedGroups(paid, (o) => (o.shippingAddress ? addressKey(o.shippingAddress) : null));
  for (const group of addresses.values()) for (const o of group.slice(1)) mark(o, "shared_address");

  const methods = new Set(paid.map((o) => o.paymentMethodFingerprint).filter((m): m is string => !!m));
  const elsewhere = await otherSalesPayers(deps.db, saleId, [...methods]);
  const payments: FraudReport["shared_payment_methods"] = [];
  for (const method of methods) {
    const here = paid.filter((o) => o.paymentMethodFingerprint === method);
    const accountsHere = new Set(here.map((o) => o.userId));
    const others = [...(elsewhere.get(method) ?? [])].filter((u) => !accountsHere.has(u));
    if (accountsHere.size < 2 && others.length === 0) continue;
    here.sort((a, b) => a.reservedAt.getTime() - b.reservedAt.getTime());
    // Used by other accounts before: every order here is suspect; only within the sale: all but the first.
    for (const o of others.length > 0 ? here : here.slice(1)) mark(o, "shared_payment_method");
    payments.push({ ...groupJson(method, here), other_sales_accounts: others });
  }

  const atLimit = await salesAtTheLimit(deps.db, [...new Set(paid.map((o) => o.userId))]);
  const resellers = [...atLimit]
    .filter(([, n]) => n >= DEFAULTS.fraud.resellerSales)
    .map(([user_id, sales_at_the_limit]) => ({ user_id, sales_at_the_limit }))
    .sort((a, b) => b.sales_at_the_limit - a.sales_at_the_limit || a.user_id.localeCompare(b.user_id));

  const flagged: FraudReport["flagged_shoppers"] = [];
  for (const [user_id, rules] of flags) {
    const theirs = live.filter((o) => o.userId === user_id);
    if (theirs.length === 0) continue;
    for (const o of theirs) mark(o, "bot_signal");
    flagged.push({ user_id, rules, order_ids: theirs.map((o) => o.orderId) });
  }
  flagged.sort((a, b) => a.user_id.localeCompare(b.user_id));

  return {
    sale_id: saleId,
    generated_at: new Date().toISOString(),
    orders_reviewed: orders.length,
    shared_addresses: [...addresses].map(([key, group]) => groupJson(key, group)),
    shared_payment_methods: payments,
    resellers,
    flagged_shoppers: flagged,
    cancellable: live
      .filter((o) => reasons.has(o.orderId))
      .map((o) => ({
        order_id: o.orderId,
        user_id: o.userId,
        status: o.status as "reserved" | "paid",
        reasons: [...reasons.get(o.orderId)!].sort(),
      })),
  };
}

export type FraudCancel = {
  cancelled: Array<{ order_id: string; was: "reserved" | "paid"; units: number }>;
  units_returned: number;
  refused: Array<{ order_id: string; reason: string }>;
  /** Orders still waiting in the outbox for Postgres after the cancel (0 unless Postgres is away). */
  outbox_remaining: number;
};

/**
 * Cancels orders through the reservation script (`revoke`): a reserved or paid order
 * leaves for `cancelled` (reason `fraud`) and its units go back to stock in the same
 * atomic step, exactly once, so stock + reserved + paid stays equal to what was loaded;
 * Postgres follows through the outbox like every other transition.
 */
export async function cancelFraudulent(
  deps: { redis: Redis; db: Database },
  saleId: string,
  orderIds: string[],
): Promise<FraudCancel> {
  const result: FraudCancel = { cancelled: [], units_returned: 0, refused: [], outbox_remaining: 0 };
  if (orderIds.length === 0) return result;
  const rows = await deps.db
    .select({ orderId: flashSaleOrders.orderId, token: flashSaleOrders.reservationToken })
    .from(flashSaleOrders)
    .where(and(eq(flashSaleOrders.saleId, saleId), inArray(flashSaleOrders.orderId, orderIds)));
  const tokens = new Map(rows.map((r) => [r.orderId, r.token]));
  const transition = createReservationTransitions(deps.redis);
  for (const orderId of orderIds) {
    const token = tokens.get(orderId);
    const reservation = token ? await readReservation(deps.redis, saleId, token) : null;
    if (!reservation) {
      result.refused.push({
        order_id: orderId,
        reason: token ? "Redis no longer holds it" : "no such order in this sale",
      });
      continue;
    }
    const was = reservation.state;
    const outcome = await transition(reservation, "revoke", { nowMs: Date.now() });
    if (outcome.kind === "ok" && (was === "reserved" || was === "paid")) {
      result.cancelled.push({ order_id: orderId, was, units: reservation.quantity });
      result.units_returned += reservation.quantity;
    } else {
      result.refused.push({
        order_id: orderId,
        reason: outcome.kind === "already" || outcome.kind === "conflict" ? `already ${outcome.state}` : outcome.kind,
      });
    }
  }
  if (result.cancelled.length > 0)
    result.outbox_remaining = (await drainOutbox(deps, saleId, { budgetMs: 10_000 })).remaining;
  return result;
}
