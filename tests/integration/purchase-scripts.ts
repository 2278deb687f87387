/**
 * The production purchase and reservation scripts, called through their TS wrappers on the
 * real Redis (via the Upstash bridge) at a clock the test chooses: boundaries by the
 * server's clock can be hit to the millisecond, which HTTP cannot do.
 */
import { hashFromReply } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import { createPurchaseScript, newReservationToken, requestHash } from "../../workers/purchase/purchase";
import { createReservationTransitions, readReservation } from "../../workers/purchase/reservations";
import { upstash } from "./fixtures";

export function scripts(saleId: string) {
  const redis = upstash();
  const decide = createPurchaseScript(redis);
  const transition = createReservationTransitions(redis);
  return {
    redis,
    async purchase(
      user: string,
      quantity: number,
      options: {
        nowMs?: number;
        key?: string;
        device?: string | null;
        sku?: string;
        position?: number;
        admittedMs?: number;
      } = {},
    ) {
      const sku = options.sku ?? "PHONE";
      return decide({
        saleId,
        userId: user,
        skuId: sku,
        quantity,
        nowMs: options.nowMs ?? Date.now(),
        idempotencyKey: options.key ?? crypto.randomUUID(),
        requestHash: await requestHash(sku, quantity),
        device: options.device === undefined ? `${user}-device` : options.device,
        reservationToken: newReservationToken(saleId),
        orderId: crypto.randomUUID(),
        position: options.position,
        admittedMs: options.admittedMs,
      });
    },
    async transition(token: string, action: "confirm" | "cancel" | "expire", nowMs: number, actor?: string) {
      const r = await readReservation(redis, saleId, token);
      if (!r) throw new Error(`no reservation ${token}`);
      return transition(r, action, { nowMs, actor });
    },
    async stock(sku = "PHONE") {
      return Number(await redis.get(keys.stock(saleId, sku)));
    },
    async state(token: string) {
      return hashFromReply(await redis.hgetall(keys.reservation(saleId, token)))?.state;
    },
    async meta() {
      return hashFromReply(await redis.hgetall(keys.meta(saleId)))!;
    },
  };
}

/** Moves a reservation's deadline into the past, as the clock would after the payment window. */
export async function pastDeadline(saleId: string, token: string, agoMs = 1_000) {
  const redis = upstash();
  const past = Date.now() - agoMs;
  await redis.hset(keys.reservation(saleId, token), { deadline_ms: String(past) });
  await redis.zadd(keys.deadlines(saleId), { score: past, member: token });
}

/** Polls `check` until it holds; throws, naming what it waited for, if it never does. */
export async function eventually(what: string, check: () => Promise<boolean>, ms = 5_000): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() >= until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
