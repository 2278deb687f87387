import { describe, expect, it } from "vitest";
import { bucketOf, summarize } from "../../workers/metrics/latency";

describe("latency histograms", () => {
  it("files each latency under the smallest bucket that holds it", () => {
    expect(bucketOf(0.4)).toBe("le_1");
    expect(bucketOf(5)).toBe("le_5");
    expect(bucketOf(5.1)).toBe("le_10");
    expect(bucketOf(99_999)).toBe("le_inf");
  });

  it("reads percentiles as the upper bound of the bucket they fall in", () => {
    const s = summarize({ le_2: "50", le_10: "45", le_100: "4", le_1000: "1" });
    expect(s.samples).toBe(100);
    expect(s).toMatchObject({ p50_ms: 2, p95_ms: 10, p99_ms: 100 });
    expect(summarize(null)).toMatchObject({ samples: 0, p50_ms: null, p99_ms: null });
  });
});
