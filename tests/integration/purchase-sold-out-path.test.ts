import type { Redis } from "@upstash/redis";
import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { COLUMN_CHARS } from "../../workers/orders/columns";
import {
  createPurchaseScript,
  newReservationToken,
  type PurchaseDecision,
  requestHash,
} from "../../workers/purchase/purchase";
import { createActiveSale, intercepted, upstash } from "./fixtures";
import { scripts } from "./purchase-scripts";

/**
 * A click on a SKU this isolate saw sold out takes the crowd's path (workers/purchase/
 * sold-out.ts): plain reads and one `SET NX`, no script (docs/purchase.md "The crowd's
 * path"). It must give the very answer purchase.lua gives: every refusal purchase.lua
 * checks before stock still wins, a unit that came back is sold, and the answer is
 * remembered for its key, once. Each test sells the last unit first, so the path is in play.
 */
describe("a click once the units are gone", () => {
  it("is answered as the full path would: limit and device refusals still come before sold out", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 2, per_user_limit: 1 }] });
    const run = scripts(saleId);
    expect(await run.purchase("holder", 1, { device: "holder-phone" })).toMatchObject({ kind: "reserved" });
    expect(await run.purchase("other", 1, { device: "other-phone" })).toMatchObject({ kind: "reserved" });
    expect(await run.stock()).toBe(0);

    // Holds their whole limit: the limit is the answer, not sold out.
    expect(await run.purchase("holder", 1, { device: "holder-phone-2" })).toMatchObject({
      kind: "limit_exceeded",
      reason: "per_user_limit",
    });
    // A new shopper on a phone that already bought: the device rule is the answer.
    expect(await run.purchase("newcomer", 1, { device: "other-phone" })).toMatchObject({
      kind: "limit_exceeded",
      reason: "device",
    });
    // More than anyone may hold is malformed, whatever the stock.
    expect(await run.purchase("newcomer", 2, { device: "new-phone" })).toMatchObject({
      kind: "over_limit",
      limit: 1,
    });
    // Only a shopper no rule refuses hears sold out.
    expect(await run.purchase("newcomer", 1, { device: "new-phone" })).toMatchObject({
      kind: "sold_out",
      remaining: 0,
    });
  });

  it("is remembered: a retry with the same key hears sold out again after a unit came back", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1 }] });
    const run = scripts(saleId);
    const won = await run.purchase("winner", 1);
    expect(won).toMatchObject({ kind: "reserved" });
    expect(await run.purchase("late", 1, { key: "late-key" })).toMatchObject({ kind: "sold_out", replay: false });
    // The same click again, still sold out: the first answer, replayed, not a new one.
    expect(await run.purchase("late", 1, { key: "late-key" })).toMatchObject({ kind: "sold_out", replay: true });

    if (won.kind !== "reserved") throw new Error("unreachable");
    await run.transition(won.reservationToken, "cancel", Date.now(), "winner");
    expect(await run.stock()).toBe(1);
    expect(await run.purchase("late", 1, { key: "late-key" })).toMatchObject({
      kind: "sold_out",
      remaining: 0,
      replay: true,
    });
    // The record is one string that expires with the sale's refusals, not a day later.
    const ttl = await run.redis.ttl(keys.idempotency(saleId, "late", "late-key"));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(3_600 + 600);
    expect(await run.stock()).toBe(1);
    // A new click finds the unit that came back: sold, not refused.
    expect(await run.purchase("next", 1)).toMatchObject({ kind: "reserved", remaining: 0 });
  });

  it("is refused as purchase.lua refuses it once the sale has ended: not active, not sold out", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1 }] });
    const run = scripts(saleId);
    expect(await run.purchase("winner", 1)).toMatchObject({ kind: "reserved", remaining: 0 });
    const end = Number((await run.meta()).end_ms);
    expect(await run.purchase("late", 1, { nowMs: end })).toMatchObject({ kind: "not_active", why: "ended" });
    expect(await run.purchase("late", 1, { nowMs: end - 1 })).toMatchObject({ kind: "sold_out", remaining: 0 });
  });

  it("remembers its answer under the longest and oddest Idempotency-Key the door allows", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1 }] });
    const run = scripts(saleId);
    expect(await run.purchase("winner", 1)).toMatchObject({ kind: "reserved", remaining: 0 });
    // Every printable ASCII character, quotes, backslash and braces included, at full length.
    const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join("");
    const key = printable.repeat(3).slice(0, COLUMN_CHARS.idempotencyKey);
    expect(key).toHaveLength(COLUMN_CHARS.idempotencyKey);
    expect(await run.purchase("late", 1, { key })).toMatchObject({ kind: "sold_out", replay: false });
    expect(await run.purchase("late", 1, { key })).toMatchObject({ kind: "sold_out", replay: true });
    expect(await run.redis.exists(keys.idempotency(saleId, "late", key))).toBe(1);
  });

  it("runs no script: once the last unit is sold, the crowd's clicks are plain reads and one write", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1 }] });
    const counted = countingScripts(upstash());
    const decide = createPurchaseScript(counted.redis);
    expect(await decide(await click(saleId, "winner", "winner-key"))).toMatchObject({ kind: "reserved", remaining: 0 });
    const scriptsBefore = counted.runs();
    for (let i = 0; i < 5; i++)
      expect(await decide(await click(saleId, `late-${i}`, `late-key-${i}`))).toMatchObject({ kind: "sold_out" });
    expect(counted.runs() - scriptsBefore).toBe(0);
  });

  it("keeps one answer per key: a decision made between the crowd's read and its write is the answer", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1 }] });
    const run = scripts(saleId);
    const won = await run.purchase("winner", 1);
    if (won.kind !== "reserved") throw new Error(`expected a reservation, got ${won.kind}`);

    // The shopper's first click reads stock 0; before it writes its answer, the winner
    // cancels and the same shopper's retry (same key, same body) reserves the unit.
    const retries: PurchaseDecision[] = [];
    const paused = beforeFirstWrite(upstash(), async () => {
      await run.transition(won.reservationToken, "cancel", Date.now(), "winner");
      retries.push(await run.purchase("late", 1, { key: "late-key" }));
    });
    const first = await createPurchaseScript(paused)(await click(saleId, "late", "late-key"));

    const retried = retries[0];
    if (retried?.kind !== "reserved") throw new Error(`the retry should have reserved: ${JSON.stringify(retried)}`);
    expect(retried.replay).toBe(false);
    // The click that read "sold out" hears the reservation its retry made, not sold out.
    expect(first).toMatchObject({ kind: "reserved", orderId: retried.orderId, replay: true });
    expect(await run.purchase("late", 1, { key: "late-key" })).toMatchObject({
      kind: "reserved",
      orderId: retried.orderId,
    });
    expect(await run.stock()).toBe(0);
  });
});

