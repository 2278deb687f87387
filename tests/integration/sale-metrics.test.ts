/**
 * A sale's metrics as a scripted sale runs through the real stack: each request counted
 * by route and outcome (429 and 503 included, the 503s counted even though Redis was
 * down when they happened), decisions and their latency, units per second, the queue,
 * the SLOs, and the request id from the edge to the order's Postgres row.
 */
import { describe, expect, it } from "vitest";
import type { SaleMetrics } from "../../workers/metrics/report";
import {
  admin,
  admissionToken,
  api,
  buy,
  createActiveSale,
  createSale,
  cutOff,
  inParallel,
  neonPool,
  shopperToken,
  uniq,
  until,
  upstash,
} from "./fixtures";

const PURCHASE = "POST /flash-sale/:saleId/purchase";
const ENTER = "POST /flash-sale/:saleId/enter-queue";

const metricsOf = async (saleId: string, seconds = 60) =>
  (await admin(`/sales/${saleId}/metrics?seconds=${seconds}`)).body as SaleMetrics;

const requests = (m: SaleMetrics, route: string, status: number) =>
  (m.requests ?? []).filter((r) => r.route === route && r.status === status).reduce((n, r) => n + r.count, 0);

const seriesSum = (m: SaleMetrics, field: "reserved_units" | "purchase_decisions" | "shed" | "rate_limited") =>
  m.series.reduce((n, p) => n + p[field], 0);

