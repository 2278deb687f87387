/**
 * Retry storms, seen where the rate limiter refuses (docs/queue.md "Bot signals"). A
 * page honours Retry-After, so an honest shopper or device is refused about once per
 * limiter period; a script that keeps hammering is refused again and again. Refusals
 * are counted here, in the isolate, and only the refusal that reaches the threshold
 * costs Redis a command (storm.lua, after the answer): a flood the limiter exists to
 * shed never becomes a flood of Redis writes. Per isolate, so a storm spread thinly over
 * many isolates can go uncounted: a signal, never a guarantee.
 */
import { DEFAULTS } from "../config";

type Period = { startMs: number; refused: number };

export class StormWatch {
  private readonly periods = new Map<string, Period>();

  constructor(
    private readonly periodMs: number,
    /** Sources tracked at once; past it, finished periods are dropped, then everything. */
    private readonly maxSources = 10_000,
  ) {}

  /** True exactly once per source and period: on the refusal that reaches `threshold`. */
  refused(source: string, threshold: number, nowMs: number): boolean {
    let period = this.periods.get(source);
    if (!period || nowMs - period.startMs >= this.periodMs) {
      if (!period && this.periods.size >= this.maxSources) this.forget(nowMs);
      period = { startMs: nowMs, refused: 0 };
      this.periods.set(source, period);
    }
    period.refused++;
    return period.refused === threshold;
  }

  private forget(nowMs: number): void {
    for (const [source, period] of this.periods)
      if (nowMs - period.startMs >= this.periodMs) this.periods.delete(source);
    if (this.periods.size >= this.maxSources) this.periods.clear();
  }
}

/** The door's watch: one per isolate, over the limiters' common period. */
export const doorStorms = new StormWatch(DEFAULTS.enterQueueLimitPeriodSeconds * 1000);
