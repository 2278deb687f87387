/**
 * A sale big enough to be sharded, created through the admin API the way the shop does
 * it: the sales code configures the queue, prewarm loads the stock, shoppers enter
 * through the door and are spread over shard objects, one global order comes back.
 */
import { afterAll, describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { admin, api, shopperToken, until, upstash } from "./fixtures";

const redis = upstash();
const created: string[] = [];
afterAll(async () => {
  for (const saleId of created) await admin(`/sales/${saleId}/cancel`, { body: {} }).catch(() => undefined);
});

describe("a sharded queue on the local stack", () => {
  it("spreads entrants over shards, numbers them once in arrival order, admits them, and tells them sold_out", async () => {
    const start = Date.now() + 4_000;
    const sale = await admin("/sales", {
      body: {
        name: "queue sharding",
        start_time: new Date(start).toISOString(),
        end_time: new Date(start + 600_000).toISOString(),
        admission_rate_per_second: 50,
        expected_shoppers: 60_000,
        items: [{ sku_id: "Q-SHARD", name: "phone", flash_price: "1.00", original_price: "2.00", total_stock: 100 }],
      },
    });
    expect(sale.status).toBe(201);
    const saleId: string = sale.body.sale_id;
    created.push(saleId);
    expect((await admin(`/sales/${saleId}/prewarm`, { body: {} })).status).toBe(200);

    // One after another, so arrival order is known and the global order can be checked as order.
    const entered = [];
    for (let i = 0; i < 30; i++) {
      entered.push(
        await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
          token: await shopperToken(`sharded-${i}`),
          body: { captcha_token: "dev", device_fingerprint: `fp-sharded-${i}` },
          headers: { "cf-connecting-ip": `192.0.2.${i + 1}` },
        }),
      );
    }
    expect(entered.map((r) => r.status)).toEqual(entered.map(() => 200));
    const tokens: string[] = entered.map((r) => r.body.queue_token);
    expect(new Set(tokens.map((t) => t.split(".")[0])).size).toBeGreaterThan(1);

    const views = await Promise.all(
      tokens.map((t) =>
        until(
          () => api(`/api/v1/flash-sale/${saleId}/queue/${t}`),
          (r) => r.body.queue_position !== null,
        ),
      ),
    );
    // The i-th to arrive holds place i, whichever shard took them.
    expect(views.map((v) => v.body.queue_position)).toEqual(tokens.map((_, i) => i + 1));

    const admitted = await until(
      () => api(`/api/v1/flash-sale/${saleId}/queue/${tokens[0]}`),
      (r) => r.body.state === "admitted",
      10_000,
    );
    expect(admitted.body.admission_token).toMatch(/^ey/);

    await redis.set(keys.stock(saleId, "Q-SHARD"), "0");
    const t0 = Date.now();
    const soldOut = await Promise.all(
      tokens.map((t) =>
        until(
          () => api(`/api/v1/flash-sale/${saleId}/queue/${t}`),
          (r) => r.body.state === "sold_out",
          3_000,
        ),
      ),
    );
    expect(soldOut.every((r) => r.body.state === "sold_out")).toBe(true);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });
});
