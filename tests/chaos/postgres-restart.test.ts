import { describe, expect, it } from "vitest";
import { expectSoldExactly, fault, saleThroughFault, until } from "./chaos";

describe("Postgres stops mid-sale (its own cluster, pg_ctl stop -m immediate) and starts again", () => {
  it("keeps selling from Redis, holds every order in the outbox meanwhile, and writes each to Postgres once it is back", async () => {
    const { saleId, outcomes, attempts } = await saleThroughFault("pg", async (crowd) => {
      await fault("postgres-stop");
      const stoppedAt = Date.now();
      await until(() => crowd.settled() >= 60, "buyers served while Postgres is down");
      await fault("postgres-start");
      return stoppedAt;
    });
    // Postgres is not on the purchase path: its absence costs shoppers nothing.
    expect(attempts.filter((a) => a.status !== 200)).toEqual([]);
    await expectSoldExactly(saleId, outcomes);
  });
});
