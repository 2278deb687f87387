/**
 * Latency histograms: fixed buckets (upper bounds in ms), so histograms from many
 * isolates and seconds add up by plain addition, and percentiles are read back as the
 * upper bound of the bucket they fall in. Every purchase decision and queue entry is
 * counted (workers/metrics/batch.ts keeps the cost off the request path), not a sample.
 */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500] as const;

export function bucketOf(ms: number): string {
  for (const bound of LATENCY_BUCKETS_MS) if (ms <= bound) return `le_${bound}`;
  return "le_inf";
}

export type LatencySummary = {
  samples: number;
  /** Upper bounds of the buckets holding each percentile, in ms (null: no samples, or beyond the last bucket). */
  p50_ms: number | null;
  p95_ms: number | null;
  p99_ms: number | null;
  buckets: Record<string, number>;
};

/** Percentiles from the histogram: each is the upper bound of the bucket it falls in. */
export function summarize(histogram: Record<string, string | number> | null): LatencySummary {
  const buckets: Record<string, number> = {};
  const ordered = [...LATENCY_BUCKETS_MS.map((b) => `le_${b}`), "le_inf"];
  for (const name of ordered) buckets[name] = Number(histogram?.[name] ?? 0);
  const samples = Object.values(buckets).reduce((a, b) => a + b, 0);
  const percentile = (q: number): number | null => {
    if (samples === 0) return null;
    let seen = 0;
    for (const [i, name] of ordered.entries()) {
      seen += buckets[name]!;
      if (seen >= q * samples) return LATENCY_BUCKETS_MS[i] ?? null;
    }
    return null;
  };
  return { samples, p50_ms: percentile(0.5), p95_ms: percentile(0.95), p99_ms: percentile(0.99), buckets };
}
