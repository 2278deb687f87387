import { describe, expect, expectTypeOf, it } from "vitest";
import {
  chartData,
  type DashboardMetrics,
  type DashboardSecond,
  emptyHistory,
  remember,
  sloText,
} from "../../static-site/src/admin/model";
import type { SaleMetrics } from "../../workers/metrics/report";

const second = (t: number, over: Partial<DashboardSecond> = {}): DashboardSecond => ({
  t,
  requests: 0,
  client_errors: 0,
  rate_limited: 0,
  shed: 0,
  server_errors: 0,
  reserved_units: 0,
  purchase_p50_ms: null,
  purchase_p99_ms: null,
  queue_length: null,
  admitted_per_second: null,
  ...over,
});

const answer = (nowS: number, series: DashboardSecond[], remaining: number): DashboardMetrics =>
  ({
    generated_at: new Date(nowS * 1000).toISOString(),
    items: [{ sku_id: "PHONE", total_stock: 100, remaining }],
    series,
  }) as DashboardMetrics;

describe("the dashboard's history", () => {
  it("reads the worker's own metrics answer", () => {
    expectTypeOf<SaleMetrics>().toExtend<DashboardMetrics>();
  });

  it("takes a second read again as its newer figure, keeps a queue sample the new read lacks, and forgets old seconds", () => {
    const history = emptyHistory();
    remember(history, answer(100, [second(99, { reserved_units: 2, queue_length: 40 })], 90), 60);
    // A late flush added to second 99: its figure grows; the queue was sampled only the first time.
    remember(history, answer(101, [second(99, { reserved_units: 5 }), second(100, { reserved_units: 1 })], 85), 60);
    const data = chartData(history, ["PHONE"]);
    expect(data.sales).toEqual([
      [99, 100],
      [5, 1],
    ]);
    expect(data.queue).toEqual([
      [99, 100],
      [40, null],
    ]);
    expect(data.stock).toEqual([
      [100, 101],
      [90, 85],
    ]);
    remember(history, answer(200, [second(199)], 10), 60);
    expect(chartData(history, ["PHONE"]).sales[0]).toEqual([199]);
  });

  it("tells an SLO with no traffic from one that holds or is missed", () => {
    const base = { name: "availability", objective: "", target: 0.9995, burn_rate: null };
    expect(sloText({ ...base, sli: null, budget_used: null, met: true }).state).toBe("idle");
    expect(sloText({ ...base, sli: 1, budget_used: 0, met: true })).toMatchObject({
      state: "ok",
      now: "100.000% (target 99.95%)",
    });
    expect(sloText({ ...base, sli: 0.99, budget_used: 20, burn_rate: 20, met: false })).toMatchObject({
      state: "missed",
      budget: "2000% of the error budget used",
      burn: "burning 20.0× the sustainable rate",
    });
  });
});
