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

describe("Redis hangs mid-sale (the process frozen: connections open, nothing answers)", () => {
  it("is not waited on by every request in turn: the breaker answers 503 at once, probes, and sales resume when Redis does", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 70 }] });
    const crowd = startCrowd(saleId, { shoppers: 100, concurrency: 8, sku: "PHONE", tag: "hang" });
    await until(() => crowd.settled() >= 20, "the first buyers");

    const watch = await watchServing(saleId);
    await fault("redis-freeze");
    const frozenAt = Date.now();
    await sleep(8_000);
    await fault("redis-thaw");
    const served = await watch.stop();
    const outcomes = await crowd.finished;

    const attempts = crowd.attempts();
    expectFailedClosed(attempts);
    // Each request alone would wait out Redis's 2 s budget; the breaker makes most of
    // them answer well within it (the local Worker's own overhead is a few hundred ms).
    const refused = attempts.filter((a) => a.status === 503 && a.startedAt > frozenAt + 2_500);
    const atOnce = refused.filter((a) => a.ms < 1_000);
    expect(atOnce.length / refused.length).toBeGreaterThan(0.7);
    expect(refused.length).toBeGreaterThanOrEqual(10);
    expect(served.page).toEqual(served.page.map(() => 200));
    expect(served.status).toEqual(served.status.map(() => 200));

    await waitHealthy();
    expect(outcomes.filter((o) => o.kind === "gave_up")).toEqual([]);
    expect(outcomes.filter((o) => o.kind === "reserved")).toHaveLength(70);
    await expectBooksBalance(saleId, "PHONE", outcomes);
  });
});
