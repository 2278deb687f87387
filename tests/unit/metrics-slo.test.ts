import { describe, expect, it } from "vitest";
import { type BucketFigures, latencyField, parseBucket, requestField } from "../../workers/metrics/fields";
import { withAdmissionRates } from "../../workers/metrics/report";
import { computeSlos } from "../../workers/metrics/slo";

const PURCHASE = "POST /flash-sale/:saleId/purchase";

/** A bucket as Redis would hold it: `requests` as [status, error, count], purchase latencies in ms. */
function bucket(requests: Array<[number, string | null, number]>, latenciesMs: number[] = []): BucketFigures {
  const hash: Record<string, string> = {};
  for (const [status, error, n] of requests) hash[requestField(PURCHASE, status, error)] = String(n);
  for (const ms of latenciesMs) {
    const field = latencyField("purchase", ms);
    hash[field] = String(Number(hash[field] ?? 0) + 1);
  }
  return parseBucket(hash);
}

const byName = (slos: ReturnType<typeof computeSlos>) => Object.fromEntries(slos.map((s) => [s.name, s]));

describe("service level objectives", () => {
  it("hold while the sale answers and decides in time, with nothing of the budget spent", () => {
    const sale = bucket([[200, null, 10_000]], Array(100).fill(3));
    const slos = byName(computeSlos(sale, sale));
    expect(slos.availability).toMatchObject({
      target: 0.9995,
      good: 10_000,
      total: 10_000,
      sli: 1,
      budget_used: 0,
      met: true,
    });
    expect(slos.purchase_decision_latency).toMatchObject({ target: 0.99, sli: 1, met: true });
    expect(slos.server_errors).toMatchObject({ target: 0.999, met: true });
  });

  it("count a shed 503 against availability but not as a server error, and a 429 against neither", () => {
    const sale = bucket([
      [200, null, 9_990],
      [503, "dependency_unavailable", 10],
      [429, "rate_limited", 500],
    ]);
    const slos = byName(computeSlos(sale, bucket([])));
    expect(slos.availability!.total).toBe(10_500);
    expect(slos.availability!.good).toBe(10_490);
    // 10 bad of 10,500 where 0.05 % (5.25) were allowed: the budget is spent almost twice over.
    expect(slos.availability!.budget_used).toBeCloseTo(10 / (0.0005 * 10_500), 6);
    expect(slos.availability!.met).toBe(false);
    expect(slos.server_errors).toMatchObject({ good: 10_500, budget_used: 0, met: true });
    expect(slos.availability!.burn_rate).toBeNull();
  });

  it("count a 500 as a server error and burn its budget at the rate of the last minutes", () => {
    const recent = bucket([
      [200, null, 998],
      [500, "internal_error", 2],
    ]);
    const slos = byName(computeSlos(recent, recent));
    // 0.2 % failing where 0.1 % is allowed: twice the sustainable burn.
    expect(slos.server_errors!.burn_rate).toBeCloseTo(2, 6);
    expect(slos.server_errors!.met).toBe(false);
  });

  it("miss the latency objective when more than 1 % of decisions take over 100 ms", () => {
    const slow = bucket([], [...Array(98).fill(4), 150, 300]);
    const slos = byName(computeSlos(slow, slow));
    expect(slos.purchase_decision_latency).toMatchObject({ good: 98, total: 100, sli: 0.98, met: false });
    expect(slos.purchase_decision_latency!.budget_used).toBeCloseTo(2, 6);
    const exactly = bucket([], [...Array(99).fill(100), 101]);
    expect(byName(computeSlos(exactly, exactly)).purchase_decision_latency!.met).toBe(true);
  });

  it("say nothing was measured rather than claim a perfect score before any request", () => {
    const slos = computeSlos(bucket([]), bucket([]));
    for (const slo of slos) expect(slo).toMatchObject({ sli: null, budget_used: null, burn_rate: null, met: true });
  });
});

describe("the admission rate in the series", () => {
  it("is the watermark's rise between samples per second, and unknown without two samples", () => {
    const point = (t: number, admitted: number | null) =>
      ({ t, admitted_through: admitted }) as Parameters<typeof withAdmissionRates>[0][number];
    const rates = withAdmissionRates([point(10, 100), point(11, null), point(12, 300), point(13, 350)]).map(
      (p) => p.admitted_per_second,
    );
    expect(rates).toEqual([null, null, 100, 50]);
  });
});
