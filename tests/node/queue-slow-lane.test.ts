/**
 * The slow lane (docs/queue.md "The slow lane") on the queue's real rules, in plain Node:
 * the shoppers the door's bot signals flagged wait behind every unflagged shopper who took a
 * place before the first admission, and the queue's promises still hold: unique places,
 * unflagged shoppers in their order (arrival in fifo; the draw's, then arrival, in random
 * mode), never moved back, re-entry answers the same place.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { commitmentOf, drawPermutation } from "../../durable-objects/queue/draw";
import { queueRules as queue, START } from "./queue-sale";

describe("the slow lane: flagged shoppers wait behind the unflagged", () => {
  it("moves the flagged behind everyone unflagged at the start, before anyone is admitted", () => {
    const { rules, enter, place } = queue();
    for (const s of ["bot-1", "bot-2", "ada", "bot-3", "bo"]) enter(s);
    expect(rules.slowLaneDue(START - 1)).toBe(false);
    expect(rules.slowLaneDue(START)).toBe(true);
    expect(rules.sortSlowLane(START, ["bot-1", "bot-2", "bot-3", "never-entered"])).toBe(3);
    expect(["ada", "bo", "bot-1", "bot-2", "bot-3"].map(place)).toEqual([1, 2, 3, 4, 5]);
    // Sorted once: the places are now the ones re-entry and the watermark see.
    expect(rules.slowLaneDue(START + 1_000)).toBe(false);
    expect(enter("bot-1", START + 1_000).queue_position).toBe(3);
    rules.tick(START + 1_000, 1);
    expect(rules.store.shoppersBetween(0, rules.stats(START + 1_000).admittedThrough)).toEqual(["ada", "bo"]);
  });

  it("never re-sorts once a turn was given: an admitted place is never taken back", () => {
    const { rules, enter, place } = queue();
    for (const s of ["bot-1", "ada"]) enter(s);
    rules.tick(START + 1_000, 10);
    expect(rules.stats(START + 1_000).admittedThrough).toBe(2);
    expect(rules.slowLaneDue(START + 1_250)).toBe(false);
    expect(rules.sortSlowLane(START + 1_250, ["bot-1"])).toBe(0);
    expect(place("bot-1")).toBe(1);
  });

  it("keeps a sharded queue's merge as it is", () => {
    expect(queue({ shards: 4 }).rules.slowLaneDue(START)).toBe(false);
    expect(queue({ shards: 4, preQueueMode: "random" }).rules.slowLaneDue(START)).toBe(false);
  });

  it("keeps places unique, unflagged shoppers in arrival order and never moves them back", () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { minLength: 1, maxLength: 300 }), (flags) => {
        const { rules, enter, place } = queue();
        const who = flags.map((_, i) => `s-${i}`);
        const before = who.map((s) => enter(s).queue_position!);
        rules.sortSlowLane(
          START,
          who.filter((_, i) => flags[i]),
        );
        const after = who.map(place) as number[];
        expect(new Set(after).size).toBe(who.length);
        expect(Math.min(...after)).toBe(1);
        expect(Math.max(...after)).toBe(who.length);
        const fast = who.map((_, i) => i).filter((i) => !flags[i]);
        const slow = who.map((_, i) => i).filter((i) => flags[i]);
        fast.forEach((i, k) => {
          expect(after[i]).toBe(k + 1);
          expect(after[i]!).toBeLessThanOrEqual(before[i]!);
        });
        slow.forEach((i, k) => {
          expect(after[i]).toBe(fast.length + k + 1);
        });
        // The store's own index agrees: the watermark's lookups see the sorted order.
        expect(rules.store.shoppersBetween(0, who.length)).toEqual([...fast, ...slow].map((i) => who[i]));
      }),
    );
  });
});

/** The draw's order of the first `count` arrivals (0-based indexes), as anyone holding the published seed computes it. */
function drawOrder(seed: string, count: number): number[] {
  const rank = drawPermutation(seed, count);
  return Array.from({ length: count }, (_, i) => i).sort((a, b) => rank[a]! - rank[b]!);
}

