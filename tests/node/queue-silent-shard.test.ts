/**
 * A sharded queue run in plain Node on simulated clocks: the real rules, coordinator,
 * merge and shard report loop, wired to each other directly instead of through Durable
 * Object stubs. One shard goes silent; everyone else is still numbered and admitted.
 */
import { describe, expect, it } from "vitest";
import { Coordinator, type ShardPeer } from "../../durable-objects/queue/coordinator";
import { MemoryQueueStore } from "../../durable-objects/queue/memory-store";
import { SEAL_SILENT_AFTER_MS } from "../../durable-objects/queue/merge";
import { MemoryMergeStore } from "../../durable-objects/queue/merge-store";
import { type Clock, QueueRules } from "../../durable-objects/queue/rules";
import { Shard } from "../../durable-objects/queue/shard";
import type { QueueView } from "../../workers/queue/types";
import { mintAdmission, queueSale, START } from "./queue-sale";

const SHARD_TICK_MS = 100;
const COORDINATOR_TICK_MS = 250;

/** A coordinator and three shards; sale time and real time move together, by hand. */
function shardedQueue() {
  let now = START - 2 * SEAL_SILENT_AFTER_MS;
  const clock: Clock = { now: () => now };
  const config = queueSale("sale-silent", { expectedShoppers: 75_000, admissionRatePerSecond: 100 });
  const coordinatorRules = new QueueRules({ store: new MemoryQueueStore(), clock, mintAdmission });
  const configured = coordinatorRules.configure(config);
  if (!configured.ok || configured.config.role.kind !== "coordinator") throw new Error("expected a sharded sale");
  const { role } = configured.config;
  const shardRules = Array.from(
    { length: role.shards },
    () => new QueueRules({ store: new MemoryQueueStore(), clock, mintAdmission }),
  );
  const setupsSent: number[] = [];
  const peer = (index: number): ShardPeer => ({
    configureShard: async (setup, i) => {
      setupsSent.push(index);
      shardRules[index]!.configureShard(setup, i);
    },
    pushState: async () => {},
  });
  const background: Promise<unknown>[] = [];
  const coordinator = new Coordinator({
    rules: coordinatorRules,
    store: new MemoryMergeStore(),
    shards: role.shards,
    shard: peer,
    realNow: () => now,
    background: (work) => background.push(work),
  });
  const quietSockets = { follow: async () => {}, broadcastClosed: () => {} };
  const shards = shardRules.map(
    (rules) =>
      new Shard(rules, quietSockets, () => ({
        report: async (report) => coordinator.report(report),
        shardSetup: async () => coordinator.setup(),
      })),
  );
  for (const [i, rules] of shardRules.entries())
    rules.configureShard(
      { config, shards: role.shards, cancelled: false, commitment: coordinatorRules.state.commitment, earlier: [] },
      i,
    );

  const enter = (shard: number, shopper: string) => {
    const entry = shardRules[shard]!.enter(shopper, `device-${shopper}`, `token-${shopper}`, now);
    if (!entry.ok) throw new Error(entry.message);
  };
  const view = async (shard: number, shopper: string): Promise<QueueView> => {
    const outcome = await shardRules[shard]!.poll(`token-${shopper}`, now);
    if (!outcome.ok) throw new Error(outcome.message);
    return outcome.value;
  };
  /** Runs `ms` of time: reporting shards every 100 ms, then the coordinator's admitting tick every 250 ms. */
  const run = async (ms: number, reporting: number[]) => {
    for (const end = now + ms; now < end; ) {
      now += SHARD_TICK_MS;
      for (const i of reporting) await shards[i]!.tick(i, now);
      if (now % COORDINATOR_TICK_MS === 0) coordinatorRules.tick(now, 100, coordinator.merge.resolvedCount);
      await Promise.all(background);
    }
  };
  return { enter, view, run, setupsSent, at: () => now };
}

describe("a silent shard stops nobody", () => {
  it("numbers and admits the other shards' entrants once the silent one is sealed out, and places its own after", async () => {
    const q = shardedQueue();
    q.enter(0, "ann");
    q.enter(1, "bob");
    q.enter(2, "cat"); // shard 2 takes her place, then stops reporting
    await q.run(SEAL_SILENT_AFTER_MS / 2, [0, 1]);
    // The global order waits for every shard's seal: while shard 2 may still report, nobody is numbered.
    expect((await q.view(0, "ann")).queue_position).toBeNull();
    // Silent for a second: the coordinator sends it its setup again (a shard that lost it cannot report).
    expect(q.setupsSent).toContain(2);
    expect(q.setupsSent).not.toContain(0);

    await q.run(SEAL_SILENT_AFTER_MS / 2 + 500, [0, 1]);
    expect(q.at()).toBeLessThan(START);
    expect((await q.view(0, "ann")).queue_position).toBe(1);
    expect((await q.view(1, "bob")).queue_position).toBe(2);

    // The sale starts with shard 2 still silent: its neighbours are admitted all the same.
    await q.run(START + 1_000 - q.at(), [0, 1]);
    expect(q.at()).toBeGreaterThan(START);
    expect((await q.view(0, "ann")).state).toBe("admitted");
    expect((await q.view(1, "bob")).state).toBe("admitted");

    // Shard 2 comes back: its entrant is numbered at once, after those numbered meanwhile
    // and before anyone who arrives later.
    await q.run(SHARD_TICK_MS, [2]);
    q.enter(0, "dan");
    await q.run(1_000, [0, 1, 2]);
    expect((await q.view(2, "cat")).queue_position).toBe(3);
    expect((await q.view(0, "dan")).queue_position).toBe(4);
    expect((await q.view(2, "cat")).state).toBe("admitted");
  });
});
