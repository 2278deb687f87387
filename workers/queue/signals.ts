/**
 * Device signals at the queue's door. A fingerprint is a hash of a browser's traits,
 * shared by every phone of the same model and settings, and a device id is whatever the
 * client says: neither may refuse a place. They are counted instead, for the sale's
 * metrics: one id entering for several accounts, and one fingerprint arriving from a
 * crowd of accounts within a minute.
 */
import type { Redis } from "../clients/redis";
import { hashFromReply } from "../clients/redis";
import { DEFAULTS } from "../config";
import { keys } from "../keys";
import signalsLua from "./signals.lua";

export type EntrySignals = { shared_device_ids: number; crowded_fingerprints: number };

type Entry = { saleId: string; shopperId: string; deviceId: string | null; fingerprint: string; nowMs: number };

/** signals.lua's KEYS and ARGV for one entry (exported for callers outside the Worker, such as the simulation). */
export function entrySignalsCall(entry: Entry): { keys: string[]; args: string[] } {
  const { saleId, deviceId } = entry;
  return {
    keys: [
      // Without an id the first key is never touched; it is named so KEYS stays fixed.
      keys.deviceAccounts(saleId, deviceId ?? "-"),
      keys.fingerprintCrowd(saleId, entry.fingerprint),
      keys.signals(saleId),
    ],
    args: [
      entry.shopperId,
      String(entry.nowMs),
      String(DEFAULTS.fingerprintCrowd.windowSeconds * 1000),
      String(DEFAULTS.fingerprintCrowd.accounts),
      String(DEFAULTS.redisRetentionDays * 86_400),
      deviceId ? "1" : "0",
    ],
  };
}

/** One Redis command per entry, run after the answer (ctx.waitUntil): the door never waits on it. */
export async function recordEntrySignals(redis: Redis, entry: Entry): Promise<void> {
  const call = entrySignalsCall(entry);
  await redis.createScript<[number, number]>(signalsLua).exec(call.keys, call.args);
}

export async function readEntrySignals(redis: Redis, saleId: string): Promise<EntrySignals> {
  const hash = hashFromReply(await redis.hgetall(keys.signals(saleId)));
  return {
    shared_device_ids: Number(hash?.shared_device_id ?? 0),
    crowded_fingerprints: Number(hash?.crowded_fingerprint ?? 0),
  };
}
