/**
 * The shard count a sale's queue runs on (rules.ts `configure`): the admin's, else the one
 * in force, else sized from the expected crowd. It rises until the start and falls only
 * before the door opens, because a shopper's place lives on the object where they entered.
 */
import { describe, expect, it } from "vitest";
import { MemoryQueueStore } from "../../durable-objects/queue/memory-store";
import { earlierCounts } from "../../durable-objects/queue/model";
import { fixedClock, QueueRules } from "../../durable-objects/queue/rules";
import { queueSale, START } from "./queue-sale";

const DOOR_OPENS = START - 5 * 60_000;

function queue(shards?: number) {
  const rules = new QueueRules({
    store: new MemoryQueueStore(),
    clock: fixedClock(START),
    mintAdmission: async () => ({ token: "t", expiresAt: new Date(0) }),
  });
  const sale = queueSale("sale-count", { shards });
  const configure = (count: number | undefined, now: number) => rules.configure({ ...sale, shards: count }, now);
  return { rules, configure };
}

describe("the shard count the admin sets", () => {
  it("is the admin's when set, kept when a later configuration leaves it out, and sized from the crowd otherwise", () => {
    const { rules, configure } = queue();
    expect(configure(undefined, DOOR_OPENS - 1)).toMatchObject({ ok: true, before: 1 });
    expect(rules.shardCount()).toBe(1);
    expect(configure(8, DOOR_OPENS - 1)).toMatchObject({ ok: true });
    expect(configure(undefined, DOOR_OPENS - 1)).toMatchObject({ ok: true, before: 8 });
    expect(rules.shardCount()).toBe(8);
  });

  it("rises during the pre-queue, remembering the earlier count for the places taken under it", () => {
    const { rules, configure } = queue();
    configure(undefined, DOOR_OPENS - 1);
    expect(configure(4, DOOR_OPENS + 1)).toMatchObject({ ok: true, before: 1 });
    expect(configure(8, START - 1)).toMatchObject({ ok: true, before: 4 });
    expect(rules.shardCount()).toBe(8);
    expect(earlierCounts(rules.config!.role)).toEqual([1, 4]);
  });

  it("never falls once the door is open, and never changes once the sale has started", () => {
    const { rules, configure } = queue();
    configure(4, DOOR_OPENS - 1);
    expect(configure(2, DOOR_OPENS - 1)).toMatchObject({ ok: true, before: 4 });
    configure(4, DOOR_OPENS - 1);
    expect(earlierCounts(rules.config!.role)).toEqual([]);
    expect(configure(2, DOOR_OPENS)).toMatchObject({ ok: false });
    expect(configure(8, START)).toMatchObject({ ok: false });
    expect(rules.shardCount()).toBe(4);
  });
});
