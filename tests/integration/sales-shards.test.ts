/**
 * The admin sets how many queue objects a sale runs on (`shards`, docs/api.md): at creation,
 * or raised by PATCH while the pre-queue gathers; never lowered once shoppers hold places.
 */
import { describe, expect, it } from "vitest";
import { admin, api, shopperToken } from "./fixtures";

const enter = async (saleId: string, who: string) =>
  api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
    token: await shopperToken(who),
    body: { captcha_token: "dev", device_fingerprint: `fp-${who}` },
    headers: { "cf-connecting-ip": "192.0.2.77" },
  });

describe("the queue's shard count, set by the admin", () => {
  it("takes a count at creation, raises it during the pre-queue, and refuses to lower it once places are held", async () => {
    const start = Date.now() + 120_000;
    const created = await admin("/sales", {
      body: {
        name: "shards by hand",
        start_time: new Date(start).toISOString(),
        end_time: new Date(start + 600_000).toISOString(),
        shards: 2,
        items: [{ sku_id: "SHARDS", name: "phone", flash_price: "1.00", original_price: "2.00", total_stock: 10 }],
      },
    });
    expect(created.status).toBe(201);
    const saleId: string = created.body.sale_id;
    const first = await enter(saleId, "shards-first");
    expect(first.status).toBe(200);
    // The token names a shard: the sale runs on the admin's two objects, not one sized from the crowd.
    expect(first.body.queue_token).toMatch(/^s[01]\./);

    const lower = await admin(`/sales/${saleId}`, { method: "PATCH", body: { shards: 1 } });
    expect(lower.status).toBe(422);
    expect(lower.body.details).toEqual([{ field: "shards", problem: expect.stringContaining("lowered") }]);
    const raised = await admin(`/sales/${saleId}`, { method: "PATCH", body: { shards: 6 } });
    expect(raised.status).toBe(200);
    expect(raised.body.shards).toBe(6);
    // Entering again after the raise finds the same place.
    expect((await enter(saleId, "shards-first")).body.queue_token).toBe(first.body.queue_token);
    for (const shards of [0, 65, 2.5]) {
      const res = await admin(`/sales/${saleId}`, { method: "PATCH", body: { shards } });
      expect(res.status).toBe(422);
      expect(res.body.details[0].field).toBe("shards");
    }
    expect((await admin(`/sales/${saleId}`, { method: "PATCH", body: {} })).status).toBe(422);
    await admin(`/sales/${saleId}/cancel`, { body: {} });
  }, 60_000);
});
