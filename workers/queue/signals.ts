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

/**
 * Every bot signal counted for the sale, by name. The two door signals are always there;
 * any other counter in the sale's signals hash appears under its own field name, so a
 * new signal reaches the metrics and the dashboard without this reader changing.
 */
export type EntrySignals = { shared_device_ids: number; crowded_fingerprints: number } & Record<string, number>;

/** Hash fields whose answer names predate the convention above (plural, as docs/queue.md has them). */
const RENAMED: Record<string, string> = {
  shared_device_id: "shared_device_ids",
  crowded_fingerprint: "crowded_fingerprints",
};

/** One Redis command per entry, run after the answer (ctx.waitUntil): the door never waits on it. */
export async function recordEntrySignals(
  redis: Redis,
  entry: { saleId: string; shopperId: string; deviceId: string | null; fingerprint: string; nowMs: number },
): Promise<void> {
  const { saleId, deviceId } = entry;
  await redis.createScript<[number, number]>(signalsLua).exec(
    [
      // Without an id the first key is never touched; it is named so KEYS stays fixed.
      keys.deviceAccounts(saleId, deviceId ?? "-"),
      keys.fingerprintCrowd(saleId, entry.fingerprint),
      keys.signals(saleId),
    ],
    [
      entry.shopperId,
      String(entry.nowMs),
      String(DEFAULTS.fingerprintCrowd.windowSeconds * 1000),
      String(DEFAULTS.fingerprintCrowd.accounts),
      String(DEFAULTS.redisRetentionDays * 86_400),
      deviceId ? "1" : "0",
    ],
  );
}

export async function readEntrySignals(redis: Redis, saleId: string): Promise<EntrySignals> {
  const hash = hashFromReply(await redis.hgetall(keys.signals(saleId)));
  const signals: EntrySignals = { shared_device_ids: 0, crowded_fingerprints: 0 };
  for (const [field, value] of Object.entries(hash ?? {})) signals[RENAMED[field] ?? field] = Number(value);
  return signals;
}
