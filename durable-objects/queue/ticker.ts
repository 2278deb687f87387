/**
 * The alarm: set only while the queue has work. While someone waits in a running sale it
 * ticks (slower once sold out); while nobody waits it sleeps until its next boundary (the
 * start, the end), and an entry, a poll, a stock change or a new rate wakes it
 * (docs/queue.md "A queue that heals and sleeps"). Alarms run on the real clock; the sale's
 * clock only moves the arithmetic.
 */
import type { Config } from "./model";

const TICK_MS = 250;
const SOLD_OUT_TICK_MS = 1_000;
const SHARD_TICK_MS = 100;

/** What the alarm depends on: the queue closed, sold out, and whether anyone waits to be admitted. */
export type Pending = { closed: boolean; soldOut: boolean; waiting: boolean };

/** When the next alarm is due in real time; null when the queue needs none (unconfigured or closed). */
export function nextAlarm(sale: Config | null, pending: Pending, now: number, real: number): number | null {
  if (!sale || pending.closed) return null;
  if (sale.role.kind === "shard") {
    // Retired by a lowered count (before the door opened, so it holds nobody): nothing to report.
    if (sale.role.index >= sale.role.shards) return null;
    // Shards report from the moment the door opens: the global order needs every shard's seal.
    const opensAt = sale.startMs - sale.preQueueMinutes * 60_000;
    return now < opensAt ? real + Math.min(opensAt - now, 60_000) : real + SHARD_TICK_MS;
  }
  if (now < sale.startMs) return real + (sale.startMs - now);
  if (!pending.waiting) return real + (sale.endMs - now);
  return real + (pending.soldOut ? SOLD_OUT_TICK_MS : TICK_MS);
}

/**
 * Past due by this much, a set alarm is taken as lost: the runtime fires alarms within
 * moments, but one that restarted (workerd after a crash, locally) can keep a past alarm
 * in storage and never run it, and `getAlarm` would then report it as due forever.
 */
export const LOST_ALARM_MS = 2_000;

/**
 * Sets the alarm to `at` unless one is already due sooner (a poll must not postpone a
 * tick); none when `at` is null. An alarm overdue past LOST_ALARM_MS is replaced, so the
 * next entry or poll restarts a queue whose alarm the runtime dropped.
 */
export async function arm(
  storage: Pick<DurableObjectStorage, "getAlarm" | "setAlarm" | "deleteAlarm">,
  at: number | null,
  real: number,
): Promise<void> {
  const current = await storage.getAlarm();
  if (at === null) {
    if (current !== null) await storage.deleteAlarm();
    return;
  }
  const lost = current !== null && current < real - LOST_ALARM_MS;
  if (current === null || current > at || lost) await storage.setAlarm(at);
}
