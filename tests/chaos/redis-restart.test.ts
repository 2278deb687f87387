import { describe, expect, it } from "vitest";
import { expectSoldExactly, fault, saleThroughFault, sleep } from "./chaos";

describe("Redis crashes mid-sale and comes back from its append-only file", () => {
  it("fails purchases closed with 503 + Retry-After while it is away, keeps the page and status serving, and afterwards nothing is lost or oversold", async () => {
    const { saleId, served, outcomes, attempts, faultAt } = await saleThroughFault("aof", async () => {
      await fault("redis-crash");
      const crashedAt = Date.now();
      await sleep(4_000);
      await fault("redis-start");
      return crashedAt;
    });
    const whileAway = attempts.filter((a) => a.startedAt > faultAt + 300 && a.startedAt < faultAt + 3_500);
    expect(whileAway.length).toBeGreaterThan(0);
    expect(whileAway.filter((a) => a.status !== 503)).toEqual([]);
    expect(served.staleStatus).toBeGreaterThan(0);
    // Every buyer got an answer in the end, and the sale sold out exactly.
    expect(outcomes.filter((o) => o.kind === "gave_up")).toEqual([]);
    await expectSoldExactly(saleId, outcomes);
  });
});
