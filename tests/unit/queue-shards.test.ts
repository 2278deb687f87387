import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { commitmentOf, drawPermutation } from "../../durable-objects/queue/draw";
import {
  cancelQueue,
  configureQueue,
  enterQueue,
  notifyStockChanged,
  pollQueue,
  queueStats,
  queueStub,
} from "../../workers/queue/client";
import { shardOfToken, shardsFor } from "../../workers/queue/shards";
import type { EnterAnswer, QueueSaleConfig, QueueView } from "../../workers/queue/types";
import { eventually, setStock, sleep } from "./queue-helpers";

/** A sale big enough for four shards, on the real clock (shards report on real alarms). */
async function shardedSale(overrides: Partial<QueueSaleConfig> = {}) {
  const saleId = crypto.randomUUID();
  const now = Date.now();
  const config: QueueSaleConfig = {
    saleId,
    startMs: now + 60_000,
    endMs: now + 180_000,
    preQueueMinutes: 5,
    preQueueMode: "fifo",
    admissionRatePerSecond: 100,
    expectedShoppers: 100_000,
    ...overrides,
  };
  expect(shardsFor(config.expectedShoppers)).toBe(4);
  await setStock(queueStub(env, saleId), 1_000);
  await configureQueue(env, config);
  return { saleId, config };
}

async function enter(saleId: string, sub: string, device = `fp-${sub}`): Promise<EnterAnswer> {
  const outcome = await enterQueue(env, saleId, sub, device);
  if (!outcome.ok) throw new Error(`${sub} refused: ${outcome.message}`);
  return outcome.value;
}

async function poll(saleId: string, token: string): Promise<QueueView> {
  const outcome = await pollQueue(env, saleId, token);
  if (!outcome.ok) throw new Error(outcome.message);
  return outcome.value;
}

/** The place's number: in the enter answer, or (on a loaded machine, past the enter's wait) from the poll. */
async function positionOf(saleId: string, a: EnterAnswer): Promise<number | null> {
  if (a.queue_position !== null) return a.queue_position;
  return (
    await eventually(
      () => poll(saleId, a.queue_token),
      (v) => v.queue_position !== null,
    )
  ).queue_position;
}

/** Opens a socket on the object holding each place; each `closed` resolves, once it is closed, with the last state it was told. */
async function openSockets(saleId: string, answers: EnterAnswer[]): Promise<Array<{ closed: Promise<string> }>> {
  return Promise.all(
    answers.map(async (a) => {
      const res = await queueStub(env, saleId, shardOfToken(a.queue_token)).fetch(`http://q/queue/${a.queue_token}`, {
        headers: { Upgrade: "websocket" },
      });
      const ws = res.webSocket!;
      ws.accept();
      let last = "";
      ws.addEventListener("message", (e) => {
        last = JSON.parse(e.data as string).state;
      });
      // Wrapped: an async function returning the promise itself would wait for it here.
      return { closed: new Promise<string>((resolve) => ws.addEventListener("close", () => resolve(last))) };
    }),
  );
}

describe("a sharded queue's end and cancel reach every shopper", () => {
  it("tells every socket on every shard that the sale was cancelled, and closes it", async () => {
    const { saleId } = await shardedSale();
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => enter(saleId, `cancel-${i}`)));
    expect(new Set(answers.map((a) => shardOfToken(a.queue_token))).size).toBe(4);
    const sockets = await openSockets(saleId, answers);
    await cancelQueue(env, saleId);
    expect(new Set(await Promise.all(sockets.map((s) => s.closed)))).toEqual(new Set(["closed"]));
  }, 30_000);

  it("tells every socket on every shard that the sale ended, and closes it", async () => {
    const { saleId } = await shardedSale({ startMs: Date.now(), endMs: Date.now() + 3_000 });
    const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => enter(saleId, `end-${i}`)));
    expect(new Set(answers.map((a) => shardOfToken(a.queue_token))).size).toBe(4);
    const sockets = await openSockets(saleId, answers);
    expect(new Set(await Promise.all(sockets.map((s) => s.closed)))).toEqual(new Set(["closed"]));
  }, 30_000);
});

