/**
 * The queue's real rules (durable-objects/queue/rules.ts) run in plain Node, on the
 * in-memory store: no workerd, no Durable Object, no Redis. What the object promises
 * about order, re-entry, the outstanding-admission cap and lapses holds here first.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { queueRules as queue, START } from "./queue-sale";

describe("the queue's rules, without workerd", () => {
  it("runs in plain Node: no Durable Object runtime is loaded", () => {
    expect("WebSocketPair" in globalThis).toBe(false);
  });

  it("gives places in arrival order and admits from the front", async () => {
    const { rules, enter, poll } = queue({ admissionRatePerSecond: 2 });
    const shoppers = ["ada", "bo", "cy", "di", "ed"];
    expect(shoppers.map((s) => enter(s).queue_position)).toEqual([1, 2, 3, 4, 5]);
    rules.tick(START, 1_000);
    rules.tick(START + 1_000, 1_000);
    const states = await Promise.all(shoppers.map((s) => poll(s, START + 1_000)));
    expect(states.map((v) => v.state)).toEqual(["admitted", "admitted", "waiting", "waiting", "waiting"]);
  });

  it("paces each shopper's polls by their distance to the front (poll_after_ms)", async () => {
    const { rules, enter, poll } = queue({ admissionRatePerSecond: 1 });
    for (let i = 0; i < 200; i++) enter(`s-${i}`);
    rules.tick(START, 1_000);
    const [near, middle, far] = await Promise.all([poll("s-1", START), poll("s-40", START), poll("s-199", START)]);
    expect(near.poll_after_ms).toBe(2_000);
    expect(middle.estimated_wait_seconds).toBeGreaterThan(30);
    expect(middle.poll_after_ms).toBe(middle.estimated_wait_seconds * 250); // a quarter of the wait
    expect(far.poll_after_ms).toBe(30_000);
  });

  it("keeps a shopper's place when they enter again", () => {
    const { rules, enter } = queue();
    const first = enter("ada");
    enter("bo");
    expect(enter("ada", START - 30_000)).toEqual({ ...first, estimated_wait_seconds: expect.any(Number) });
    expect(rules.stats(START).length).toBe(2);
  });

  it("never holds more admitted-but-undecided shoppers than admittedPerUnit × units left", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ stepMs: fc.integer({ min: 1, max: 20_000 }), units: fc.integer({ min: 0, max: 5 }) }), {
          minLength: 1,
          maxLength: 40,
        }),
        (perUnit, ticks) => {
          const { rules, enter } = queue({ admissionRatePerSecond: 50, admittedPerUnit: perUnit });
          for (let i = 0; i < 200; i++) enter(`s-${i}`);
          let now = START;
          for (const { stepMs, units } of ticks) {
            const before = rules.stats(now);
            now += stepMs;
            const after = rules.tick(now, units);
            const { lapsedThrough } = rules.stats(now);
            // Nothing is admitted past the cap; what was live before a unit sold may only lapse.
            if (after.admittedThrough > before.admittedThrough)
              expect(after.admittedThrough - lapsedThrough).toBeLessThanOrEqual(perUnit * units);
          }
        },
      ),
    );
  });

  it("lapses a turn unused within its window and admits the next in line in its place", async () => {
    const { rules, enter, poll } = queue({ admittedPerUnit: 2, admissionWindowSeconds: 60 });
    for (const s of ["ada", "bo", "cy", "di"]) enter(s);
    rules.tick(START + 1_000, 1);
    expect(rules.stats(START + 1_000).admittedThrough).toBe(2);
    const turn = await poll("ada", START + 2_000);
    expect(turn).toMatchObject({ state: "admitted", admission_token: expect.any(String) });
    expect(Date.parse(turn.admission_expires_at!)).toBeLessThanOrEqual(START + 61_000);

    rules.tick(START + 61_000, 1);
    expect(await poll("ada", START + 61_000)).toMatchObject({ state: "admitted", lapsed: true });
    expect(await poll("cy", START + 61_000)).toMatchObject({ state: "admitted", admission_token: expect.any(String) });
    expect(rules.stats(START + 61_000)).toMatchObject({ admittedThrough: 4, lapsedThrough: 2 });
  });

  it("tells a shopper sold out while no unit is left, and closed once the sale ends", async () => {
    const { rules, enter, poll } = queue();
    enter("ada");
    rules.stockChanged(START + 1_000, 0);
    expect((await poll("ada", START + 1_000)).state).toBe("sold_out");
    rules.tick(START + 3_600_000, 0);
    expect((await poll("ada", START + 3_600_000)).state).toBe("closed");
    expect(rules.enter("late", "d", "t", START + 3_600_000)).toMatchObject({ ok: false, code: "sale_not_active" });
  });
});
