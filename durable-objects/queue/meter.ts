/**
 * The admission watermark's arithmetic, kept pure so the rate promise can be checked
 * against any sequence of tick times.
 *
 * Invariants:
 * - Credit accrues at `ratePerSecond` for the time elapsed on the sale's clock, whatever
 *   the spacing of the ticks (irregular or bunched alarms neither lose nor add admissions),
 *   but for at most MAX_CATCH_UP_MS per tick: an alarm that comes late (an evicted or
 *   stalled object) admits about one second's worth, not a burst of the whole gap.
 * - The fractional remainder carries over, so over any long window the admitted count
 *   is within one of rate × time.
 * - Credit is not banked while nobody is waiting: the watermark never runs ahead of the
 *   queue, so an idle minute does not let the next thousand arrivals in at once.
 * - `room` caps a tick's admissions (the outstanding-admission cap: a multiple of the units
 *   left, less the admissions still live). Credit the cap withholds is dropped, not banked:
 *   units coming back admit the next few in line, not a burst of saved-up credit.
 * - The cost is O(1): it is arithmetic on two numbers, never a walk over the queue.
 */
export type Meter = { admittedThrough: number; credit: number; lastMs: number };

/** The most time one tick may turn into credit. */
export const MAX_CATCH_UP_MS = 1_000;

export function advance(
  meter: Meter,
  nowMs: number,
  ratePerSecond: number,
  queued: number,
  admitting: boolean,
  room: number = Number.POSITIVE_INFINITY,
): Meter {
  const elapsed = Math.min(MAX_CATCH_UP_MS, Math.max(0, nowMs - meter.lastMs));
  if (!admitting) return { ...meter, lastMs: Math.max(meter.lastMs, nowMs) };
  const available = meter.credit + (ratePerSecond * elapsed) / 1000;
  const waiting = Math.max(0, queued - meter.admittedThrough);
  const limit = Math.min(waiting, Math.max(0, Math.floor(room)));
  const admit = Math.min(Math.floor(available), limit);
  const credit = admit === limit ? 0 : available - admit;
  return { admittedThrough: meter.admittedThrough + admit, credit, lastMs: Math.max(meter.lastMs, nowMs) };
}