describe("a queue sharded across objects keeps one global order", () => {
  it("numbers 2,000 entrants on 4 shards uniquely and in arrival order, and re-entry keeps the place", async () => {
    const { saleId } = await shardedSale();
    const waves: EnterAnswer[][] = [];
    for (let w = 0; w < 10; w++) {
      waves.push(await Promise.all(Array.from({ length: 200 }, (_, i) => enter(saleId, `w${w}-${i}`))));
    }
    const all = waves.flat();
    const numbered = await Promise.all(waves.map((wave) => Promise.all(wave.map((a) => positionOf(saleId, a)))));
    const positions = numbered.flat();
    expect(positions.filter((p) => typeof p !== "number")).toEqual([]);
    expect([...positions].sort((a, b) => a! - b!)).toEqual(all.map((_, i) => i + 1));
    // A wave that arrived after another finished is behind all of it, whichever shards served them.
    for (let w = 1; w < waves.length; w++) {
      expect(Math.min(...(numbered[w] as number[]))).toBeGreaterThan(Math.max(...(numbered[w - 1] as number[])));
    }
    expect(new Set(all.map((a) => shardOfToken(a.queue_token))).size).toBe(4);
    const again = await enter(saleId, "w3-17");
    expect(again).toMatchObject({ queue_position: numbered[3]![17], queue_token: waves[3]![17]!.queue_token });
    expect((await queueStats(env, saleId)).length).toBe(2_000);
  }, 120_000);

  it("gives every shopper on a look-alike phone a place, on whichever shard", async () => {
    const { saleId } = await shardedSale();
    const entries = await Promise.all(
      Array.from({ length: 9 }, (_, i) => enterQueue(env, saleId, `look-alike-${i}`, "same-model-phone")),
    );
    expect(entries.every((r) => r.ok)).toBe(true);
    expect((await queueStats(env, saleId)).length).toBe(9);
  });

  it("admits by the global watermark on every shard and tells every shard's sockets sold_out within 1 s", async () => {
    const { saleId } = await shardedSale({ startMs: Date.now(), admissionRatePerSecond: 10 });
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => enter(saleId, `s-${i}`)));
    const { admittedThrough } = await eventually(
      () => queueStats(env, saleId),
      (s) => s.admittedThrough >= 5,
    );
    expect(admittedThrough).toBeGreaterThan(0);
    expect(admittedThrough).toBeLessThan(200);
    // Every shard takes the watermark on its next report: everyone at or below it reads admitted, nobody above it.
    const views = await Promise.all(
      answers.map((a) =>
        eventually(
          () => poll(saleId, a.queue_token),
          (v) => v.queue_position !== null && (v.queue_position > admittedThrough || v.state === "admitted"),
        ),
      ),
    );
    for (const v of views) if (v.queue_position! <= admittedThrough) expect(v.state).toBe("admitted");
    const { admittedThrough: now } = await queueStats(env, saleId);
    for (const v of views) if (v.queue_position! > now) expect(v.state).toBe("waiting");

    const sockets = await Promise.all(
      answers.slice(-40).map(async (a) => {
        const res = await queueStub(env, saleId, shardOfToken(a.queue_token)).fetch(`http://q/queue/${a.queue_token}`, {
          headers: { Upgrade: "websocket" },
        });
        const ws = res.webSocket!;
        ws.accept();
        // Wrapped: an async function returning the promise itself would wait for it here.
        return {
          soldOut: new Promise<number>((resolve) =>
            ws.addEventListener("message", (e) => {
              if (JSON.parse(e.data as string).state === "sold_out") resolve(Date.now());
            }),
          ),
        };
      }),
    );
    await setStock(queueStub(env, saleId), 0);
    const soldAt = Date.now();
    await notifyStockChanged(env, saleId);
    const heard = await Promise.all(sockets.map((s) => s.soldOut));
    expect(Math.max(...heard) - soldAt).toBeLessThan(1_000);
    expect((await queueStats(env, saleId)).soldOut).toBe(true);
  }, 30_000);

  it("random mode on shards: one draw over all shards' pre-start entrants, fixed by the published seed", async () => {
    const { saleId } = await shardedSale({ preQueueMode: "random", startMs: Date.now() + 2_000 });
    const early = await Promise.all(Array.from({ length: 300 }, (_, i) => enter(saleId, `r-${i}`)));
    expect(early.every((a) => a.queue_position === null)).toBe(true);
    const commitment = (await poll(saleId, early[0]!.queue_token)).draw!.commitment;
    await sleep(2_600);
    const views = await Promise.all(early.map((a) => poll(saleId, a.queue_token)));
    const { seed, drawn_count } = views[0]!.draw!;
    expect(commitmentOf(seed!)).toBe(commitment);
    expect(drawn_count).toBe(300);
    const rank = drawPermutation(seed!, drawn_count!);
    for (const v of views) expect(v.queue_position).toBe(rank[v.draw!.arrival_number! - 1]! + 1);
    expect(new Set(views.map((v) => v.queue_position)).size).toBe(300);
    const late = await enter(saleId, "after-start");
    expect(late.queue_position).toBe(301);
  }, 30_000);

  it("a shard whose configuration was lost asks the coordinator instead of starting an order of its own", async () => {
    const saleId = crypto.randomUUID();
    const now = Date.now();
    await setStock(queueStub(env, saleId), 10);
    await configureQueue(env, {
      saleId,
      startMs: now + 60_000,
      endMs: now + 120_000,
      preQueueMinutes: 5,
      preQueueMode: "fifo",
      admissionRatePerSecond: 10,
      expectedShoppers: 50_000,
    });
    // The lost call: shard 1 comes back from eviction with nothing stored.
    await runInDurableObject(queueStub(env, saleId, 1), async (_i, state) => {
      await state.storage.deleteAlarm();
      await state.storage.deleteAll();
    });
    await evictDurableObject(queueStub(env, saleId, 1));
    const answers = [];
    for (let i = 0; i < 6; i++) {
      const outcome = await enterQueue(env, saleId, `lost-${i}`, `fp-lost-${i}`);
      if (!outcome.ok) throw new Error(outcome.message);
      answers.push(outcome.value);
    }
    expect(answers.map((a) => shardOfToken(a.queue_token))).toContain(1);
    const positions = await Promise.all(answers.map((a) => positionOf(saleId, a)));
    expect(positions.sort()).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
