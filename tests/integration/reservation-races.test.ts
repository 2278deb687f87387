import { describe, expect, it } from "vitest";
import { hashFromReply } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import { createPurchaseScript, newReservationToken, requestHash } from "../../workers/purchase/purchase";
import { createReservationTransitions, readReservation } from "../../workers/purchase/reservations";
import { createActiveSale, upstash } from "./fixtures";

describe("payment against the deadline", () => {
  it("1,000 confirm-versus-expiry races: exactly one wins each, stock ends exact, nothing both paid and expired", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1_000, per_user_limit: 1 }] });
    const redis = upstash();
    const decide = createPurchaseScript(redis);
    const transition = createReservationTransitions(redis);
    const t0 = Date.now();

    // 1,000 reservations, made through the production script at a known instant so the
    // races below can be aimed at each deadline to the millisecond.
    const reservations = await Promise.all(
      Array.from({ length: 1_000 }, async (_, i) => {
        const d = await decide({
          saleId,
          userId: `racer-${i}`,
          skuId: "PHONE",
          quantity: 1,
          nowMs: t0,
          idempotencyKey: `race-${i}`,
          requestHash: await requestHash("PHONE", 1),
          device: `racer-device-${i}`,
          reservationToken: newReservationToken(saleId),
          orderId: crypto.randomUUID(),
        });
        if (d.kind !== "reserved") throw new Error(`setup: ${d.kind}`);
        return { token: d.reservationToken, deadline: d.deadlineMs, user: `racer-${i}` };
      }),
    );
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("0");

    // Payment lands a hair before, at, or after the deadline while the sweeper expires it.
    const outcomes = await Promise.all(
      reservations.map(async (r, i) => {
        const read = (await readReservation(redis, saleId, r.token))!;
        const payAt = r.deadline + ((i % 3) - 1); // -1, 0, +1 ms
        const [pay, expire] = await Promise.all([
          transition(read, "confirm", { nowMs: payAt }),
          transition(read, "expire", { nowMs: r.deadline + 1 }),
        ]);
        return { r, pay, expire, payAt };
      }),
    );

    let paid = 0;
    for (const { r, pay, expire, payAt } of outcomes) {
      const state = hashFromReply(await redis.hgetall(keys.reservation(saleId, r.token)))!.state;
      const payWon = pay.kind === "ok";
      const expireWon = expire.kind === "ok";
      // Exactly one of the two moved the reservation out of `reserved`...
      expect(Number(payWon) + Number(expireWon) + Number(pay.kind === "expired"), r.token).toBe(1);
      // ...and a payment at or after the deadline never wins.
      if (payAt >= r.deadline) expect(payWon).toBe(false);
      expect(state).toBe(payWon ? "paid" : "expired");
      if (payWon) paid++;
    }
    // Every expired unit went back exactly once; paid units stay sold.
    expect(Number(await redis.get(keys.stock(saleId, "PHONE")))).toBe(1_000 - paid);
    expect(paid).toBeGreaterThan(0);
    expect(paid).toBeLessThan(1_000);
    const counters = hashFromReply(await redis.hgetall(keys.counters(saleId)))!;
    expect(Number(counters.reserved)).toBe(0);
    expect(Number(counters.paid)).toBe(paid);
    expect(Number(counters.expired)).toBe(1_000 - paid);

    // The outbox says the same: no order has both a paid and an expired event.
    const events = ((await redis.lrange(keys.outbox(saleId), 0, -1)) as string[]).map((e) => JSON.parse(e));
    const finals = new Map<string, string[]>();
    for (const e of events) if (e.t !== "reserved") finals.set(e.order_id, [...(finals.get(e.order_id) ?? []), e.t]);
    expect(finals.size).toBe(1_000);
    for (const list of finals.values()) expect(list).toHaveLength(1);
  }, 120_000);
});
