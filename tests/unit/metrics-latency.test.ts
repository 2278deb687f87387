import { describe, expect, it } from "vitest";
import { bucketOf, sampleRate, shouldSample, summarize } from "../../workers/metrics/latency";

describe("sampled purchase latency", () => {
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

  it("samples at the configured rate and falls back to 5 % on nonsense", () => {
    expect(sampleRate({ PURCHASE_LATENCY_SAMPLE_RATE: "0.2" })).toBe(0.2);
    expect(sampleRate({ PURCHASE_LATENCY_SAMPLE_RATE: "lots" })).toBe(0.05);
    expect(sampleRate({ PURCHASE_LATENCY_SAMPLE_RATE: "2" })).toBe(0.05);
    expect(shouldSample(0.2, () => 0.19)).toBe(true);
    expect(shouldSample(0.2, () => 0.2)).toBe(false);
  });
});
