import type { Redis } from "@upstash/redis";
import { hashFromReply } from "../clients/redis";
import { sha256Hex } from "../hash";
import { keys } from "../keys";
import reservationLua from "./reservation.lua";
import reservationReadLua from "./reservation-read.lua";

export type ReservationState = "reserved" | "paid" | "cancelled" | "expired";
export type TransitionAction = "confirm" | "cancel" | "expire" | "void" | "revoke";

/** A reservation as Redis holds it, parsed once. */
export type Reservation = {
  token: string;
  saleId: string;
  orderId: string;
  userId: string;
  skuId: string;
  quantity: number;
  price: string;
  deadlineMs: number;
  reservedMs: number;
  state: ReservationState;
  device: string;
};

export type TransitionResult =
  | { kind: "ok"; state: ReservationState }
  | { kind: "already"; state: ReservationState }
  | { kind: "expired" }
  | { kind: "not_found" }
  | { kind: "forbidden" }
  | { kind: "conflict"; state: ReservationState }
  | { kind: "not_due" }
  | { kind: "fraud"; rule: "payment_method" | "shipping_address" };

const STATES = new Set<ReservationState>(["reserved", "paid", "cancelled", "expired"]);

export function parseReservation(
  saleId: string,
  token: string,
  raw: Record<string, unknown> | null,
): Reservation | null {
  if (!raw || raw.state === undefined) return null;
  const state = String(raw.state) as ReservationState;
  if (!STATES.has(state)) throw new Error(`reservation ${token} has unknown state ${state}`);
  return {
    token,
    saleId,
    orderId: String(raw.order_id),
    userId: String(raw.user),
    skuId: String(raw.sku),
    quantity: Number(raw.qty),
    price: String(raw.price),
    deadlineMs: Number(raw.deadline_ms),
    reservedMs: Number(raw.reserved_ms),
    state,
    device: String(raw.device ?? ""),
  };
}

/**
 * A reservation by its token. The plain read may come from a replica; when it finds
 * nothing, the reservation may be one another request made a moment ago that the
 * replica has not received, so the answer "none" is only taken from the primary (one
 * more command, spent only on a miss).
 */
export async function readReservation(redis: Redis, saleId: string, token: string): Promise<Reservation | null> {
  const key = keys.reservation(saleId, token);
  const found = parseReservation(saleId, token, hashFromReply(await redis.hgetall(key)));
  if (found) return found;
  const raw = await redis.createScript<unknown>(reservationReadLua).exec([key], []);
  return parseReservation(saleId, token, hashFromReply(raw));
}

export function parseTransitionReply(reply: unknown): TransitionResult {
  if (!Array.isArray(reply)) throw new Error(`unexpected reservation reply ${JSON.stringify(reply)}`);
  const [tag, state] = reply as [string, ReservationState | undefined];
  switch (tag) {
    case "OK":
      return { kind: "ok", state: state! };
    case "ALREADY":
      return { kind: "already", state: state! };
    case "EXPIRED":
      return { kind: "expired" };
    case "NOT_FOUND":
      return { kind: "not_found" };
    case "FORBIDDEN":
      return { kind: "forbidden" };
    case "CONFLICT":
      return { kind: "conflict", state: state! };
    case "NOT_DUE":
      return { kind: "not_due" };
    case "FRAUD":
      return { kind: "fraud", rule: (state as string) === "shipping_address" ? "shipping_address" : "payment_method" };
    default:
      throw new Error(`unexpected reservation reply ${JSON.stringify(reply)}`);
  }
}

/** "1 Main St.", " 1 main st " and "1 MAIN ST" are one address to the fraud rule. */
export function normaliseAddress(address: string): string {
  return address
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, " ")
    .trim();
}

/** Half a SHA-256 is plenty to tell payment methods and addresses apart, and keeps key names short. */
const digest = async (text: string) => (await sha256Hex(text)).slice(0, 32);

/**
 * Moves a reservation out of `reserved`. Reads the reservation first (to name every key
 * the script touches in KEYS), then runs the transition atomically; the script re-checks
 * that the keys still belong to this reservation. Confirm, cancel and expire are not on
 * the purchase hot path, so the extra read costs nothing at T=0.
 */
export function createReservationTransitions(redis: Redis) {
  const script = redis.createScript<unknown>(reservationLua);
  return async function transition(
    reservation: Pick<Reservation, "saleId" | "token" | "skuId" | "userId" | "device">,
    action: TransitionAction,
    options: { nowMs: number; actor?: string; paymentMethodFingerprint?: string; shippingAddress?: string },
  ): Promise<TransitionResult> {
    const { saleId, token, skuId, userId, device } = reservation;
    const payment = options.paymentMethodFingerprint ? await digest(options.paymentMethodFingerprint) : null;
    const address = options.shippingAddress ? await digest(normaliseAddress(options.shippingAddress)) : null;
    const reply = await script.exec(
      [
        keys.reservation(saleId, token),
        keys.stock(saleId, skuId),
        keys.bought(saleId, skuId, userId),
        keys.device(saleId, device || "-"),
        keys.deadlines(saleId),
        keys.outbox(saleId),
        keys.counters(saleId),
        keys.paymentMethod(saleId, payment ?? "-"),
        keys.shippingAddress(saleId, address ?? "-"),
        keys.turns(saleId),
      ],
      [
        action,
        String(options.nowMs),
        token,
        options.actor ?? "",
        saleId,
        options.paymentMethodFingerprint ?? "",
        options.shippingAddress ?? "",
        skuId,
        userId,
        payment ? "1" : "0",
        address ? "1" : "0",
      ],
    );
    return parseTransitionReply(reply);
  };
}

/**
 * Expires every reservation of a sale whose deadline has passed, returning units to
 * stock. Safe to run from many places at once: each expiry is one atomic script that
 * only acts on a reservation still in `reserved`.
 */
export async function expireDue(redis: Redis, saleId: string, nowMs: number, batch = 200): Promise<number> {
  const transition = createReservationTransitions(redis);
  let expired = 0;
  // Bounded: a pass that changes nothing ends the sweep, so a bad entry cannot spin it.
  for (let pass = 0; pass < 1_000; pass++) {
    let changed = 0;
    const due = (await redis.zrange(keys.deadlines(saleId), 0, nowMs, {
      byScore: true,
      offset: 0,
      count: batch,
    })) as string[];
    if (due.length === 0) return expired;
    for (const token of due) {
      const reservation = await readReservation(redis, saleId, token);
      if (!reservation) {
        await redis.zrem(keys.deadlines(saleId), token);
        changed++;
        continue;
      }
      const result = await transition(reservation, "expire", { nowMs });
      if (result.kind === "ok") expired++;
      if (result.kind !== "not_due") changed++;
      if (result.kind !== "ok" && result.kind !== "not_due") await redis.zrem(keys.deadlines(saleId), token);
    }
    if (due.length < batch || changed === 0) return expired;
  }
  return expired;
}
