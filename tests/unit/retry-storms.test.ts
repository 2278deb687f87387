import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../../workers/config";
import { StormWatch } from "../../workers/queue/storms";

const period = DEFAULTS.enterQueueLimitPeriodSeconds * 1000;
const { address, shopper } = DEFAULTS.botSignals.retryStorm;

/** Refusals of one source at the given times; how many of them the watch called a storm. */
function storms(watch: StormWatch, source: string, threshold: number, times: number[]): number {
  return times.filter((t) => watch.refused(source, threshold, t)).length;
}

describe("retry storms at the door", () => {
  it("calls a shopper refused again and again within one period a storm, once per period", () => {
    const watch = new StormWatch(period);
    const hammering = Array.from({ length: 40 }, (_, i) => i * 50);
    expect(storms(watch, "s", shopper, hammering)).toBe(1);
    // The next period's hammering is a second storm.
    expect(
      storms(
        watch,
        "s",
        shopper,
        hammering.map((t) => t + period + 2_000),
      ),
    ).toBe(1);
  });

  it("never calls a shopper who waits out each Retry-After a storm, however long they keep trying", () => {
    const watch = new StormWatch(period);
    const patient = Array.from({ length: 30 }, (_, i) => i * period);
    expect(storms(watch, "s", shopper, patient)).toBe(0);
  });

  it("never calls a carrier NAT's honest crowd a storm: 900 pages behind one address, each refused once", () => {
    const watch = new StormWatch(period);
    const crowd = Array.from({ length: 900 }, (_, i) => i * 5);
    expect(storms(watch, "203.0.113.9", address, crowd)).toBe(0);
    // A script on that address sending 11 times its allowance (100 per 10 s) is one.
    const flood = Array.from({ length: 1_100 }, (_, i) => period * 3 + i);
    expect(storms(watch, "203.0.113.9", address, flood)).toBe(1);
  });

  it("keeps its memory bounded, forgetting finished periods first", () => {
    const watch = new StormWatch(period, 3);
    for (const s of ["a", "b", "c"]) watch.refused(s, 2, 0);
    watch.refused("d", 2, period + 1);
    // "a" was forgotten with the other finished periods: its next refusal starts a new count.
    expect(watch.refused("a", 2, period + 2)).toBe(false);
    expect(watch.refused("d", 2, period + 3)).toBe(true);
  });
});
