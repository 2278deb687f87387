import { describe, expect, it } from "vitest";
import { admissionToken, buy, createActiveSale, createSale } from "./fixtures";
import { scripts } from "./purchase-scripts";

describe("the sale window, by the server's clock", () => {
  it("sells from start_time exactly until just before end_time, and refuses outside it", async () => {
    const { saleId } = await createSale({ items: [{ sku_id: "PHONE", total_stock: 10, per_user_limit: 1 }] });
    const run = scripts(saleId);
    const meta = await run.meta();
    const start = Number(meta.start_ms);
    const end = Number(meta.end_ms);
    expect(await run.purchase("early", 1, { nowMs: start - 1 })).toEqual({ kind: "not_active", why: "not_started" });
    expect(await run.purchase("long-before", 1, { nowMs: start - 3_600_000 })).toEqual({
      kind: "not_active",
      why: "not_started",
    });
    expect(await run.purchase("on-time", 1, { nowMs: start })).toMatchObject({ kind: "reserved" });
    expect(await run.purchase("last-moment", 1, { nowMs: end - 1 })).toMatchObject({ kind: "reserved" });
    expect(await run.purchase("at-the-end", 1, { nowMs: end })).toEqual({ kind: "not_active", why: "ended" });
    expect(await run.purchase("after", 1, { nowMs: end + 1 })).toEqual({ kind: "not_active", why: "ended" });
    expect(await run.purchase("next-day", 1, { nowMs: end + 86_400_000 })).toEqual({
      kind: "not_active",
      why: "ended",
    });
    expect(await run.stock()).toBe(8);
  });

  it("answers a Buy click after the end with 422 sale_not_active, and sells nothing", async () => {
    const { saleId, startMs } = await createActiveSale({
      items: [{ sku_id: "PHONE", total_stock: 10 }],
      durationMs: 1_500,
    });
    const token = await admissionToken(saleId, "too-late");
    await new Promise((r) => setTimeout(r, Math.max(0, startMs + 1_500 - Date.now()) + 100));
    const res = await buy(saleId, token, { sku_id: "PHONE", quantity: 1 });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: "sale_not_active" });
    expect(await scripts(saleId).stock()).toBe(10);
  });

  it("answers a Buy click before the start with 422 sale_not_active", async () => {
    const { saleId } = await createSale({ items: [{ sku_id: "PHONE", total_stock: 10 }], startInMs: 3_600_000 });
    const res = await buy(saleId, await admissionToken(saleId, "too-early"), { sku_id: "PHONE", quantity: 1 });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ error: "sale_not_active" });
    expect(await scripts(saleId).stock()).toBe(10);
  });
});
