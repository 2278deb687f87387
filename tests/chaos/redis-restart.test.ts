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

describe("Redis crashes mid-sale and comes back from its append-only file", () => {
  it("fails purchases closed with 503 + Retry-After while it is away, keeps the page and status serving, and afterwards nothing is lost or oversold", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 70 }] });
    const crowd = startCrowd(saleId, { shoppers: 100, concurrency: 8, sku: "PHONE", tag: "aof" });
    await until(() => crowd.settled() >= 20, "the first buyers");

    const watch = await watchServing(saleId);
    await fault("redis-crash");
    const crashedAt = Date.now();
    await sleep(4_000);
    await fault("redis-start");
    const served = await watch.stop();
    const outcomes = await crowd.finished;

    const attempts = crowd.attempts();
    expectFailedClosed(attempts);
    const whileAway = attempts.filter((a) => a.startedAt > crashedAt + 300 && a.startedAt < crashedAt + 3_500);
    expect(whileAway.length).toBeGreaterThan(0);
    expect(whileAway.filter((a) => a.status !== 503)).toEqual([]);
    expect(served.page).toEqual(served.page.map(() => 200));
    expect(served.status).toEqual(served.status.map(() => 200));
    expect(served.staleStatus).toBeGreaterThan(0);

    await waitHealthy();
    // Every buyer got an answer in the end, and the sale sold out exactly.
    expect(outcomes.filter((o) => o.kind === "gave_up")).toEqual([]);
    expect(outcomes.filter((o) => o.kind === "reserved")).toHaveLength(70);
    await expectBooksBalance(saleId, "PHONE", outcomes);
  });
});
