/**
 * Bot signals (docs/queue.md "Bot signals"): what looks automated is counted for the
 * sale's metrics and its shoppers flagged for the fraud report, never refused. A
 * fingerprint is a hash of a browser's traits, shared by every phone of the same model,
 * and a device id is whatever the client says: neither may refuse a place.
 *
 * Rules and where they run, none of them on the purchase's critical path:
 *   shared_device_ids     one device id behind 3+ accounts             door, after the answer (signals.lua)
 *   lookalike_batches     10+ look-alike phones within 60 s on accounts
 *                         created in the same 10 minutes               door, after the answer (signals.lua)
 *   fast_purchases        reserved < 200 ms after the turn came         inside the purchase script (purchase.lua)
 *   retry_storms_*        a limiter's refusals piling up for one key    on the refusal, once per key and period (storm.lua)
 */
import type { Redis } from "../clients/redis";
import { hashFromReply } from "../clients/redis";
import { DEFAULTS } from "../config";
import { keys } from "../keys";
import signalsLua from "./signals.lua";
import stormLua from "./storm.lua";

/** Every counter, zero until its rule first fires, plus how many shoppers any rule flagged. */
export const SIGNAL_COUNTERS = [
  "shared_device_ids",
  "lookalike_batches",
  "fast_purchases",
  "retry_storms_shopper",
  "retry_storms_device",
  "retry_storms_address",
] as const;
export type BotSignals = Record<(typeof SIGNAL_COUNTERS)[number] | "flagged_shoppers", number>;

export const SIGNAL_TTL_SECONDS = DEFAULTS.redisRetentionDays * 86_400;

export type Entry = {
  saleId: string;
  shopperId: string;
  deviceId: string | null;
  fingerprint: string;
  /** The session's `acct_created`, unix seconds. */
  accountCreated: number;
  nowMs: number;
};

/** signals.lua's KEYS and ARGV for one entry (exported for callers outside the Worker, such as the simulation). */
export function entrySignalsCall(entry: Entry): { keys: string[]; args: string[] } {
  const { saleId, deviceId } = entry;
  const batch = DEFAULTS.botSignals.lookalikeBatch;
  return {
    keys: [
      // Without an id the first key is never touched; it is named so KEYS stays fixed.
      keys.deviceAccounts(saleId, deviceId ?? "-"),
      keys.lookalikeBatch(saleId, entry.fingerprint, Math.floor(entry.accountCreated / batch.accountBucketSeconds)),
      keys.signals(saleId),
      keys.flagged(saleId),
    ],
    args: [
      entry.shopperId,
      String(entry.nowMs),
      String(batch.windowSeconds * 1000),
      String(batch.accounts),
      String(SIGNAL_TTL_SECONDS),
      deviceId ? "1" : "0",
      String(DEFAULTS.botSignals.deviceAccounts),
    ],
  };
}

/** When a refused signals call may be tried again; every field but `before` is for tests. */
export type SignalRetry = {
  /** Retries must be made before this time (ms): the sale's start, or null for none at all. */
  before: number | null;
  wait?: (ms: number) => Promise<void>;
  random?: () => number;
  now?: () => number;
};

/**
 * One Redis command per entry, run after the answer (ctx.waitUntil): the door never waits
 * on it. A refused or failed call is tried again (DEFAULTS.botSignals.entryRetryDelaysMs)
 * only while the sale has not started: the pre-queue's opening crowd fills Redis for a few
 * seconds, and a signal lost then is a bot the slow lane, which sorts at the start, cannot
 * send back. From the start on, retries would take the capacity the crowd's purchases
 * need (the simulation measured it: naive retries at a million shoppers stalled the sale
 * for three minutes, docs/queue.md), and a flag then serves only the fraud review.
 * Safe to repeat: signals.lua adds set members idempotently and counts only newly flagged
 * accounts, and the retry keeps the entry's own time.
 */
export async function recordEntrySignals(
  redis: Redis,
  entry: Entry,
  retry: SignalRetry = { before: null },
): Promise<void> {
  const call = entrySignalsCall(entry);
  const script = redis.createScript<[number, number]>(signalsLua);
  const delays = DEFAULTS.botSignals.entryRetryDelaysMs;
  const wait = retry.wait ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = retry.random ?? Math.random;
  const now = retry.now ?? Date.now;
  for (let attempt = 0; ; attempt++) {
    try {
      await script.exec(call.keys, call.args);
      return;
    } catch (err) {
      const base = delays[attempt];
      if (base === undefined || retry.before === null) throw err;
      const delay = base * (1 + random() / 2);
      if (now() + delay >= retry.before) throw err;
      await wait(delay);
    }
  }
}

export type StormKind = keyof typeof DEFAULTS.botSignals.retryStorm;

export async function recordStorm(
  redis: Redis,
  saleId: string,
  storm: { kind: StormKind; value: string; shopperId: string | null },
): Promise<number> {
  return redis
    .createScript<number>(stormLua)
    .exec(
      [keys.signals(saleId), keys.flagged(saleId), keys.storms(saleId)],
      [storm.kind, storm.value, storm.shopperId ?? "", String(SIGNAL_TTL_SECONDS)],
    );
}

/** The sale's counters for the metrics (`bot_signals`), every rule present even at zero. */
export async function readEntrySignals(redis: Redis, saleId: string): Promise<BotSignals> {
  const [raw, flagged] = await Promise.all([redis.hgetall(keys.signals(saleId)), redis.hlen(keys.flagged(saleId))]);
  const hash = hashFromReply(raw) ?? {};
  const counters = Object.fromEntries(SIGNAL_COUNTERS.map((name) => [name, Number(hash[name] ?? 0)]));
  return { ...counters, flagged_shoppers: Number(flagged) } as BotSignals;
}

/** Shopper -> the rules that flagged them, for the fraud report. */
export async function readFlaggedShoppers(redis: Redis, saleId: string): Promise<Map<string, string[]>> {
  const hash = hashFromReply(await redis.hgetall(keys.flagged(saleId))) ?? {};
  return new Map(Object.entries(hash).map(([shopper, rules]) => [shopper, String(rules).split(",")]));
}
