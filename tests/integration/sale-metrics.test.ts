import { describe, expect, it } from "vitest";
import { admin, admissionToken, buy, createActiveSale, inParallel } from "./fixtures";

describe("a sale's metrics", () => {
  it("count what happened and how long purchase decisions took", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 30 }] });
    const answers = await inParallel(
      Array.from(
        { length: 40 },
        (_, i) => async () =>
          buy(saleId, await admissionToken(saleId, `metric-${i}`, `metric-dev-${i}`), { sku_id: "PHONE", quantity: 1 }),
      ),
      8,
    );
    expect(answers.filter((a) => a.body.status === "reserved")).toHaveLength(30);

    // Latency samples and the outbox are written after the answers; give them a moment.
    let metrics: any;
    for (let i = 0; i < 50; i++) {
      metrics = (await admin(`/sales/${saleId}/metrics`)).body;
      if (metrics.purchase_latency.samples === 40 && metrics.outbox_backlog === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(metrics).toMatchObject({
      sale_id: saleId,
      status: "sold_out",
      counters: { reserved: 30, paid: 0, expired: 0, cancelled: 0, remaining: 0 },
      items: [{ sku_id: "PHONE", total_stock: 30, loaded: 30, remaining: 0 }],
      outbox_backlog: 0,
      purchase_latency: { samples: 40, sample_rate: 1 },
    });
    expect(metrics.purchase_latency.p50_ms).toBeGreaterThan(0);
    expect(metrics.purchase_latency.p99_ms).toBeGreaterThanOrEqual(metrics.purchase_latency.p50_ms);
    expect((await admin(`/sales/${crypto.randomUUID()}/metrics`)).status).toBe(404);
    expect((await admin(`/sales/${saleId}/metrics`, { token: "wrong" })).status).toBe(401);
  });
});
