import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { createActiveSale } from "./fixtures";
import { scripts } from "./purchase-scripts";

/**
 * A click on a SKU this isolate saw sold out is answered by sold-out.lua, a short script
 * that reads four keys instead of purchase.lua's thirteen (docs/purchase.md "The crowd's
 * path"). It must give the very answer purchase.lua gives: every refusal purchase.lua
 * checks before stock still wins, a unit that came back is sold, and the answer is
 * remembered for its key. Each test sells the last unit first, so the short script is in play.
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
});
