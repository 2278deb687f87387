/**
 * The alarm: exactly one, at the start while the sale is in the future, every tick while
 * it runs, slower once sold out (returned stock also wakes it through stockChanged).
 * Alarms run on the real clock; the sale's clock only moves the arithmetic.
 */
import type { Config } from "./model";

const TICK_MS = 250;
const SOLD_OUT_TICK_MS = 1_000;
const SHARD_TICK_MS = 100;

/** When the next alarm is due in real time; null when the queue needs none (unconfigured or closed). */
export function nextAlarm(sale: Config | null, closed: boolean, soldOut: boolean, now: number, real: number) {
  if (!sale || closed) return null;
  if (sale.role.kind === "shard") {
    // Retired by a lowered count (before the door opened, so it holds nobody): nothing to report.
    if (sale.role.index >= sale.role.shards) return null;
    // Shards report from the moment the door opens: the global order needs every shard's seal.
    const opensAt = sale.startMs - sale.preQueueMinutes * 60_000;
    return now < opensAt ? real + Math.min(opensAt - now, 60_000) : real + SHARD_TICK_MS;
  }
  return now < sale.startMs
    ? real + Math.min(sale.startMs - now, 60_000)
    : real + (soldOut ? SOLD_OUT_TICK_MS : TICK_MS);
}

/** Sets the alarm to `at` unless one is already due sooner. */
export async function arm(storage: DurableObjectStorage, at: number | null): Promise<void> {
  if (at === null) return;
  const current = await storage.getAlarm();
  if (current === null || current > at) await storage.setAlarm(at);
}
