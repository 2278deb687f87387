import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { commitmentOf, drawPermutation } from "../../durable-objects/queue/draw";
import { queueStats } from "../../workers/queue/client";
import { enterMany, freshQueue, START, setClock } from "./queue-helpers";

describe("a sale's queue orders its crowd fairly", () => {
  it("gives 10,000 entrants unique positions in arrival order (fifo)", async () => {
    const { saleId, stub } = await freshQueue();
    const answers = await enterMany(stub, saleId, 10_000);
    expect(answers.map((a) => a.queue_position)).toEqual(answers.map((_, i) => i + 1));
    expect(new Set(answers.map((a) => a.queue_token)).size).toBe(10_000);
    expect((await queueStats(env, saleId)).length).toBe(10_000);
  }, 120_000);

  it("gives a shopper who enters again the same position and token: refreshing gains nothing", async () => {
    const { saleId, stub } = await freshQueue();
    await enterMany(stub, saleId, 3);
    const first = await stub.enter(saleId, "refresher", "dev-r");
    await enterMany(stub, saleId, 3, "later");
    const again = await stub.enter(saleId, "refresher", "dev-r");
    const otherDevice = await stub.enter(saleId, "refresher", "dev-r2");
    expect(first).toMatchObject({ ok: true, value: { queue_position: 4 } });
    expect(again.ok && first.ok && again.value.queue_token).toBe(first.ok && first.value.queue_token);
    expect(again.ok && again.value.queue_position).toBe(4);
    expect(otherDevice.ok && otherDevice.value.queue_position).toBe(4);
    expect((await queueStats(env, saleId)).length).toBe(7);
  });

  it("gives shoppers on look-alike devices a place each: a device is a signal, not an identity", async () => {
    const { saleId, stub } = await freshQueue();
    const answers = await Promise.all(["alice", "bob", "carol"].map((s) => stub.enter(saleId, s, "same-phone")));
    expect(answers.map((a) => a.ok && a.value.queue_position).sort()).toEqual([1, 2, 3]);
    expect((await queueStats(env, saleId)).length).toBe(3);
  });

  it("drops the old one-place-per-device rule from a queue created before it, keeping every place", async () => {
    const { saleId, stub } = await freshQueue();
    const [kept] = await enterMany(stub, saleId, 1);
    // The table as objects made before devices stopped being identities hold it.
    await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec("DROP TABLE entrants");
      sql.exec(`CREATE TABLE entrants (seq INTEGER PRIMARY KEY, shopper TEXT NOT NULL UNIQUE,
        device TEXT NOT NULL UNIQUE, token TEXT NOT NULL UNIQUE, arrival INTEGER UNIQUE, position INTEGER UNIQUE,
        arrived_ms INTEGER NOT NULL, adm_token TEXT, adm_expires_ms INTEGER)`);
      sql.exec(
        "INSERT INTO entrants (shopper, device, token, arrival, position, arrived_ms) VALUES ('shopper-0', 'same-phone', ?, 1, 1, 0)",
        kept!.queue_token,
      );
    });
    await evictDurableObject(stub);
    await setClock(stub, START - 60_000);
    expect((await stub.enter(saleId, "twin", "same-phone")).ok).toBe(true);
    expect(await stub.poll(kept!.queue_token)).toMatchObject({ ok: true, value: { queue_position: 1 } });
    expect((await queueStats(env, saleId)).length).toBe(2);
  });

  it("opens the door at the pre-queue time and not a moment before", async () => {
    const { saleId, stub } = await freshQueue({ preQueueMinutes: 5 });
    await setClock(stub, START - 5 * 60_000 - 1);
    expect(await stub.enter(saleId, "early", "d-early")).toMatchObject({
      ok: false,
      status: 422,
      code: "sale_not_active",
    });
    await setClock(stub, START - 5 * 60_000);
    expect(await stub.enter(saleId, "on-time", "d-on-time")).toMatchObject({ ok: true, value: { queue_position: 1 } });
    expect((await queueStats(env, saleId)).length).toBe(1);
  });

  it("random mode: shuffles the pre-start crowd by the committed seed, later arrivals follow in order", async () => {
    const { saleId, stub } = await freshQueue({ preQueueMode: "random" });
    const before = await enterMany(stub, saleId, 10_000);
    expect(before.every((a) => a.queue_position === null)).toBe(true);

    const pending = await stub.poll(before[0]!.queue_token);
    if (!pending.ok) throw new Error(pending.message);
    const commitment = pending.value.draw!.commitment;
    expect(pending.value.draw!.seed).toBeNull();

    await setClock(stub, START);
    await stub.tick();
    const late = await enterMany(stub, saleId, 5, "late");
    expect(late.map((a) => a.queue_position)).toEqual([10_001, 10_002, 10_003, 10_004, 10_005]);

    const first = await stub.poll(before[0]!.queue_token);
    if (!first.ok) throw new Error(first.message);
    const { seed, drawn_count } = first.value.draw!;
    // The published seed is the one committed to before the start.
    expect(commitmentOf(seed!)).toBe(commitment);
    expect(drawn_count).toBe(10_000);

    // Anyone can recompute the whole draw from the seed: every position is where the seed puts it.
    const rank = drawPermutation(seed!, 10_000);
    const positions: number[] = [];
    for (let i = 0; i < 10_000; i += 1) {
      const view = await stub.poll(before[i]!.queue_token);
      if (!view.ok) throw new Error(view.message);
      expect(view.value.draw!.arrival_number).toBe(i + 1);
      positions.push(view.value.queue_position!);
    }
    expect(positions).toEqual([...rank].map((r) => r + 1));
    expect(new Set(positions).size).toBe(10_000);
    // And it is a real shuffle, not arrival order.
    expect(positions.slice(0, 10)).not.toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  }, 180_000);
});
