import { describe, expect, it } from "vitest";
import { MemoryQueueStore } from "../../durable-objects/queue/memory-store";
import { checkQueueAgainstModel, RULES_TO_REACH } from "./queue-model";

describe("the queue's rules, against a model", () => {
  it("agree with the model after every step of random entries, re-entries, ticks, stock changes, polls and a cancel", async () => {
    const reached = await checkQueueAgainstModel(() => new MemoryQueueStore(), 300);
    expect([...reached].sort()).toEqual([...RULES_TO_REACH].sort());
  }, 60_000);
});
