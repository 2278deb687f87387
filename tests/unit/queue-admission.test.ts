import { evictDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { verifyAdmissionToken } from "../../workers/auth/admission";
import { configureQueue, notifyStockChanged, queueStats } from "../../workers/queue/client";
import { enterMany, freshQueue, runClock, START, setClock, setStock } from "./queue-helpers";

describe("admission follows the configured rate and the stock", () => {
  it("admits at the configured rate, within 2% over 30 s of the sale's clock, however the ticks fall", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 100 });
    // Stock far above the crowd: the outstanding-admission cap never binds here.
    await setStock(stub, 1_000_000);
    await enterMany(stub, saleId, 4_000);
    await setClock(stub, START);
    await stub.tick();
    let seed = 7;
    // Irregular alarm spacing, 50–950 ms: late or bunched alarms must not change the rate.
    const jitter = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return 50 + (seed % 900);
    };
    const admittedAt: number[] = [];
    for (let second = 5; second <= 30; second += 5) {
      await runClock(stub, START + (second - 5) * 1000, START + second * 1000, jitter);
      admittedAt.push((await queueStats(env, saleId)).admittedThrough);
    }
    expect(Math.abs(admittedAt.at(-1)! - 3_000) / 3_000).toBeLessThanOrEqual(0.02);
    // Every 5 s window, not just the total, keeps the rate.
    for (const [i, through] of admittedAt.entries()) expect(Math.abs(through - (i + 1) * 500)).toBeLessThanOrEqual(10);
  }, 60_000);

  it("takes a new rate from the admin at once", async () => {
    const { saleId, stub, config } = await freshQueue({ admissionRatePerSecond: 10 });
    await enterMany(stub, saleId, 500);
    await setClock(stub, START);
    await stub.tick();
    await runClock(stub, START, START + 10_000, 500);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(100);
    await configureQueue(env, { ...config, admissionRatePerSecond: 30 });
    await runClock(stub, START + 10_000, START + 20_000, 500);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(400);
  }, 30_000);

  it("never lets the watermark run ahead of the queue: idle time is not banked", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 10 });
    await enterMany(stub, saleId, 5);
    await setClock(stub, START);
    await runClock(stub, START, START + 60_000, 1_000);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(5);
    await enterMany(stub, saleId, 100, "late");
    await runClock(stub, START + 60_000, START + 61_000, 1_000);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(15);
  });

  it("gives an admitted shopper a 60 s admission JWT bound to shopper, sale and a unique id", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 1 });
    const [a, b, c] = await enterMany(stub, saleId, 3);
    await setClock(stub, START);
    await runClock(stub, START, START + 2_000, 1_000);
    const first = await stub.poll(a!.queue_token);
    const second = await stub.poll(b!.queue_token);
    const third = await stub.poll(c!.queue_token);
    expect(first).toMatchObject({ ok: true, value: { state: "admitted", queue_position: 1, admitted_through: 2 } });
    expect(third).toMatchObject({ ok: true, value: { state: "waiting", queue_position: 3 } });
    expect(third.ok && third.value.admission_token).toBeUndefined();
    if (!first.ok || !second.ok) throw new Error("poll refused");
    const claims = await verifyAdmissionToken(
      first.value.admission_token!,
      env.ADMISSION_JWT_SECRET,
      saleId,
      START + 2_000,
    );
    const claims2 = await verifyAdmissionToken(
      second.value.admission_token!,
      env.ADMISSION_JWT_SECRET,
      saleId,
      START + 2_000,
    );
    expect(claims.sub).toBe("shopper-0");
    // The device it entered with rides along, for the purchase's one-purchase-per-device rule.
    expect(claims.device).toBe("shopper-device-0");
    expect(claims.exp * 1000 - (START + 2_000)).toBe(60_000);
    expect(claims.jti).not.toBe(claims2.jti);
    expect(first.value.admission_expires_at).toBe(new Date(START + 62_000).toISOString());
    // Polling again returns the same token while it is valid: no pile of live tokens per shopper.
    const again = await stub.poll(a!.queue_token);
    expect(again.ok && again.value.admission_token).toBe(first.value.admission_token);
    await expect(
      verifyAdmissionToken(first.value.admission_token!, env.ADMISSION_JWT_SECRET, crypto.randomUUID(), START + 2_000),
    ).rejects.toMatchObject({ status: 403 });
  });

  it("stops admitting when stock reaches zero, tells every waiting shopper sold_out, and resumes when stock returns", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 10 });
    const answers = await enterMany(stub, saleId, 100);
    await setClock(stub, START);
    await runClock(stub, START, START + 2_000, 500);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(20);

    await setStock(stub, 0);
    await notifyStockChanged(env, saleId);
    await runClock(stub, START + 2_000, START + 10_000, 500);
    expect(await queueStats(env, saleId)).toMatchObject({ admittedThrough: 20, soldOut: true });
    for (const i of [0, 50, 99])
      expect(await stub.poll(answers[i]!.queue_token)).toMatchObject({
        ok: true,
        value: { state: "sold_out", estimated_wait_seconds: 0 },
      });

    await setStock(stub, 3);
    await notifyStockChanged(env, saleId);
    await runClock(stub, START + 10_000, START + 11_000, 500);
    // Returned units go to the 20 whose turns are still open (20 live turns > 2 × 3 units): nobody new yet.
    expect(await queueStats(env, saleId)).toMatchObject({ admittedThrough: 20, soldOut: false });
    expect(await stub.poll(answers[15]!.queue_token)).toMatchObject({ ok: true, value: { state: "admitted" } });
    expect(await stub.poll(answers[25]!.queue_token)).toMatchObject({ ok: true, value: { state: "waiting" } });
  });

  it("with 1 unit left admits about 2 people, not the rate times the time", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 100 });
    await setStock(stub, 1);
    const answers = await enterMany(stub, saleId, 50);
    await setClock(stub, START);
    await runClock(stub, START, START + 5_000, 250);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(2);
    expect(await stub.poll(answers[1]!.queue_token)).toMatchObject({ ok: true, value: { state: "admitted" } });
    expect(await stub.poll(answers[2]!.queue_token)).toMatchObject({ ok: true, value: { state: "waiting" } });
    // The cap follows the stock: 5 units left, 10 turns outstanding at most.
    await setStock(stub, 5);
    await runClock(stub, START + 5_000, START + 6_000, 250);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(10);
  });

  it("takes the multiple from the sale's config", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 100, admittedPerUnit: 3 });
    await setStock(stub, 2);
    await enterMany(stub, saleId, 50);
    await setClock(stub, START);
    await runClock(stub, START, START + 2_000, 250);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(6);
  });

  it("lapses a turn unused within its window, admits the next in line, and the lapsed token cannot outlive it", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 100, admissionWindowSeconds: 90 });
    await setStock(stub, 1);
    const answers = await enterMany(stub, saleId, 10);
    await setClock(stub, START);
    await runClock(stub, START, START + 1_000, 500);
    expect(await queueStats(env, saleId)).toMatchObject({ admittedThrough: 2, lapsedThrough: 0 });
    const admittedAt = START + 500;
    // Near the end of the window the token is cut short to the window's end.
    await runClock(stub, START + 1_000, admittedAt + 70_000, 10_000);
    const late = await stub.poll(answers[0]!.queue_token);
    if (!late.ok) throw new Error(late.message);
    expect(late.value).toMatchObject({ state: "admitted", admission_token: expect.any(String) });
    expect(Date.parse(late.value.admission_expires_at!)).toBeLessThanOrEqual(admittedAt + 90_000);
    const claims = await verifyAdmissionToken(
      late.value.admission_token!,
      env.ADMISSION_JWT_SECRET,
      saleId,
      admittedAt + 70_000,
    );
    expect(claims.exp * 1000).toBeLessThanOrEqual(admittedAt + 90_000);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(2);

    await runClock(stub, admittedAt + 70_000, admittedAt + 91_000, 500);
    expect(await queueStats(env, saleId)).toMatchObject({ admittedThrough: 4, lapsedThrough: 2 });
    const lapsed = await stub.poll(answers[0]!.queue_token);
    expect(lapsed).toMatchObject({ ok: true, value: { state: "admitted", lapsed: true } });
    expect(lapsed.ok && lapsed.value.admission_token).toBeUndefined();
    expect(await stub.poll(answers[2]!.queue_token)).toMatchObject({
      ok: true,
      value: { state: "admitted", admission_token: expect.any(String) },
    });
    expect(await stub.poll(answers[4]!.queue_token)).toMatchObject({ ok: true, value: { state: "waiting" } });
  });

  it("gives a unit that comes back after a sell-out to the next in line, not to a turn that lapsed long ago", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 100, admissionWindowSeconds: 60 });
    await setStock(stub, 1);
    const answers = await enterMany(stub, saleId, 10);
    await setClock(stub, START);
    await runClock(stub, START, START + 1_000, 500);
    await setStock(stub, 0); // the first in line bought the unit
    await notifyStockChanged(env, saleId);
    await runClock(stub, START + 1_000, START + 300_000, 5_000);
    expect(await queueStats(env, saleId)).toMatchObject({ admittedThrough: 2, soldOut: true });
    await setStock(stub, 1); // their reservation expired: the unit is back
    await notifyStockChanged(env, saleId);
    await runClock(stub, START + 300_000, START + 301_000, 500);
    expect(await queueStats(env, saleId)).toMatchObject({ admittedThrough: 4, lapsedThrough: 2, soldOut: false });
    expect(await stub.poll(answers[1]!.queue_token)).toMatchObject({ ok: true, value: { lapsed: true } });
    expect(await stub.poll(answers[2]!.queue_token)).toMatchObject({
      ok: true,
      value: { state: "admitted", admission_token: expect.any(String) },
    });
  });

  it("holds admission while the stock cannot be read, rather than admitting blind", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 10 });
    await enterMany(stub, saleId, 50);
    await setStock(stub, null); // falls through to Redis, which is a dead port here
    await setClock(stub, START);
    await runClock(stub, START, START + 2_000, 1_000);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(0);
  });

  it("closes at the end and after a cancel: nobody else enters, every place reads closed", async () => {
    const { saleId, stub, config } = await freshQueue();
    const [a] = await enterMany(stub, saleId, 1);
    await setClock(stub, config.endMs);
    expect(await stub.poll(a!.queue_token)).toMatchObject({ ok: true, value: { state: "closed" } });
    expect(await stub.enter(saleId, "late", "d-late")).toMatchObject({ ok: false, status: 422 });

    const other = await freshQueue();
    const [b] = await enterMany(other.stub, other.saleId, 1);
    await other.stub.cancel();
    expect(await other.stub.poll(b!.queue_token)).toMatchObject({ ok: true, value: { state: "closed" } });
    expect((await queueStats(env, other.saleId)).closed).toBe(true);
  });

  it("keeps every place, the watermark and the rate's credit across an eviction", async () => {
    const { saleId, stub } = await freshQueue({ admissionRatePerSecond: 3 });
    const answers = await enterMany(stub, saleId, 20);
    await setClock(stub, START);
    await runClock(stub, START, START + 1_500, 750);
    expect((await queueStats(env, saleId)).admittedThrough).toBe(4);
    await evictDurableObject(stub);
    // The clock and stock stand-ins are in memory; set them again, as a restarted test would.
    await setClock(stub, START + 2_000);
    await setStock(stub, 1_000);
    await stub.tick();
    // 4.5 credit + 0.5 s × 3 = 6: the half shopper of credit was not lost with the instance.
    expect((await queueStats(env, saleId)).admittedThrough).toBe(6);
    expect((await stub.enter(saleId, "shopper-7", "shopper-device-7")).ok && true).toBe(true);
    const again = await stub.enter(saleId, "shopper-7", "shopper-device-7");
    expect(again).toMatchObject({ ok: true, value: { queue_position: 8, queue_token: answers[7]!.queue_token } });
    expect((await queueStats(env, saleId)).length).toBe(20);
  });
});
