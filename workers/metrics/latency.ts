import type { Redis } from "@upstash/redis";
import { hashFromReply } from "../clients/redis";
import { DEFAULTS } from "../config";
import { keys } from "../keys";

/**
 * Purchase latency, sampled. Each sampled purchase adds one HINCRBY to a per-sale
 * histogram after the answer is sent: off the shopper's path, and only for a fraction
 * of requests, so the hot path stays one Redis command per decision and the command
 * budget grows by the sample rate (5 % by default), not by 100 %.
 */
export const LATENCY_BUCKETS_MS = [1, 2, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500] as const;

export function bucketOf(ms: number): string {
  for (const bound of LATENCY_BUCKETS_MS) if (ms <= bound) return `le_${bound}`;
  return "le_inf";
}

/** The configured sample rate (`PURCHASE_LATENCY_SAMPLE_RATE`, 0 to 1), or the default. */
export function sampleRate(env: Pick<Env, "PURCHASE_LATENCY_SAMPLE_RATE">): number {
  const rate = Number(env.PURCHASE_LATENCY_SAMPLE_RATE);
  return Number.isFinite(rate) && rate >= 0 && rate <= 1 ? rate : DEFAULTS.latencySampleRate;
}

export function shouldSample(rate: number = DEFAULTS.latencySampleRate, random: () => number = Math.random): boolean {
  return random() < rate;
}

export async function recordPurchaseLatency(redis: Redis, saleId: string, ms: number): Promise<void> {
  await redis.hincrby(keys.latency(saleId), bucketOf(ms), 1);
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
export function summarize(histogram: Record<string, string> | null): LatencySummary {
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

export async function readLatency(redis: Redis, saleId: string): Promise<LatencySummary> {
  return summarize(hashFromReply(await redis.hgetall(keys.latency(saleId))));
}
