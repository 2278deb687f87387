import type { Redis } from "@upstash/redis";
import { DEFAULTS } from "../config";
import { base64url, sha256Hex } from "../hash";
import { keys } from "../keys";
import purchaseLua from "./purchase.lua";
import { answerSoldOut } from "./sold-out";

/** What the purchase script decided, parsed once from its reply. */
export type PurchaseDecision =
  | {
      kind: "reserved";
      remaining: number;
      reservationToken: string;
      orderId: string;
      deadlineMs: number;
      price: string;
      replay: boolean;
    }
  | { kind: "sold_out"; remaining: number; replay: boolean }
  | { kind: "limit_exceeded"; reason: "per_user_limit" | "device"; replay: boolean }
  | { kind: "conflict" }
  | { kind: "not_active"; why: "cancelled" | "not_started" | "ended" }
  | { kind: "not_loaded" }
  | { kind: "unknown_sku" }
  | { kind: "over_limit"; limit: number };

export type PurchaseInput = {
  saleId: string;
  userId: string;
  skuId: string;
  quantity: number;
  nowMs: number;
  idempotencyKey: string;
  requestHash: string;
  device: string | null;
  reservationToken: string;
  orderId: string;
  /** When the shopper's turn came (the admission token's mint time, ms), for the fast-purchase signal; null when unknown. */
  admittedMs?: number | null;
  /** The request that made the decision (workers/middleware/observe.ts), kept on the order; "" if none. */
  requestId?: string;
  /** The shopper's queue position (the admission token's `pos`): a reservation marks that turn decided. */
  position?: number | null;
};

/** How long a shopper's Idempotency-Key keeps its first answer. */
export const IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60;

type Reply = [string, ...(string | number)[]];

export function parsePurchaseReply(reply: unknown): PurchaseDecision {
  if (!Array.isArray(reply) || typeof reply[0] !== "string")
    throw new Error(`unexpected purchase reply ${JSON.stringify(reply)}`);
  const [tag, ...rest] = reply as Reply;
  const replay = rest[rest.length - 1] === "REPLAY";
  const num = (i: number) => Number(rest[i]);
  switch (tag) {
    case "RESERVED":
      return {
        kind: "reserved",
        remaining: num(0),
        reservationToken: String(rest[1]),
        orderId: String(rest[2]),
        deadlineMs: num(3),
        price: String(rest[4]),
        replay,
      };
    case "SOLD_OUT":
      return { kind: "sold_out", remaining: num(0), replay };
    case "LIMIT_EXCEEDED":
      return { kind: "limit_exceeded", reason: rest[0] === "device" ? "device" : "per_user_limit", replay };
    case "CONFLICT":
      return { kind: "conflict" };
    case "NOT_ACTIVE":
      return { kind: "not_active", why: rest[0] as "cancelled" | "not_started" | "ended" };
    case "NOT_LOADED":
      return { kind: "not_loaded" };
    case "UNKNOWN_SKU":
      return { kind: "unknown_sku" };
    case "OVER_LIMIT":
      return { kind: "over_limit", limit: num(0) };
    default:
      throw new Error(`unexpected purchase reply ${JSON.stringify(reply)}`);
  }
}

/**
 * Reservation tokens name their sale (`<sale uuid>.<random>`), so a reservation can be
 * found from its token alone without a global index outside the sale's hash slot.
 */
export function newReservationToken(saleId: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  const random = base64url(bytes);
  return `${saleId}.${random}`;
}

export function saleIdOfToken(token: string): string | null {
  const match = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.[A-Za-z0-9_-]{16,27}$/.exec(token);
  return match?.[1] ?? null;
}

/** SHA-256 of the canonical purchase body: same key + same body is a retry, anything else a conflict. */
export async function requestHash(skuId: string, quantity: number): Promise<string> {
  const canonical = JSON.stringify([skuId, quantity]);
  return sha256Hex(canonical);
}

/**
 * The script's KEYS and ARGV for one purchase, in the order purchase.lua reads them.
 * Exported so a caller outside the Worker (the simulation, scripts/simulate/) sends the
 * same call over its own connection instead of restating the layout.
 */
export function purchaseCall(input: PurchaseInput): { keys: string[]; args: string[] } {
  const { saleId, userId, skuId } = input;
  const device = input.device ?? "";
  return {
    keys: [
      keys.meta(saleId),
      keys.item(saleId, skuId),
      keys.stock(saleId, skuId),
      keys.bought(saleId, skuId, userId),
      // Without a device the rule cannot apply; the key is still named so KEYS stays fixed.
      keys.device(saleId, device || "-"),
      keys.idempotency(saleId, userId, input.idempotencyKey),
      keys.reservation(saleId, input.reservationToken),
      keys.deadlines(saleId),
      keys.outbox(saleId),
      keys.counters(saleId),
      keys.signals(saleId),
      keys.flagged(saleId),
      keys.turns(saleId),
    ],
    args: [
      userId,
      skuId,
      String(input.quantity),
      String(input.nowMs),
      input.requestHash,
      input.reservationToken,
      input.orderId,
      device,
      String(IDEMPOTENCY_TTL_SECONDS),
      input.idempotencyKey,
      saleId,
      input.admittedMs == null ? "" : String(input.admittedMs),
      String(DEFAULTS.botSignals.fastPurchaseMs),
      String(DEFAULTS.redisRetentionDays * 86_400),
      input.requestId ?? "",
      input.position == null ? "" : String(input.position),
    ],
  };
}

/**
 * SKUs this isolate last saw with no units left (a decision's `remaining` of 0). Only a
 * routing hint: the crowd's path (sold-out.ts) reads the stock itself and hands back
 * anything it cannot answer, so a stale entry costs one extra request, never a wrong answer. Bounded: an
 * isolate that outlives many sales forgets them all at once.
 */
const goneSkus = new Set<string>();
const GONE_SKUS_MAX = 1_000;

function noteRemaining(saleId: string, skuId: string, remaining: number): void {
  const sku = `${saleId}\n${skuId}`;
  if (remaining > 0) goneSkus.delete(sku);
  else {
    if (goneSkus.size >= GONE_SKUS_MAX) goneSkus.clear();
    goneSkus.add(sku);
  }
}

/**
 * The purchase decision: one Redis command per click (EVALSHA, EVAL only after a script
 * flush). Once a SKU is seen sold out, its clicks take the crowd's path (sold-out.ts): two
 * requests of plain commands and no script, cheaper for Redis than any script call; the
 * rare click it cannot answer (units came back, a retry, a limit or device refusal) then
 * takes purchase.lua as well.
 */
export function createPurchaseScript(redis: Redis) {
  const script = redis.createScript<unknown>(purchaseLua);
  return async function decide(input: PurchaseInput): Promise<PurchaseDecision> {
    if (goneSkus.has(`${input.saleId}\n${input.skuId}`)) {
      const answer = await answerSoldOut(redis, input, IDEMPOTENCY_TTL_SECONDS);
      if (answer) return answer;
    }
    const call = purchaseCall(input);
    const decision = parsePurchaseReply(await script.exec(call.keys, call.args));
    if ((decision.kind === "reserved" || decision.kind === "sold_out") && !decision.replay)
      noteRemaining(input.saleId, input.skuId, decision.remaining);
    return decision;
  };
}
