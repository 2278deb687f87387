import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { admissionToken, buy, createActiveSale, inParallel, upstash } from "./fixtures";
import { scripts } from "./purchase-scripts";

const SKUS = ["A", "B", "C", "D", "E", "F"];

describe("the last units", () => {
  it("never gives a buyer of 2 the last 1: sold out, and the unit stays for a buyer of 1", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 7, per_user_limit: 3 }] });
    const run = scripts(saleId);
    expect(await run.purchase("first", 3)).toMatchObject({ kind: "reserved", remaining: 4 });
    expect(await run.purchase("second", 3)).toMatchObject({ kind: "reserved", remaining: 1 });
    expect(await run.purchase("greedy", 2)).toMatchObject({ kind: "sold_out", remaining: 1 });
    expect(await run.purchase("greedier", 3)).toMatchObject({ kind: "sold_out", remaining: 1 });
    expect(await run.stock()).toBe(1);
    expect(await run.purchase("modest", 1)).toMatchObject({ kind: "reserved", remaining: 0 });
    expect(await run.purchase("late", 1)).toMatchObject({ kind: "sold_out", remaining: 0 });
    expect(await run.stock()).toBe(0);
  });

  it("buyers of 1, 2 and 3 racing for a stock of 7 (a multiple of none of them) never take more than 7", async () => {
    const { saleId } = await createActiveSale({
      items: SKUS.map((sku_id) => ({ sku_id, total_stock: 7, per_user_limit: 3 })),
    });
    // Per SKU, twelve shoppers asking for 3, 2, 1, 3, 2, 1, ... all at once over HTTP.
    const attempts = SKUS.flatMap((sku) =>
      Array.from({ length: 12 }, (_, i) => ({ sku, user: `last-${sku}-${i}`, quantity: 3 - (i % 3) })),
    );
    const results = await inParallel(
      attempts.map((at) => async () => ({
        at,
        res: await buy(saleId, await admissionToken(saleId, at.user), { sku_id: at.sku, quantity: at.quantity }),
      })),
      48,
    );
    const redis = upstash();
    for (const sku of SKUS) {
      const mine = results.filter((r) => r.at.sku === sku);
      for (const r of mine) expect(r.res.status, JSON.stringify(r.res.body)).toBe(200);
      const sold = mine.filter((r) => r.res.body.status === "reserved").reduce((n, r) => n + r.at.quantity, 0);
      const stock = Number(await redis.get(keys.stock(saleId, sku)));
      expect(stock, `stock of ${sku}`).toBeGreaterThanOrEqual(0);
      expect(sold, `units sold of ${sku}`).toBeLessThanOrEqual(7);
      expect(stock + sold, `units of ${sku} conserved`).toBe(7);
      // No answer ever showed a stock below zero.
      for (const r of mine.filter((x) => x.res.body.status === "reserved"))
        expect(r.res.body.remaining_stock).toBeGreaterThanOrEqual(0);
      // Nobody was refused while their quantity still fit: what is left is less than the smallest refused ask.
      const refused = mine.filter((r) => r.res.body.status === "sold_out").map((r) => r.at.quantity);
      if (refused.length) expect(stock).toBeLessThan(Math.min(...refused));
    }
  });
});