describe("a sale's metrics", () => {
  it("move as a scripted sale runs: requests by route and outcome, decisions, units, latency, queue and SLOs", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 30 }] });
    const before = await metricsOf(saleId);
    expect(before.requests).toEqual([]);
    expect(before.series).toHaveLength(60);
    expect(seriesSum(before, "reserved_units")).toBe(0);
    expect(before.slo.map((s) => [s.name, s.sli, s.met])).toEqual([
      ["availability", null, true],
      ["purchase_decision_latency", null, true],
      ["server_errors", null, true],
    ]);

    // Five shoppers enter the queue; one of them until the door's per-shopper limit (10 per
    // 10 s) refuses them. Eleven at once, so they share the limiter's window; again if a
    // window boundary split them, so the test does not depend on where the clock falls.
    const enter = async (sub: string, address: string) =>
      api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
        token: await shopperToken(sub),
        body: { captcha_token: "local", device_fingerprint: uniq("fp") },
        headers: { "cf-connecting-ip": address },
      });
    let entered = 0;
    let limited = 0;
    for (let i = 0; i < 4; i++) if ((await enter(uniq("metric-queue"), `10.66.0.${i}`)).status === 200) entered++;
    const eager = uniq("eager");
    for (let burst = 0; burst < 3 && limited === 0; burst++) {
      const answers = await Promise.all(Array.from({ length: 11 }, (_, j) => enter(eager, `10.66.${burst + 1}.${j}`)));
      entered += answers.filter((a) => a.status === 200).length;
      limited += answers.filter((a) => a.status === 429).length;
    }
    expect(limited).toBeGreaterThan(0);
    // Forty buyers for thirty phones, one with its own request id; one malformed, one without a token.
    const traced = `trace-${uniq("buy")}`;
    const tracedKey = crypto.randomUUID();
    const tracedToken = await admissionToken(saleId, "metric-0", "metric-dev-0");
    const answers = await inParallel(
      Array.from({ length: 40 }, (_, i) => async () => {
        if (i === 0)
          return api(`/api/v1/flash-sale/${saleId}/purchase`, {
            token: tracedToken,
            body: { sku_id: "PHONE", quantity: 1 },
            headers: { "idempotency-key": tracedKey, "x-request-id": traced },
          });
        return buy(saleId, await admissionToken(saleId, `metric-${i}`, `metric-dev-${i}`), {
          sku_id: "PHONE",
          quantity: 1,
        });
      }),
      8,
    );
    expect(answers.filter((a) => a.body.status === "reserved")).toHaveLength(30);
    expect(answers[0]!.headers.get("x-request-id")).toBe(traced);
    // The first buyer's page retries after a lost answer: the same reservation, a decision
    // answered again, and not one more unit sold in the figures.
    const retried = await api(`/api/v1/flash-sale/${saleId}/purchase`, {
      token: tracedToken,
      body: { sku_id: "PHONE", quantity: 1 },
      headers: { "idempotency-key": tracedKey },
    });
    expect(retried.body).toMatchObject({ status: "reserved", order_id: answers[0]!.body.order_id });
    const malformed = await buy(saleId, await admissionToken(saleId, "metric-odd", "metric-dev-odd"), {
      sku_id: "PHONE",
      quantity: 0,
    });
    expect(malformed.status).toBe(422);
    expect((await api(`/api/v1/flash-sale/${saleId}/purchase`, { body: {} })).status).toBe(401);

    // Redis goes away: a purchase is shed with 503, and the isolate cannot write its counts yet.
    await cutOff("redis", true);
    let shed: Awaited<ReturnType<typeof buy>>;
    try {
      shed = await buy(saleId, await admissionToken(saleId, "metric-shed", "metric-dev-shed"), {
        sku_id: "PHONE",
        quantity: 1,
      });
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      await cutOff("redis", false);
    }
    expect(shed.status).toBe(503);
    // Redis is back; once the breaker lets requests through again, the next flush carries
    // what the isolate kept through the outage (the metrics reads themselves carry it).

    const m = await until(
      () => metricsOf(saleId),
      // Until the breaker closes again the metrics answer is a 503 itself: keep reading.
      (v) =>
        v.purchase_latency?.samples === 41 &&
        requests(v, PURCHASE, 503) === 1 &&
        v.outbox_backlog === 0 &&
        seriesSum(v, "purchase_decisions") === 41 &&
        seriesSum(v, "shed") === 1,
      10_000,
    );
    expect(requests(m, PURCHASE, 200)).toBe(41);
    expect(m.requests).toContainEqual({ route: PURCHASE, status: 422, error: "invalid_quantity", count: 1 });
    expect(m.requests).toContainEqual({ route: PURCHASE, status: 401, error: "unauthorized", count: 1 });
    expect(m.requests).toContainEqual({ route: PURCHASE, status: 503, error: "dependency_unavailable", count: 1 });
    expect(m.requests).toContainEqual({ route: ENTER, status: 429, error: "rate_limited", count: limited });
    expect(requests(m, ENTER, 200)).toBe(entered);
    expect(m.decisions).toMatchObject({ reserved: 31, sold_out: 10 });
    expect(m).toMatchObject({
      status: "sold_out",
      counters: { reserved: 30, paid: 0, expired: 0, cancelled: 0, remaining: 0, queued: 5 },
      items: [{ sku_id: "PHONE", total_stock: 30, loaded: 30, remaining: 0 }],
      queue: { length: 5, admission_paused_at: null },
      bot_signals: { shared_device_ids: 0, lookalike_batches: 0 },
      purchase_latency: { samples: 41 },
      queue_latency: { samples: entered },
    });
    expect(m.purchase_latency.p50_ms).toBeGreaterThan(0);
    expect(m.purchase_latency.p99_ms).toBeGreaterThanOrEqual(m.purchase_latency.p50_ms!);
    // The per-second series adds up to the same sale.
    expect(seriesSum(m, "reserved_units")).toBe(30);
    expect(seriesSum(m, "purchase_decisions")).toBe(41);
    expect(seriesSum(m, "shed")).toBe(1);
    expect(seriesSum(m, "rate_limited")).toBe(1);
    // One 503 in some sixty shopper requests spends the 0.05 % availability budget many times over; no 500 happened.
    const slo = Object.fromEntries(m.slo.map((s) => [s.name, s]));
    const total = m.requests.reduce((n, r) => n + r.count, 0);
    expect(total).toBe(59);
    expect(slo.availability).toMatchObject({ total, good: total - 1, met: false });
    expect(slo.availability!.budget_used).toBeGreaterThan(1);
    expect(slo.server_errors).toMatchObject({ total, good: total, met: true, budget_used: 0 });
    expect(slo.purchase_decision_latency!.total).toBe(41);

    // The id the buyer's request carried is on its order's row in Postgres.
    const pool = neonPool(1);
    try {
      const { rows } = await pool.query("select request_id from flash_sale_orders where order_id = $1", [
        answers[0]!.body.order_id,
      ]);
      expect(rows).toEqual([{ request_id: traced }]);
    } finally {
      await pool.end();
    }

    expect((await admin(`/sales/${crypto.randomUUID()}/metrics`)).status).toBe(404);
    expect((await admin(`/sales/${saleId}/metrics`, { token: "wrong" })).status).toBe(401);
  }, 60_000);

  it("samples the queue each time they are read, so the admission rate shows", async () => {
    // The crowd is in line before the start, so the queue admits at its rate, not as they arrive.
    const { saleId, startMs } = await createSale({
      items: [{ sku_id: "PHONE", total_stock: 500 }],
      admissionRatePerSecond: 4,
      startInMs: 12_000,
    });
    for (let i = 0; i < 30; i++)
      await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
        token: await shopperToken(uniq("rate-sample")),
        body: { captcha_token: "local", device_fingerprint: uniq("fp") },
        headers: { "cf-connecting-ip": `10.67.0.${i}` },
      });
    expect(Date.now(), "the sale opened before its crowd was in line").toBeLessThan(startMs);
    await new Promise((r) => setTimeout(r, startMs - Date.now() + 500));
    const m = await until(
      async () => {
        await new Promise((r) => setTimeout(r, 1_000));
        return metricsOf(saleId, 10);
      },
      (v) => v.series.filter((p) => (p.admitted_per_second ?? 0) > 0).length >= 2,
      15_000,
    );
    expect(m.queue.length).toBe(30);
    expect(m.queue.admission_rate_per_second).toBe(4);
    // About four a second, by the queue's own watermark between reads.
    expect(m.queue.admitted_per_second).toBeGreaterThan(0);
    expect(m.queue.admitted_per_second).toBeLessThanOrEqual(12);
  }, 60_000);

  it("keep nothing in Redis for a sale id no sale has, however often a path names it", async () => {
    const madeUp = crypto.randomUUID();
    for (let i = 0; i < 3; i++) expect((await api(`/api/v1/flash-sale/${madeUp}/status`)).status).toBe(404);
    // A real sale's request counted after them goes out in the same flush or a later one.
    const { saleId } = await createSale({ items: [{ sku_id: "PHONE", total_stock: 1 }], startInMs: 60_000 });
    expect((await api(`/api/v1/flash-sale/${saleId}/status`)).status).toBe(200);
    await until(
      () => metricsOf(saleId),
      (m) => m.requests.length > 0,
      10_000,
    );
    expect(await upstash().keys(`fs:{${madeUp}}:*`)).toEqual([]);
  });
});
