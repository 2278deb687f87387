import { describe, expect, it } from "vitest";
import { expectSoldExactly, fault, saleThroughFault, sleep } from "./chaos";

describe("Redis hangs mid-sale (the process frozen: connections open, nothing answers)", () => {
  it("is not waited on by every request in turn: the breaker answers 503 at once, probes, and sales resume when Redis does", async () => {
    const { saleId, outcomes, attempts, faultAt } = await saleThroughFault("hang", async () => {
      await fault("redis-freeze");
      const frozenAt = Date.now();
      await sleep(8_000);
      await fault("redis-thaw");
      return frozenAt;
    });
    // Each request alone would wait out Redis's 2 s budget; the breaker makes most of
    // them answer well within it (the local Worker's own overhead is a few hundred ms).
    const refused = attempts.filter((a) => a.status === 503 && a.startedAt > faultAt + 2_500);
    const atOnce = refused.filter((a) => a.ms < 1_000);
    expect(atOnce.length / refused.length).toBeGreaterThan(0.7);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expect(outcomes.filter((o) => o.kind === "gave_up")).toEqual([]);
    await expectSoldExactly(saleId, outcomes);
  });
});
