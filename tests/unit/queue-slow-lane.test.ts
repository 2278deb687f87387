/**
 * The slow lane in the Durable Object (docs/queue.md "The slow lane"): at the start the
 * tick's one Redis read also brings the door's flags, and the flagged wait behind everyone
 * unflagged (fifo and random mode); a read that fails holds the watermark, so nobody is
 * admitted before the sort.
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

  it("in random mode, sorts the drawn places after a failed read drew them, and admits nobody before", async () => {
    const { saleId, stub } = await freshQueue({ preQueueMode: "random", admissionRatePerSecond: 2 });
    const answers = await enterMany(stub, saleId, 6);
    const flagged = ["shopper-0", "shopper-3", "shopper-4"];
    const placeOf = async (token: string) => {
      const view = await stub.poll(token);
      return view.ok ? view.value.queue_position : null;
    };
    // Redis down at the start: the tick draws, but holds the watermark and leaves the lane due.
    await setRedis(stub, "down");
    await setClock(stub, START + 1_000);
    await stub.tick();
    expect((await queueStats(env, saleId)).admittedThrough).toBe(0);
    const drawn = await Promise.all(answers.map((a) => placeOf(a!.queue_token)));
    expect([...drawn].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    const drawOrder = answers.map((_, i) => i).sort((a, b) => drawn[a]! - drawn[b]!);
    // One arrival after the start: placed by arrival, after the drawn.
    const late = await stub.enter(saleId, "late-0", "late-device-0");
    expect(late.ok && late.value.queue_position).toBe(7);
    await setRedis(stub, { units: 100, flagged: [...flagged, "late-0"] });
    await setClock(stub, START + 2_000);
    await stub.tick();
    const expected = [
      ...drawOrder.filter((i) => !flagged.includes(`shopper-${i}`)).map((i) => `shopper-${i}`),
      ...drawOrder.filter((i) => flagged.includes(`shopper-${i}`)).map((i) => `shopper-${i}`),
      "late-0",
    ];
    const tokens = new Map<string, string>();
    for (const [k, shopper] of expected.entries()) {
      const device = shopper === "late-0" ? "late-device-0" : shopper.replace("shopper-", "shopper-device-");
      const again = await stub.enter(saleId, shopper, device);
      // Re-entry answers the sorted place.
      expect(again.ok && [shopper, again.value.queue_position]).toEqual([shopper, k + 1]);
      if (again.ok) tokens.set(shopper, again.value.queue_token);
    }
    await setClock(stub, START + 2_500);
    await stub.tick();
    const admitted = (await queueStats(env, saleId)).admittedThrough;
    expect(admitted).toBeGreaterThan(0);
    const states = await Promise.all(expected.map((s) => stub.poll(tokens.get(s)!)));
    expect(states.map((v) => v.ok && v.value.state)).toEqual(
      expected.map((_, k) => (k < admitted ? "admitted" : "waiting")),
    );
  });
});
