/**
 * A sale's metrics as one isolate counts them: in memory, then added to Redis by one
 * command per sale at most once a second (workers/metrics/flush.lua), after the answers
 * (waitUntil). Counting a request costs no Redis round trip, and the flush costs one
 * command per sale per isolate per second however many requests it holds, so the
 * purchase path stays one EVALSHA per decision.
 *
 * Each counter goes to three buckets: its second (for the dashboard's charts, kept for
 * minutes), its minute (for burn rates over the last minutes) and the sale's total (for
 * its SLOs). A flush that fails keeps its counters for the next one, so an outage's 503s
 * are counted once Redis is back, up to `maxPendingBuckets`. A flush the breaker refused
 * was never sent and its counters join the next flush; any other failure may be a reply
 * lost after Redis applied it, so that flush is sent again as it was, under its id, and
 * the script applies an id once: counted once, never twice, never lost.
 */

import type { Redis } from "../clients/redis";
import { DEFAULTS } from "../config";
import { CircuitOpenError } from "../errors";
import { keys } from "../keys";
import flushLua from "./flush.lua";

type Bucket = { ttlSeconds: number; fields: Map<string, number> };
/** sale id → bucket key → counters. */
type Pending = Map<string, Map<string, Bucket>>;

/** A flush that failed after it may have reached Redis: re-sent as it was, under its id and minute. */
type Unconfirmed = { saleId: string; id: string; minute: number; sale: Map<string, Bucket> };

let pending: Pending = new Map();
let unconfirmed: Unconfirmed[] = [];
let flushing = false;
/** When the oldest count still in memory was made (0: none). */
let oldestPendingMs = 0;

const retentionSeconds = DEFAULTS.redisRetentionDays * 86_400;

function add(sale: Map<string, Bucket>, key: string, ttlSeconds: number, counts: Record<string, number>): void {
  let bucket = sale.get(key);
  if (!bucket) {
    bucket = { ttlSeconds, fields: new Map() };
    sale.set(key, bucket);
  }
  for (const [field, n] of Object.entries(counts)) bucket.fields.set(field, (bucket.fields.get(field) ?? 0) + n);
}

function bucketCount(p: Pending): number {
  let n = unconfirmed.reduce((sum, u) => sum + u.sale.size, 0);
  for (const sale of p.values()) n += sale.size;
  return n;
}

/** Adds `counts` (field → amount) to the sale's second, minute and total at `nowMs`. */
export function count(saleId: string, counts: Record<string, number>, nowMs: number = Date.now()): void {
  if (pending.size === 0) oldestPendingMs = nowMs;
  let sale = pending.get(saleId);
  if (!sale) {
    // Made-up sale ids in paths must not grow the isolate's memory without bound either.
    if (pending.size >= DEFAULTS.metrics.maxPendingSales) return;
    sale = new Map();
    pending.set(saleId, sale);
  }
  const second = Math.floor(nowMs / 1000);
  add(sale, keys.metricsSecond(saleId, second), DEFAULTS.metrics.secondsKeptFor, counts);
  add(sale, keys.metricsMinute(saleId, Math.floor(second / 60)), retentionSeconds, counts);
  add(sale, keys.metricsTotal(saleId), retentionSeconds, counts);
}

/** The flush script's arguments for one flush of one sale: KEYS, its id, and per bucket its TTL, field count and pairs. */
export function flushArguments(flush: Unconfirmed): { keys: string[]; args: string[] } {
  const args = [flush.id, String(DEFAULTS.metrics.secondsKeptFor)];
  for (const bucket of flush.sale.values()) {
    args.push(String(bucket.ttlSeconds), String(bucket.fields.size));
    for (const [field, n] of bucket.fields) args.push(field, String(n));
  }
  return {
    keys: [keys.meta(flush.saleId), keys.metricsFlushes(flush.saleId, flush.minute), ...flush.sale.keys()],
    args,
  };
}

/** Puts counters that could not be written back in front of what arrived since, dropping the oldest seconds past the cap. */
function keepForLater(failed: Pending): void {
  for (const [saleId, buckets] of failed) {
    const sale = pending.get(saleId) ?? new Map<string, Bucket>();
    pending.set(saleId, sale);
    for (const [key, bucket] of buckets) add(sale, key, bucket.ttlSeconds, Object.fromEntries(bucket.fields));
  }
  while (bucketCount(pending) > DEFAULTS.metrics.maxPendingBuckets) {
    if (unconfirmed.length > 0) {
      unconfirmed.shift();
      continue;
    }
    const [saleId, sale] = pending.entries().next().value as [string, Map<string, Bucket>];
    const oldest = sale.keys().next().value as string;
    sale.delete(oldest);
    if (sale.size === 0) pending.delete(saleId);
  }
}

/** Writes everything counted so far: one command per sale, plus one per flush still unconfirmed. */
export async function flushMetrics(redis: Redis, nowMs: number = Date.now()): Promise<void> {
  const minute = Math.floor(nowMs / 60_000);
  const fresh = [...pending].map(([saleId, sale]) => ({ saleId, id: crypto.randomUUID(), minute, sale }));
  const flushes = [...unconfirmed, ...fresh];
  pending = new Map();
  unconfirmed = [];
  oldestPendingMs = 0;
  const notSent: Pending = new Map();
  const script = redis.createScript<number>(flushLua);
  await Promise.all(
    flushes.map(async (flush) => {
      const { keys: flushKeys, args } = flushArguments(flush);
      try {
        await script.exec(flushKeys, args);
      } catch (err) {
        // Only a flush never sent may be merged into the next one; a flush that may have been
        // applied keeps its id, or its counts could be added twice.
        const neverSent = err instanceof CircuitOpenError && fresh.includes(flush);
        if (neverSent) notSent.set(flush.saleId, flush.sale);
        else unconfirmed.push(flush);
        console.warn(
          JSON.stringify({
            level: "warn",
            msg: "metrics flush failed; kept for the next",
            sale_id: flush.saleId,
            error: err instanceof Error ? err.message : String(err),
          }),
        );
      }
    }),
  );
  if (notSent.size > 0 || unconfirmed.length > 0) {
    keepForLater(notSent);
    oldestPendingMs ||= nowMs;
  }
}

/**
 * Starts a flush, after the answer, once the oldest count waiting is a second old: at
 * most one per isolate at a time, and never a timer holding the request open (any later
 * request, a dashboard's poll included, carries the counts out).
 */
export function scheduleFlush(ctx: Pick<ExecutionContext, "waitUntil">, redis: () => Redis, nowMs = Date.now()): void {
  if (flushing || (pending.size === 0 && unconfirmed.length === 0)) return;
  if (nowMs - oldestPendingMs < DEFAULTS.metrics.flushEveryMs) return;
  flushing = true;
  ctx.waitUntil(
    flushMetrics(redis()).finally(() => {
      flushing = false;
    }),
  );
}
