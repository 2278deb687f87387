import { describe, expect, it } from "vitest";
import { estimateClock, serverMsFromTimeBody, serverNow } from "../../static-site/src/clock";

describe("the page's countdown follows the server's clock, not the device's", () => {
  it("takes the offset from the sample with the lowest round trip", () => {
    // Server is 1 hour ahead of the device's monotonic clock; the 10 ms sample is the honest one.
    const truth = 3_600_000;
    const samples = [
      { sentAt: 1_000, receivedAt: 1_400, serverMs: 1_000 + truth + 380 }, // slow, asymmetric
      { sentAt: 2_000, receivedAt: 2_010, serverMs: 2_005 + truth },
      { sentAt: 3_000, receivedAt: 3_200, serverMs: 3_020 + truth },
    ];
    const estimate = estimateClock(samples)!;
    expect(estimate.rttMs).toBe(10);
    expect(estimate.offsetMs).toBe(truth);
    expect(estimate.uncertaintyMs).toBe(5);
    expect(serverNow(estimate, 10_000)).toBe(10_000 + truth);
  });

  it("bounds the error by half the best round trip even when that sample is asymmetric", () => {
    const truth = -42_000;
    // The server read its clock right when the request arrived, 1 ms into a 30 ms round trip.
    const estimate = estimateClock([{ sentAt: 500, receivedAt: 530, serverMs: 501 + truth }])!;
    expect(Math.abs(estimate.offsetMs - truth)).toBeLessThanOrEqual(estimate.uncertaintyMs);
  });

  it("ignores broken samples and gives no estimate without a usable one", () => {
    expect(estimateClock([])).toBeNull();
    expect(estimateClock([{ sentAt: 10, receivedAt: 5, serverMs: 100 }])).toBeNull();
    expect(estimateClock([{ sentAt: 10, receivedAt: 20, serverMs: Number.NaN }])).toBeNull();
    const e = estimateClock([
      { sentAt: 10, receivedAt: 5, serverMs: 1 },
      { sentAt: 100, receivedAt: 140, serverMs: 1_120 },
    ])!;
    expect(e.samples).toBe(1);
    expect(e.offsetMs).toBe(1_000);
  });

  it("reads the /time answer by now_ms, or by now when only that is there", () => {
    expect(serverMsFromTimeBody({ now: "2026-03-14T11:00:00.000Z", now_ms: 1_773_486_000_000 })).toBe(
      1_773_486_000_000,
    );
    expect(serverMsFromTimeBody({ now: "2026-03-14T11:00:00.000Z" })).toBe(Date.parse("2026-03-14T11:00:00.000Z"));
    expect(serverMsFromTimeBody("nope")).toBeNaN();
  });
});