/** One purchase click for the default SKU, as the route builds it. */
async function click(saleId: string, user: string, key: string) {
  return {
    saleId,
    userId: user,
    skuId: "PHONE",
    quantity: 1,
    nowMs: Date.now(),
    idempotencyKey: key,
    requestHash: await requestHash("PHONE", 1),
    device: `${user}-device`,
    reservationToken: newReservationToken(saleId),
    orderId: crypto.randomUUID(),
  };
}

/** The client, counting every script it runs (EVALSHA or EVAL). */
function countingScripts(redis: Redis): { redis: Redis; runs: () => number } {
  let runs = 0;
  const proxy = intercepted(redis, {
    createScript: (target) => (lua: string) => {
      const script = target.createScript(lua);
      return {
        exec: (k: string[], a: string[]) => {
          runs++;
          return script.exec(k, a);
        },
      };
    },
  });
  return { redis: proxy, runs: () => runs };
}

/** The client, running `between` once just before its first SET: after the crowd's read, before its write. */
function beforeFirstWrite(redis: Redis, between: () => Promise<void>): Redis {
  let armed = true;
  return intercepted(redis, {
    set:
      (target) =>
      async (...args: Parameters<Redis["set"]>) => {
        if (armed) {
          armed = false;
          await between();
        }
        return target.set(...args);
      },
  });
}
