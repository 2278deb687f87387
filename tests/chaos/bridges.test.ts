import { describe, expect, it } from "vitest";
import { createActiveSale } from "../integration/fixtures";
import {
  expectBooksBalance,
  expectFailedClosed,
  fault,
  sleep,
  startCrowd,
  until,
  waitHealthy,
  watchServing,
} from "./chaos";

describe("the local bridges are killed mid-sale and started again", () => {
  it("Upstash REST bridge: purchases fail closed with 503 + Retry-After, page and status keep serving, nothing lost or oversold", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 70 }] });
    const crowd = startCrowd(saleId, { shoppers: 100, concurrency: 8, sku: "PHONE", tag: "bridge" });
    await until(() => crowd.settled() >= 20, "the first buyers");

    const watch = await watchServing(saleId);
    await fault("bridge-kill");
    const killedAt = Date.now();
    await sleep(4_000);
    await fault("bridge-revive");
    const served = await watch.stop();
    const outcomes = await crowd.finished;

    const attempts = crowd.attempts();
    expectFailedClosed(attempts);
    const whileAway = attempts.filter((a) => a.startedAt > killedAt + 300 && a.startedAt < killedAt + 3_500);
    expect(whileAway.length).toBeGreaterThan(0);
    expect(whileAway.filter((a) => a.status !== 503)).toEqual([]);
    expect(served.page).toEqual(served.page.map(() => 200));
    expect(served.status).toEqual(served.status.map(() => 200));

    await waitHealthy();
    expect(outcomes.filter((o) => o.kind === "reserved")).toHaveLength(70);
    await expectBooksBalance(saleId, "PHONE", outcomes);
  });

  it("Neon WebSocket proxy: sales go on from Redis, the outbox holds the orders, and Postgres gets every one once the proxy is back", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 70 }] });
    const crowd = startCrowd(saleId, { shoppers: 100, concurrency: 8, sku: "PHONE", tag: "proxy" });
    await until(() => crowd.settled() >= 20, "the first buyers");

    const watch = await watchServing(saleId);
    await fault("proxy-kill");
    await until(() => crowd.settled() >= 60, "buyers served while the proxy is down");
    await fault("proxy-revive");
    const served = await watch.stop();
    const outcomes = await crowd.finished;

    const attempts = crowd.attempts();
    expectFailedClosed(attempts);
    expect(attempts.filter((a) => a.status !== 200)).toEqual([]);
    expect(served.page).toEqual(served.page.map(() => 200));
    expect(served.status).toEqual(served.status.map(() => 200));

    await waitHealthy();
    expect(outcomes.filter((o) => o.kind === "reserved")).toHaveLength(70);
    await expectBooksBalance(saleId, "PHONE", outcomes);
  });
});
