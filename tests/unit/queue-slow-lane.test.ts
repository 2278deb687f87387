/**
 * Fifo's slow lane in the Durable Object (docs/queue.md "The slow lane"): at the start the
 * tick's one Redis read also brings the door's flags, and the flagged wait behind everyone
 * unflagged; a read that fails holds the watermark, so nobody is admitted before the sort.
 */
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SaleQueue } from "../../durable-objects/sale-queue";
import { queueStats } from "../../workers/queue/client";
import { enterMany, freshQueue, START, type Stub, setClock } from "./queue-helpers";

/** Stock and flags as Redis would answer them; `down` answers nothing, as a Redis outage does. */
function setRedis(stub: Stub, read: { units: number; flagged: string[] } | "down") {
  return runInDurableObject(stub, (queue: SaleQueue) => {
    queue.stock = async (_sale, _state, _lapsed, withFlags) =>
      read === "down" ? null : { units: read.units, decided: 0, ...(withFlags ? { flagged: read.flagged } : {}) };
  });
}

describe("the slow lane: shoppers the door flagged wait behind the rest", () => {
  it("sorts the flagged behind the unflagged at the start, and admits the unflagged first", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 2 });
    const [botA, botB, ada, bo] = await enterMany(stub, saleId, 4);
    await setRedis(stub, { units: 100, flagged: ["shopper-0", "shopper-1"] });
    await setClock(stub, START);
    await stub.tick();
    await setClock(stub, START + 1_000);
    await stub.tick();
    expect((await queueStats(env, saleId)).admittedThrough).toBe(2);
    const states = await Promise.all([ada, bo, botA, botB].map((a) => stub.poll(a!.queue_token)));
    expect(states.map((s) => s.ok && [s.value.queue_position, s.value.state])).toEqual([
      [1, "admitted"],
      [2, "admitted"],
      [3, "waiting"],
      [4, "waiting"],
    ]);
    // Re-entry answers the sorted place.
    const again = await stub.enter(saleId, "shopper-0", "shopper-device-0");
    expect(again.ok && again.value.queue_position).toBe(3);
  });

  it("admits nobody while the flags cannot be read, and sorts once they can", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 10 });
    await enterMany(stub, saleId, 3);
    await setRedis(stub, "down");
    await setClock(stub, START + 1_000);
    await stub.tick();
    expect((await queueStats(env, saleId)).admittedThrough).toBe(0);
    await setRedis(stub, { units: 100, flagged: ["shopper-0"] });
    await setClock(stub, START + 2_000);
    await stub.tick();
    const first = await stub.enter(saleId, "shopper-0", "shopper-device-0");
    expect(first.ok && first.value.queue_position).toBe(3);
  });
});
