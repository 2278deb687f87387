import { describe, expect, it } from "vitest";
import { jittered } from "../../static-site/src/backoff";

describe("the page's live connection comes back spread out", () => {
  it("spreads a pause over 50–150 % of itself, so a dropped crowd does not return as one wave", () => {
    expect(jittered(2_000, () => 0)).toBe(1_000);
    expect(jittered(2_000, () => 0.999)).toBe(2_998);
    const pauses = new Set(Array.from({ length: 50 }, () => jittered(2_000)));
    expect(pauses.size).toBeGreaterThan(10);
  });
});
