import { describe, expect, it } from "vitest";
import { jittered, nextPollDelay, POLL_PACE } from "../../static-site/src/backoff";

describe("the page's live connection comes back spread out", () => {
  it("spreads a pause over 50–150 % of itself, so a dropped crowd does not return as one wave", () => {
    expect(jittered(2_000, () => 0)).toBe(1_000);
    expect(jittered(2_000, () => 0.999)).toBe(2_998);
    const pauses = new Set(Array.from({ length: 50 }, () => jittered(2_000)));
    expect(pauses.size).toBeGreaterThan(10);
  });
});

describe("the page polls at the pace the server sets, and never gives up", () => {
  it("waits what the server asks (poll_after_ms), within bounds a bad value cannot break", () => {
    expect(nextPollDelay(2_000, { ok: true, pollAfterMs: 30_000 })).toBe(30_000);
    expect(nextPollDelay(30_000, { ok: true, pollAfterMs: 2_000 })).toBe(2_000);
    expect(nextPollDelay(2_000, { ok: true, pollAfterMs: 0 })).toBe(POLL_PACE.min);
    expect(nextPollDelay(2_000, { ok: true, pollAfterMs: 86_400_000 })).toBe(POLL_PACE.max);
    expect(nextPollDelay(9_000, { ok: true })).toBe(POLL_PACE.fallback);
  });

  it("backs off on failure, honours Retry-After, and keeps polling however many failures come", () => {
    expect(nextPollDelay(2_000, { ok: false })).toBe(4_000);
    expect(nextPollDelay(2_000, { ok: false, retryAfterSeconds: 10 })).toBe(10_000);
    let delay = 2_000;
    for (let i = 0; i < 1_000; i++) delay = nextPollDelay(delay, { ok: false, retryAfterSeconds: Number.NaN });
    expect(delay).toBe(POLL_PACE.maxAfterFailure);
    // The first answer after an outage returns to the server's pace.
    expect(nextPollDelay(delay, { ok: true, pollAfterMs: 3_000 })).toBe(3_000);
  });
});
