import { describe, expect, it } from "vitest";
import {
  describeDuration,
  describeWait,
  formatCountdown,
  formatMoney,
  formatOrdinal,
  formatUtc,
  percentOff,
} from "../../static-site/src/format";

describe("times, prices and places read plainly", () => {
  it("counts down in whole seconds and never shows zero before T=0", () => {
    expect(formatCountdown(3_723_000)).toBe("01:02:03");
    expect(formatCountdown(1)).toBe("00:00:01");
    expect(formatCountdown(0)).toBe("00:00:00");
    expect(formatCountdown(-5_000)).toBe("00:00:00");
    expect(formatCountdown(2 * 86_400_000 + 5_000)).toBe("2d 00:00:05");
  });

  it("keeps the countdown the same width for every value under a day (no layout shift)", () => {
    const widths = new Set([0, 9_999, 61_000, 3_599_000, 86_399_000].map((ms) => formatCountdown(ms).length));
    expect(widths.size).toBe(1);
  });

  it("shows money exactly as the shop set it, without floating point", () => {
    expect(formatMoney("499.00", "USD")).toBe("$499.00");
    expect(formatMoney("1234567.5", "EUR")).toBe("€1,234,567.50");
    expect(formatMoney("0.10", "CHF")).toBe("0.10 CHF");
    expect(percentOff("499.00", "999.00")).toBe(50);
    expect(percentOff("10.00", "10.00")).toBe(0);
  });

  it("says waits and positions in words", () => {
    expect(describeWait(3)).toBe("a few seconds");
    expect(describeWait(42)).toBe("about 45 seconds");
    expect(describeWait(300)).toBe("about 5 minutes");
    expect(describeWait(null)).toBe("a moment");
    expect(formatOrdinal(1)).toBe("1st");
    expect(formatOrdinal(12)).toBe("12th");
    expect(formatOrdinal(12_343)).toBe("12,343rd");
    expect(describeDuration(65_000)).toBe("1 minute 5 seconds");
  });

  it("pre-renders the start time in UTC, the same bytes for every visitor", () => {
    expect(formatUtc(Date.parse("2026-03-14T11:00:00Z"))).toBe("14 Mar 2026, 11:00 UTC");
  });
});
