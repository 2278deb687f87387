/**
 * `GET /api/v1/admin/sales/{id}/metrics`: everything the admin watches a sale by, in
 * one answer. Counters and stock from Redis, orders from Postgres, the queue's own
 * figures, and the per-second series the isolates flush (workers/metrics/batch.ts),
 * with the SLOs computed from them. Its type is what the CLI and the dashboard read.
 */
import type { Database } from "../clients/db";
import { hashFromReply, type Redis } from "../clients/redis";
import { DEFAULTS } from "../config";
import { keys } from "../keys";
import { readDeadLetters } from "../orders/dead-letter";
import { readEntrySignals } from "../queue/signals";
import { liveFigures } from "../sales/figures";
import { readSnapshot } from "../sales/snapshot";
import type { SaleRecord } from "../sales/store";
import { saleJson } from "../sales/view";
import { type BucketFigures, mergeBuckets, parseBucket, QUEUE_ADMITTED, QUEUE_LENGTH } from "./fields";
import { type LatencySummary, summarize } from "./latency";
import { computeSlos } from "./slo";

/** One second of the sale, as the dashboard charts it. */
export type SecondFigures = {
  /** The second's start, unix seconds. */
  t: number;
  requests: number;
  /** 4xx other than 429: shoppers' own mistakes and refusals (expired tokens, bad bodies). */
  client_errors: number;
  /** 429: refused for being over a rate limit. */
  rate_limited: number;
  /** 503: shed because a dependency was down or slow (fail closed, with Retry-After). */
  shed: number;
  /** 5xx other than 503: failures of the system itself. */
  server_errors: number;
  purchase_decisions: number;
  reserved_units: number;
  purchase_p50_ms: number | null;
  purchase_p99_ms: number | null;
  queue_p50_ms: number | null;
  queue_p99_ms: number | null;
  /** The queue's length and admission watermark, sampled when the metrics were read in that second (null: nobody looked). */
  queue_length: number | null;
  admitted_through: number | null;
  /** Admissions per second since the previous sample; null without two samples. */
  admitted_per_second: number | null;
};

function secondOf(t: number, figures: BucketFigures): Omit<SecondFigures, "admitted_per_second"> {
  const sum = (keep: (status: number) => boolean) =>
    figures.requests.filter((r) => keep(r.status)).reduce((n, r) => n + r.count, 0);
  const purchase = summarize(figures.latency.purchase);
  const queue = summarize(figures.latency.queue);
  return {
    t,
    requests: sum(() => true),
    client_errors: sum((s) => s >= 400 && s < 500 && s !== 429),
    rate_limited: sum((s) => s === 429),
    shed: sum((s) => s === 503),
    server_errors: sum((s) => s >= 500 && s !== 503),
    purchase_decisions: Object.values(figures.decisions).reduce((a, b) => a + b, 0),
    reserved_units: figures.reservedUnits,
    purchase_p50_ms: purchase.p50_ms,
    purchase_p99_ms: purchase.p99_ms,
    queue_p50_ms: queue.p50_ms,
    queue_p99_ms: queue.p99_ms,
    queue_length: figures.queue.length,
    admitted_through: figures.queue.admitted,
  };
}

/** Fills in admissions per second from consecutive queue samples. */
export function withAdmissionRates(points: Omit<SecondFigures, "admitted_per_second">[]): SecondFigures[] {
  let last: { t: number; admitted: number } | null = null;
  return points.map((p) => {
    let rate: number | null = null;
    if (p.admitted_through !== null) {
      if (last) rate = Math.max(0, p.admitted_through - last.admitted) / (p.t - last.t);
      last = { t: p.t, admitted: p.admitted_through };
    }
    return { ...p, admitted_per_second: rate };
  });
}

async function readBuckets(redis: Redis, bucketKeys: string[]): Promise<BucketFigures[]> {
  if (bucketKeys.length === 0) return [];
  const pipe = redis.pipeline();
  for (const key of bucketKeys) pipe.hgetall(key);
  const replies = await pipe.exec();
  return replies.map((reply) => parseBucket(hashFromReply(reply)));
}

