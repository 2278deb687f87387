import { describe, expect, it } from "vitest";
import { createActiveSale } from "../integration/fixtures";
import { expectBooksBalance, expectFailedClosed, redisClient, sleep, startCrowd, until } from "./chaos";

describe("SCRIPT FLUSH under load", () => {
  it("costs no purchase anything: EVALSHA that meets NOSCRIPT falls back to EVAL, and the books balance", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 70 }] });
    const crowd = startCrowd(saleId, { shoppers: 100, concurrency: 8, sku: "PHONE", tag: "flush" });
    await until(() => crowd.settled() >= 20, "the first buyers");

    const redis = redisClient();
    let flushes = 0;
    try {
      while (crowd.settled() < 90) {
        await redis.script("FLUSH");
        flushes++;
        // Often enough that many purchases meet an empty script cache, however fast the crowd buys.
        await sleep(20);
      }
    } finally {
      redis.disconnect();
    }
    const outcomes = await crowd.finished;

    expect(flushes).toBeGreaterThan(10);
    const attempts = crowd.attempts();
    expectFailedClosed(attempts);
    expect(attempts.filter((a) => a.status !== 200)).toEqual([]);
    expect(outcomes.filter((o) => o.kind === "reserved")).toHaveLength(70);
    await expectBooksBalance(saleId, "PHONE", outcomes);
  });
});
