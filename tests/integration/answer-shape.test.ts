import { describe, expect, it } from "vitest";
import { admin, defineSale, inSeconds, saleBody, sleep } from "./fixtures";

describe("one shape for every answer", () => {
  it("refuses a sale definition with a field it does not know, as PATCH does, and writes nothing", async () => {
    const before = (await admin("/sales")).body.sales.length;
    const misspelt = await admin("/sales", { body: { ...saleBody(), admision_rate_per_second: 5 } });
    expect(misspelt.status).toBe(400);
    expect(misspelt.body.details).toContainEqual({ field: "(body)", problem: expect.stringMatching(/admision/) });
    const withColour = saleBody({ items: [{ ...saleBody().items[0], colour: "red" }] });
    expect((await admin("/sales", { body: withColour })).status).toBe(400);
    expect((await admin("/sales")).body.sales.length).toBe(before);
  });

  it("accepts the same admission rates at creation and when tuned live", async () => {
    const tooFast = await admin("/sales", { body: saleBody({ admission_rate_per_second: 1_000_001 }) });
    expect(tooFast.status).toBe(422);
    expect(tooFast.body.details).toEqual([
      { field: "admission_rate_per_second", problem: "must be a whole number from 1 to 1000000" },
    ]);
    const sale = await defineSale({ admission_rate_per_second: 1_000_000 });
    const patched = await admin(`/sales/${sale.sale_id}`, {
      method: "PATCH",
      body: { admission_rate_per_second: 1_000_001 },
    });
    expect(patched.status).toBe(422);
    expect(patched.body.details).toEqual(tooFast.body.details);
  });

  it("refuses to tune an ended sale, as it refuses a cancelled one", async () => {
    const sale = await defineSale({ start_time: inSeconds(1), end_time: inSeconds(2) });
    await sleep(2_200);
    const res = await admin(`/sales/${sale.sale_id}`, { method: "PATCH", body: { admission_rate_per_second: 7 } });
    expect(res.status).toBe(422);
    expect(res.body.details).toEqual([{ field: "sale", problem: "ended" }]);
    expect((await admin(`/sales/${sale.sale_id}`)).body.admission_rate_per_second).not.toBe(7);
  });
});