/** Whole seconds of series an admin may ask for: 1 to the maximum, the default when unsaid or unreadable. */
export function seriesSeconds(asked: string | undefined): number {
  const n = Number(asked);
  if (asked === undefined || !Number.isInteger(n) || n < 1) return DEFAULTS.metrics.seriesSeconds;
  return Math.min(n, DEFAULTS.metrics.maxSeriesSeconds);
}

export async function saleMetrics(
  env: Env,
  deps: { redis: Redis; db: Database },
  record: SaleRecord,
  options: { nowMs: number; seconds: number },
) {
  const { redis } = deps;
  const saleId = record.sale.saleId;
  const nowSecond = Math.floor(options.nowMs / 1000);
  const nowMinute = Math.floor(nowSecond / 60);
  // The series ends a little in the past: isolates flush a second's counts up to a second
  // after it, so the newest seconds would chart as dips that later fill in.
  const lastSecond = nowSecond - DEFAULTS.metrics.seriesLagSeconds;
  const seconds = Array.from({ length: options.seconds }, (_, i) => lastSecond - options.seconds + 1 + i);
  const minutes = Array.from({ length: DEFAULTS.metrics.burnWindowMinutes }, (_, i) => nowMinute - i);
  const snapshot = await readSnapshot(redis, saleId);
  const [figures, outboxBacklog, deadLetter, botSignals, [total], series, recent] = await Promise.all([
    liveFigures(env, deps, saleId, snapshot),
    redis.llen(keys.outbox(saleId)),
    readDeadLetters(redis, saleId),
    readEntrySignals(redis, saleId),
    readBuckets(redis, [keys.metricsTotal(saleId)]),
    readBuckets(
      redis,
      seconds.map((s) => keys.metricsSecond(saleId, s)),
    ),
    readBuckets(
      redis,
      minutes.map((m) => keys.metricsMinute(saleId, m)),
    ),
  ]);
  // The queue's figures exist only as it is now: sampled into this second, whoever reads
  // next sees how fast it moved. Admin reads only, never a shopper's path.
  const sample = keys.metricsSecond(saleId, nowSecond);
  await redis
    .pipeline()
    .hset(sample, { [QUEUE_LENGTH]: figures.queued, [QUEUE_ADMITTED]: figures.admitted })
    .expire(sample, DEFAULTS.metrics.secondsKeptFor)
    .exec();

  const sale = saleJson(record, snapshot, options.nowMs);
  const sum = total ?? parseBucket(null);
  const points = withAdmissionRates(seconds.map((t, i) => secondOf(t, series[i] ?? parseBucket(null))));
  const lastRate = points.findLast((p) => p.admitted_per_second !== null)?.admitted_per_second ?? null;
  const latency = (summary: LatencySummary, measures: string) => ({ ...summary, measures });
  return {
    sale_id: saleId,
    status: sale.status,
    generated_at: new Date(options.nowMs).toISOString(),
    counters: figures,
    items: sale.items.map(({ sku_id, total_stock, loaded, remaining }) => ({ sku_id, total_stock, loaded, remaining })),
    queue: {
      length: figures.queued,
      admitted_through: figures.admitted,
      admission_rate_per_second: record.sale.admissionRatePerSecond,
      admission_paused_at: sale.admission_paused_at,
      /** Measured from the last samples (null until the metrics were read twice a second or more apart). */
      admitted_per_second: lastRate,
    },
    // Orders decided in Redis and not yet written to Postgres: should drain to 0 within seconds.
    outbox_backlog: outboxBacklog,
    // Events Postgres refused (their data, not an outage): those orders are NOT in Postgres.
    dead_letter: deadLetter,
    // Every bot signal counted for the sale, by name (counted, never refused): docs/queue.md "Devices".
    bot_signals: botSignals,
    purchase_latency: latency(
      summarize(sum.latency.purchase),
      "the purchase decision's Redis round trip, as the Worker saw it",
    ),
    queue_latency: latency(
      summarize(sum.latency.queue),
      "entering the queue: the queue object's answer, as the Worker saw it",
    ),
    /** Shopper requests since the sale was first served, by route, status and error code. */
    requests: [...sum.requests].sort((a, b) => b.count - a.count),
    decisions: sum.decisions,
    slo: computeSlos(sum, mergeBuckets(recent)),
    series: points,
  };
}

export type SaleMetrics = Awaited<ReturnType<typeof saleMetrics>>;
