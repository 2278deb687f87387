/**
 * What a sale's shard count costs and how it changes, on real queue objects: one object
 * call per entry for a single-object sale, and a count raised during the pre-queue that
 * keeps every place where it was taken (docs/queue.md "Beyond one object: shards").
 */
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { configureQueue, enterQueue, knownStart, pollQueue, queueStats, queueStub } from "../../workers/queue/client";
import { shardOfToken } from "../../workers/queue/shards";
import type { EnterAnswer } from "../../workers/queue/types";
import { queueSale } from "../node/queue-sale";
import { countingQueues, eventually, freshQueue, setStock } from "./queue-helpers";

async function enter(saleId: string, sub: string): Promise<EnterAnswer> {
  const outcome = await enterQueue(env, saleId, sub, `fp-${sub}`);
  if (!outcome.ok) throw new Error(`${sub} refused: ${outcome.message}`);
  return outcome.value;
}

async function positionOf(saleId: string, a: EnterAnswer): Promise<number | null> {
  const view = await eventually(
    () => pollQueue(env, saleId, a.queue_token),
    (v) => v.ok && v.value.queue_position !== null,
  );
  return view.ok ? view.value.queue_position : null;
}

describe("a sale's shard count", () => {
  it("costs a single-object sale one object call per entry, the first included; a sharded one learns its count from the first", async () => {
    const { saleId } = await freshQueue();
    const { env: counting, counted } = countingQueues();
    for (let i = 0; i < 5; i++)
      expect((await enterQueue(counting, saleId, `solo-${i}`, `solo-device-${i}`)).ok).toBe(true);
    expect(counted.gets).toBe(5);

    // Configured behind this isolate's back: the edge does not know the count yet.
    const crowd = crypto.randomUUID();
    await setStock(queueStub(env, crowd), 100);
    const startMs = Date.now() + 60_000;
    await queueStub(env, crowd).configure({
      ...queueSale(crowd),
      startMs,
      endMs: startMs + 120_000,
      expectedShoppers: 100_000,
    });
    counted.names.length = 0;
    for (let i = 0; i < 4; i++)
      expect((await enterQueue(counting, crowd, `crowd-${i}`, `crowd-device-${i}`)).ok).toBe(true);
    // The first reaches the sale's own object, which passes it on and tells the edge the count;
    // the rest go straight to their shard.
    expect(counted.names[0]).toBe(crowd);
    expect(counted.names.slice(1).every((name) => name.startsWith(`${crowd}/shard/`))).toBe(true);
    expect(counted.names).toHaveLength(4); // Its start comes back too, from the coordinator and from a shard alike: the door
    // retries a refused bot signal only before it (workers/queue/signals.ts).
    expect(knownStart(crowd)).toBe(startMs);
    expect(knownStart(saleId)).toBeGreaterThan(0);
  });

  it("raises the shard count during the pre-queue: earlier places stay, later entrants spread, one order for all", async () => {
    const { saleId, config } = await freshQueue({ startMs: Date.now() + 60_000, endMs: Date.now() + 180_000 });
    const early = await Promise.all(Array.from({ length: 5 }, (_, i) => enter(saleId, `early-${i}`)));
    expect(early.map((a) => a.queue_position).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(await configureQueue(env, { ...config, shards: 4 })).toEqual({ ok: true, shards: 4 });
    const later = await Promise.all(Array.from({ length: 24 }, (_, i) => enter(saleId, `later-${i}`)));
    expect(new Set(later.map((a) => shardOfToken(a.queue_token))).size).toBeGreaterThan(1);
    // Entering again finds the place taken before the raise, though the shopper's home is now a shard.
    for (const [i, answer] of early.entries()) expect(await enter(saleId, `early-${i}`)).toEqual(answer);
    const positions = await Promise.all(later.map((a) => positionOf(saleId, a)));
    expect([...positions].sort((a, b) => a! - b!)).toEqual(Array.from({ length: 24 }, (_, i) => i + 6));
    expect((await queueStats(env, saleId)).length).toBe(29);
    // Places now live on four objects: the count never falls while the door is open.
    expect(await configureQueue(env, { ...config, shards: 2 })).toMatchObject({ ok: false });
  }, 60_000);
});
