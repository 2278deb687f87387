/**
 * The queue's cost per entrant, counted on the real rules (docs/queue.md "Cost per
 * entrant"): the storage writes an enter, a re-entry and a poll make. The object calls per
 * enter are counted at the edge in tests/unit/queue-shard-count.test.ts.
 */
import { describe, expect, it } from "vitest";
import { MemoryQueueStore } from "../../durable-objects/queue/memory-store";
import { fixedClock, QueueRules } from "../../durable-objects/queue/rules";
import type { QueueStore } from "../../durable-objects/queue/store";
import { mintAdmission, queueSale, START } from "./queue-sale";

const WRITES = new Set<keyof QueueStore>([
  "write",
  "insert",
  "setAdmissionToken",
  "placeDrawn",
  "placeByArrival",
  "logAdmission",
  "dropAdmissionsThrough",
  "number",
]);

/** A memory store that counts the calls that would write in SQLite. */
function countingStore() {
  const writes: string[] = [];
  const store = new Proxy(new MemoryQueueStore(), {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (WRITES.has(prop as keyof QueueStore)) writes.push(String(prop));
        return value.apply(target, args);
      };
    },
  });
  return { store, writes };
}

describe("what one entrant costs the queue's storage", () => {
  it("an enter writes one row, a re-entry and a waiting poll nothing, an admitted poll one token per token lifetime", async () => {
    const { store, writes } = countingStore();
    const rules = new QueueRules({ store, clock: fixedClock(START), mintAdmission });
    rules.configure(queueSale("sale-cost", { admissionRatePerSecond: 1 }), START - 60_000);
    for (let i = 0; i < 3; i++) rules.enter(`s-${i}`, "d", `t-${i}`, START - 60_000);
    writes.length = 0;

    rules.enter("s-3", "d", "t-3", START - 30_000);
    expect(writes).toEqual(["insert"]);
    writes.length = 0;
    rules.enter("s-3", "d", "t-3-again", START - 20_000);
    await rules.poll("t-3", START - 20_000);
    expect(writes).toEqual([]);

    rules.tick(START + 1_000, 10);
    writes.length = 0;
    await rules.poll("t-0", START + 1_000);
    expect(writes).toEqual(["setAdmissionToken"]);
    await rules.poll("t-0", START + 2_000);
    expect(writes).toEqual(["setAdmissionToken"]);
  });
});