describe("the slow lane in random mode: after the draw, the flagged wait behind the unflagged", () => {
  it("draws first when the draw is due, then sends the flagged behind, each lane in the draw's order", () => {
    const { rules, enter, place } = queue({ preQueueMode: "random" });
    const who = ["bot-1", "ada", "bot-2", "bo", "cy", "bot-3", "di"];
    for (const s of who) expect(enter(s).queue_position).toBeNull();
    expect(rules.slowLaneDue(START)).toBe(true);
    const bots = ["bot-1", "bot-2", "bot-3"];
    expect(rules.sortSlowLane(START, [...bots, "never-entered"])).toBe(3);
    // The draw happened, unchanged: its seed is the committed one and recomputes the order.
    expect(rules.state.drawnCount).toBe(who.length);
    expect(commitmentOf(rules.state.seed)).toBe(rules.state.commitment);
    const drawn = drawOrder(rules.state.seed, who.length).map((i) => who[i]!);
    const expected = [...drawn.filter((s) => !bots.includes(s)), ...drawn.filter((s) => bots.includes(s))];
    expect(expected.map(place)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    // Once: re-entry answers the sorted place, a later flags read moves nobody.
    expect(rules.slowLaneDue(START + 1_000)).toBe(false);
    expect(rules.sortSlowLane(START + 1_000, ["ada"])).toBe(0);
    for (const s of who) expect(enter(s, START + 1_000).queue_position).toBe(expected.indexOf(s) + 1);
    rules.tick(START + 1_000, 1);
    const admitted = rules.stats(START + 1_000).admittedThrough;
    expect(admitted).toBeGreaterThan(0);
    expect(rules.store.shoppersBetween(0, admitted)).toEqual(expected.slice(0, admitted));
    expect(rules.store.shoppersBetween(0, admitted).some((s) => bots.includes(s))).toBe(false);
  });

  it("sorts the drawn places, with later arrivals behind the drawn unflagged and ahead of every flagged", () => {
    fc.assert(
      fc.property(
        fc.array(fc.boolean(), { minLength: 0, maxLength: 200 }),
        fc.array(fc.boolean(), { minLength: 0, maxLength: 60 }),
        fc.boolean(),
        (early, late, tickFirst) => {
          const { rules, enter, place } = queue({ preQueueMode: "random" });
          const flags = [...early, ...late];
          const who = flags.map((_, i) => `s-${i}`);
          for (let i = 0; i < early.length; i++) enter(who[i]!);
          // The draw is done by a tick that read no stock (Redis down), or by the sort itself.
          if (tickFirst) rules.tick(START, null);
          // Arrivals after the start, before the first admission: placed by arrival, after the drawn.
          for (let k = 0; k < late.length; k++) enter(who[early.length + k]!, START + 10 + k);
          // Null while nothing drew yet (no tick, nobody after the start): then the sort draws.
          const before = who.map(place);
          rules.sortSlowLane(
            START + 500,
            who.filter((_, i) => flags[i]),
          );
          const after = who.map(place) as number[];
          // The order as it stood: the draw's, then arrival's.
          const order = [...drawOrder(rules.state.seed, early.length), ...late.map((_, k) => early.length + k)];
          const fast = order.filter((i) => !flags[i]);
          const slow = order.filter((i) => flags[i]);
          expect(new Set(after).size).toBe(who.length);
          fast.forEach((i, k) => {
            expect(after[i]).toBe(k + 1);
            if (before[i] != null) expect(after[i]!).toBeLessThanOrEqual(before[i]!);
          });
          slow.forEach((i, k) => {
            expect(after[i]).toBe(fast.length + k + 1);
          });
          expect(rules.store.shoppersBetween(0, who.length)).toEqual([...fast, ...slow].map((i) => who[i]));
        },
      ),
    );
  });
});
