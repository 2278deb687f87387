/**
 * A queue that heals and sleeps (docs/queue.md "A queue that heals"): the alarm survives a
 * tick that throws and a lost alarm, ticks never overlap, a failed start is tried again,
 * and a queue nobody waits in has no alarm before its next boundary.
 */
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SaleQueue } from "../../durable-objects/sale-queue";
import { DEFAULTS } from "../../workers/config";
import { configureQueue, notifyStockChanged, queueStats } from "../../workers/queue/client";
import { enterMany, freshQueue, START, type Stub, setClock, setStock } from "./queue-helpers";

/** How far ahead, in real ms, the object's alarm is set; null when it has none. */
const alarmIn = (stub: Stub) =>
  runInDurableObject(stub, async (_queue: SaleQueue, state) => {
    const at = await state.storage.getAlarm();
    return at === null ? null : at - Date.now();
  });

/** A running sale with `waiting` shoppers queued and nobody admitted yet. */
async function runningQueue(waiting: number) {
  const queue = await freshQueue({ admissionRatePerSecond: 10 });
  await enterMany(queue.stub, queue.saleId, waiting);
  await setClock(queue.stub, START + 1_000);
  return queue;
}

describe("a queue that heals", () => {
  it("re-arms its alarm when a tick throws, and admits again once the cause is gone", async () => {
    const { saleId, stub } = await runningQueue(5);
    await runInDurableObject(stub, (queue: SaleQueue) => {
      queue.stock = async () => {
        throw new Error("redis is down");
      };
    });
    // Called in the object (an RPC rejection would surface as the runner's unhandled error).
    const thrown = await runInDurableObject(stub, (queue: SaleQueue) =>
      queue.tick().then(
        () => null,
        (err: Error) => err.message,
      ),
    );
    expect(thrown).toBe("redis is down");
    // The runtime's alarm (removed as it runs): its tick throws, and the next one is set all the same.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await alarmIn(stub)).not.toBeNull();

    await setStock(stub, 10);
    await setClock(stub, START + 1_500);
    await stub.tick();
    expect((await queueStats(env, saleId)).admittedThrough).toBeGreaterThan(0);
  });

  it("sets the alarm again on a poll when none is set", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 10 });
    const [, , last] = await enterMany(stub, saleId, 3);
    await setClock(stub, START + 1_000);
    await runInDurableObject(stub, (_queue: SaleQueue, state) => state.storage.deleteAlarm());
    expect(await alarmIn(stub)).toBeNull();
    expect(await stub.poll(last!.queue_token)).toMatchObject({ ok: true, value: { state: "waiting" } });
    // Someone waits in a running sale: the next tick is due within a tick's spacing.
    expect(await alarmIn(stub)).toBeLessThan(1_000);
  });

  it("never runs two ticks at once: an alarm during a tick joins it", async () => {
    const { stub } = await runningQueue(5);
    const reads = await runInDurableObject(stub, async (queue: SaleQueue) => {
      let reads = 0;
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      queue.stock = async () => {
        reads++;
        await held;
        return { units: 10, decided: 0 };
      };
      const tick = queue.tick();
      const alarm = queue.alarm();
      await new Promise((resolve) => setTimeout(resolve, 20));
      release();
      await Promise.all([tick, alarm]);
      return reads;
    });
    expect(reads).toBe(1);
  });

  it("starts again on the next call after a failed start, without waiting to be evicted", async () => {
    const { saleId, stub } = await freshQueue();
    const config = await runInDurableObject(
      stub,
      (_queue: SaleQueue, state) =>
        state.storage.sql.exec<{ v: string }>("SELECT v FROM kv WHERE k = 'config'").one().v,
    );
    await runInDurableObject(stub, (_queue: SaleQueue, state) => {
      state.storage.sql.exec("UPDATE kv SET v = '{' WHERE k = 'config'");
    });
    await evictDurableObject(stub);
    const startFailure = () =>
      runInDurableObject(stub, (queue: SaleQueue) => {
        try {
          queue.stats();
          return null;
        } catch (err) {
          return (err as Error).name;
        }
      });
    expect(await startFailure()).toBe("SyntaxError");
    // The cause goes away (here: the row is repaired); the same instance starts on the next call.
    await runInDurableObject(stub, (_queue: SaleQueue, state) => {
      state.storage.sql.exec("UPDATE kv SET v = ? WHERE k = 'config'", config);
    });
    expect(await startFailure()).toBeNull();
    // The clock stand-in went with the evicted instance.
    await setClock(stub, START - 60_000);
    expect(await stub.stats()).toMatchObject({ length: 0, closed: false });
    expect((await stub.enter(saleId, "after-restart", "d")).ok).toBe(true);
  });
});

describe("a queue with no one waiting sleeps", () => {
  it("has no alarm before the sale's end while nobody waits, and ticks again when someone enters", async () => {
    const { saleId, stub, config } = await freshQueue({ admissionRatePerSecond: 10 });
    await setClock(stub, START + 1_000);
    // Through the alarm itself: a tick never postpones an alarm already due sooner.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    const sleeping = await alarmIn(stub);
    // Asleep until the close, an hour away on the sale's clock, not 250 ms.
    expect(sleeping).toBeGreaterThan(config.endMs - (START + 1_000) - 60_000);

    await enterMany(stub, saleId, 2);
    expect(await alarmIn(stub)).toBeLessThan(1_000);
    await setClock(stub, START + 2_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(2);
    // Everyone admitted, but their turns are live: it keeps ticking, so a sold out reaches them.
    expect(await alarmIn(stub)).toBeLessThan(1_000);
    // Once the turns lapse nobody holds or awaits one: back to sleep.
    await setClock(stub, START + 2_000 + DEFAULTS.admissionWindowSeconds * 1_000 + 1_000);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await alarmIn(stub)).toBeGreaterThan(60_000);
  });

  it("wakes on a poll, a stock change and a new rate while someone waits, and sets no alarm once closed", async () => {
    const { saleId, stub, config } = await freshQueue({ admissionRatePerSecond: 10 });
    const [place] = await enterMany(stub, saleId, 1);
    await setStock(stub, 0);
    await setClock(stub, START + 1_000);
    await stub.tick();
    const quiet = () => runInDurableObject(stub, (_queue: SaleQueue, state) => state.storage.deleteAlarm());

    await quiet();
    await stub.poll(place!.queue_token);
    expect(await alarmIn(stub)).toBeLessThan(2_000);

    await quiet();
    await setStock(stub, 5);
    await notifyStockChanged(env, saleId);
    expect(await alarmIn(stub)).not.toBeNull();

    await quiet();
    await configureQueue(env, { ...config, admissionRatePerSecond: 20 });
    expect(await alarmIn(stub)).not.toBeNull();

    await stub.cancel();
    expect(await alarmIn(stub)).toBeNull();
  });
});
