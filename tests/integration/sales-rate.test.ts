import { describe, expect, it } from "vitest";
import { admin, api, createSale, shopperToken, until } from "./fixtures";

describe("the admission rate, tuned live", () => {
  it("changes how fast a running sale's queue admits, and refuses anything but a sensible rate", async () => {
    const { saleId, startMs } = await createSale({
      items: [{ sku_id: "PHONE", total_stock: 100 }],
      startInMs: 2_000,
      admissionRatePerSecond: 1,
    });
    const places: string[] = [];
    for (let i = 0; i < 30; i++) {
      const res = await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
        token: await shopperToken(`rate-${i}`),
        body: { captcha_token: "local", device_fingerprint: `rate-device-${i}` },
        headers: { "cf-connecting-ip": `10.7.0.${i}` },
      });
      places.push(res.body.queue_token as string);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, startMs - Date.now()) + 1_500));
    const slow = (await admin(`/sales/${saleId}`)).body.figures.admitted;
    expect(slow).toBeLessThanOrEqual(4); // about one a second

    const faster = await admin(`/sales/${saleId}`, { method: "PATCH", body: { admission_rate_per_second: 1_000 } });
    expect(faster.status).toBe(200);
    expect(faster.body).toMatchObject({ admission_rate_per_second: 1_000, queue_notified: true });
    const last = await until(
      () => api(`/api/v1/flash-sale/${saleId}/queue/${places[29]}`),
      (r) => r.body.state === "admitted",
      5_000,
    );
    expect(last.body.state).toBe("admitted");

    for (const body of [{ admission_rate_per_second: 0 }, { admission_rate_per_second: 2.5 }]) {
      const res = await admin(`/sales/${saleId}`, { method: "PATCH", body });
      expect(res.status).toBe(422);
    }
    expect((await admin(`/sales/${saleId}`, { method: "PATCH", body: { name: "renamed" } })).status).toBe(400);
    expect((await admin(`/sales/${saleId}`, { method: "PATCH", body: "{" })).status).toBe(400);
    expect(
      (await admin(`/sales/${crypto.randomUUID()}`, { method: "PATCH", body: { admission_rate_per_second: 5 } }))
        .status,
    ).toBe(404);
    expect((await admin(`/sales/${saleId}`)).body.admission_rate_per_second).toBe(1_000);
  }, 60_000);
});
