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

  it("pauses admission without losing the rate, admits nobody while paused, and resumes at the rate", async () => {
    const { saleId, startMs } = await createSale({
      items: [{ sku_id: "PHONE", total_stock: 100 }],
      startInMs: 2_000,
      admissionRatePerSecond: 5,
    });
    for (let i = 0; i < 40; i++)
      await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
        token: await shopperToken(`pause-${i}`),
        body: { captcha_token: "local", device_fingerprint: `pause-device-${i}` },
        headers: { "cf-connecting-ip": `10.8.0.${i}` },
      });
    const admitted = async () => (await admin(`/sales/${saleId}`)).body.figures.admitted as number;
    await new Promise((r) => setTimeout(r, Math.max(0, startMs - Date.now()) + 1_000));
    await until(admitted, (n) => n >= 3, 5_000);

    const paused = await admin(`/sales/${saleId}`, { method: "PATCH", body: { admission_paused: true } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ admission_rate_per_second: 5, queue_notified: true });
    expect(Date.parse(paused.body.admission_paused_at)).toBeGreaterThan(startMs);
    // The queue hears of it on its next tick (a quarter second); from then nobody is admitted.
    await new Promise((r) => setTimeout(r, 500));
    const held = await admitted();
    await new Promise((r) => setTimeout(r, 2_000));
    expect(await admitted()).toBe(held);
    // Pausing again keeps the moment it was first paused.
    const again = await admin(`/sales/${saleId}`, { method: "PATCH", body: { admission_paused: true } });
    expect(again.body.admission_paused_at).toBe(paused.body.admission_paused_at);

    const resumed = await admin(`/sales/${saleId}`, { method: "PATCH", body: { admission_paused: false } });
    expect(resumed.body).toMatchObject({ admission_paused_at: null, admission_rate_per_second: 5 });
    // No credit was saved up while paused: it resumes at about the rate, not in a burst.
    const after = await until(admitted, (n) => n >= held + 5, 5_000);
    expect(after).toBeLessThanOrEqual(held + 10);

    expect((await admin(`/sales/${saleId}`, { method: "PATCH", body: {} })).status).toBe(422);
    expect((await admin(`/sales/${saleId}`, { method: "PATCH", body: { admission_paused: "yes" } })).status).toBe(400);
  }, 60_000);
});
