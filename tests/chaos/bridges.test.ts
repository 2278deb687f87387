import { describe, expect, it } from "vitest";
import { expectSoldExactly, fault, saleThroughFault, sleep, until } from "./chaos";

describe("the local bridges are killed mid-sale and started again", () => {
  it("Upstash REST bridge: purchases fail closed with 503 + Retry-After, page and status keep serving, nothing lost or oversold", async () => {
    const { saleId, outcomes, attempts, faultAt } = await saleThroughFault("bridge", async () => {
      await fault("bridge-kill");
      const killedAt = Date.now();
      await sleep(4_000);
      await fault("bridge-revive");
      return killedAt;
    });
    const whileAway = attempts.filter((a) => a.startedAt > faultAt + 300 && a.startedAt < faultAt + 3_500);
    expect(whileAway.length).toBeGreaterThan(0);
    expect(whileAway.filter((a) => a.status !== 503)).toEqual([]);
    await expectSoldExactly(saleId, outcomes);
  });

  it("Neon WebSocket proxy: sales go on from Redis, the outbox holds the orders, and Postgres gets every one once the proxy is back", async () => {
    const { saleId, outcomes, attempts } = await saleThroughFault("proxy", async (crowd) => {
      await fault("proxy-kill");
      const killedAt = Date.now();
      await until(() => crowd.settled() >= 60, "buyers served while the proxy is down");
      await fault("proxy-revive");
      return killedAt;
    });
    expect(attempts.filter((a) => a.status !== 200)).toEqual([]);
    await expectSoldExactly(saleId, outcomes);
  });
});
