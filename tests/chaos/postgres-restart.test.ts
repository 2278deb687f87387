import { describe, expect, it } from "vitest";
import { createActiveSale } from "../integration/fixtures";
import { expectBooksBalance, expectFailedClosed, fault, startCrowd, until, waitHealthy, watchServing } from "./chaos";

describe("Postgres stops mid-sale (its own cluster, pg_ctl stop -m immediate) and starts again", () => {
  it("keeps selling from Redis, holds every order in the outbox meanwhile, and writes each to Postgres once it is back", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 70 }] });
    const crowd = startCrowd(saleId, { shoppers: 100, concurrency: 8, sku: "PHONE", tag: "pg" });
    await until(() => crowd.settled() >= 20, "the first buyers");

    const watch = await watchServing(saleId);
    await fault("postgres-stop");
    await until(() => crowd.settled() >= 60, "buyers served while Postgres is down");
    await fault("postgres-start");
    const served = await watch.stop();
    const outcomes = await crowd.finished;

    const attempts = crowd.attempts();
    expectFailedClosed(attempts);
    // Postgres is not on the purchase path: its absence costs shoppers nothing.
    expect(attempts.filter((a) => a.status !== 200)).toEqual([]);
    expect(served.page).toEqual(served.page.map(() => 200));
    expect(served.status).toEqual(served.status.map(() => 200));

    await waitHealthy();
    expect(outcomes.filter((o) => o.kind === "reserved")).toHaveLength(70);
    await expectBooksBalance(saleId, "PHONE", outcomes);
  });
});
