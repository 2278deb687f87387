/**
 * A queue that never opens cold (docs/queue.md "Never opens cold"): a sale created moments
 * before its start, with nobody calling the pre-warm or the cron, sells as soon as it starts.
 * Before, its queue found no stock in Redis and held every shopper `waiting` until the next
 * cron minute loaded the sale.
 */
import { describe, expect, it } from "vitest";
import { admin, api, buy, inSeconds, saleBody, shopperToken, until } from "./fixtures";

describe("a sale created moments before its start", () => {
  it("is loaded at creation and sells within about 2 s of its start", async () => {
    const startMs = Date.parse(inSeconds(3));
    const created = await admin("/sales", {
      body: saleBody({
        start_time: new Date(startMs).toISOString(),
        end_time: inSeconds(600),
        items: [{ sku_id: "COLD-1", name: "Cold", flash_price: "5.00", original_price: "9.00", total_stock: 5 }],
      }),
    });
    expect(created.status).toBe(201);
    const saleId: string = created.body.sale_id;
    expect(created.body.prewarmed_at).not.toBeNull();

    const entered = await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
      token: await shopperToken("cold-start-shopper"),
      body: { captcha_token: "dev", device_fingerprint: "fp-cold" },
      headers: { "cf-connecting-ip": "10.9.0.1" },
    });
    expect(entered.status).toBe(200);
    const admitted = await until(
      () => api(`/api/v1/flash-sale/${saleId}/queue/${entered.body.queue_token}`),
      (r) => r.body.state === "admitted",
      15_000,
    );
    const bought = await buy(saleId, admitted.body.admission_token, { sku_id: "COLD-1", quantity: 1 });
    expect(bought.body.status).toBe("reserved");
    // ~2 s: one tick after the start, plus this loaded machine's round trips (the cron alone took up to 60 s).
    expect(Date.now() - startMs).toBeLessThan(4_000);
  });
});
