/**
 * Fifo's slow lane (docs/queue.md "The slow lane") on the queue's real rules, in plain Node:
 * the shoppers the door's bot signals flagged before the start wait behind every unflagged
 * shopper who took a place before the first admission, and the queue's promises still hold:
 * unique places, unflagged shoppers in their order of arrival, re-entry answers the same place.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryQueueStore } from "../../durable-objects/queue/memory-store";
import { fixedClock, QueueRules } from "../../durable-objects/queue/rules";
import type { QueueSaleConfig } from "../../workers/queue/types";
import { mintAdmission, queueSale, START } from "./queue-sale";

function queue(overrides: Partial<QueueSaleConfig> = {}) {
  const rules = new QueueRules({ store: new MemoryQueueStore(), clock: fixedClock(START), mintAdmission });
  rules.configure(queueSale("sale-1", overrides));
  const enter = (shopper: string, now = START - 60_000) => {
    const entry = rules.enter(shopper, `device-of-${shopper}`, `token-of-${shopper}`, now);
    if (!entry.ok) throw new Error(entry.message);
    return entry.value;
  };
  const place = (shopper: string) => rules.store.byShopper(shopper)?.position ?? null;
  return { rules, enter, place };
}

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

  it("keeps random mode's draw and a sharded queue's merge as they are", () => {
    expect(queue({ preQueueMode: "random" }).rules.slowLaneDue(START)).toBe(false);
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
