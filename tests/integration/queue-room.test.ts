/**
 * The room a queue keeps for undecided turns (docs/queue.md "Admission follows the stock"):
 * at most `admittedPerUnit` undecided turns per unit left. A turn that reserved is decided
 * (purchase.lua marks it in Redis) and frees its room at once; only an unused turn waits
 * for its window to lapse. Real door, real queue object, real purchase script.
 */
import { describe, expect, inject, it } from "vitest";
import { stockFromRedis } from "../../durable-objects/queue/redis";
import { keys } from "../../workers/keys";
import { api, buy, createActiveSale, inParallel, shopperToken, until, upstash } from "./fixtures";
import { scripts } from "./purchase-scripts";

describe("a queue whose admitted shoppers buy at once", () => {
  it("keeps admitting until the last unit is sold, without waiting for their turns' windows to pass", async () => {
    const stock = 12;
    const shoppers = 16;
    // Slow enough that shoppers buy between admissions. With two turns per unit left and
    // bought turns still counted, the queue would stop at 8 admitted (8 > 2 × 4 left) until
    // the 180 s windows lapsed.
    const { saleId } = await createActiveSale({
      items: [{ sku_id: "PHONE", total_stock: stock, per_user_limit: 1 }],
      admissionRatePerSecond: 4,
    });
    const entries = await inParallel(
      Array.from({ length: shoppers }, (_, i) => async () => {
        const res = await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
          token: await shopperToken(`room-${i}`),
          body: { captcha_token: "local", device_fingerprint: `room-device-${i}` },
          headers: { "cf-connecting-ip": `10.7.0.${i + 1}` },
        });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.queue_token as string;
      }),
      4,
    );

    const outcomes = await inParallel(
      entries.map((token) => async () => {
        const view = await until(
          () => api(`/api/v1/flash-sale/${saleId}/queue/${token}`),
          (r) => r.body.state === "admitted" || r.body.state === "sold_out",
          15_000,
        );
        if (view.body.state === "sold_out") return "queue_sold_out";
        const res = await buy(saleId, view.body.admission_token, { sku_id: "PHONE", quantity: 1 });
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return res.body.status as string;
      }),
      shoppers,
    );
    expect(outcomes.filter((o) => o === "reserved")).toHaveLength(stock);
    expect(Number(await upstash().get(keys.stock(saleId, "PHONE")))).toBe(0);
    // Each reserved turn is marked decided once, under its queue position.
    expect(await upstash().zcard(keys.turns(saleId))).toBe(stock);
  });
});

describe("a unit that comes back after a cancel", () => {
  it("goes to the turn still open (the second in line), not to a third shopper besides it", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1, per_user_limit: 1 }] });
    const tokens: string[] = [];
    for (const [i, name] of ["first", "second", "third"].entries()) {
      const res = await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
        token: await shopperToken(`back-${name}`),
        body: { captcha_token: "local", device_fingerprint: `back-device-${name}` },
        headers: { "cf-connecting-ip": `10.7.1.${i + 1}` },
      });
      expect(res.status).toBe(200);
      tokens.push(res.body.queue_token);
    }
    const view = (i: number) => api(`/api/v1/flash-sale/${saleId}/queue/${tokens[i]}`);
    // Two turns for the one unit.
    const first = await until(
      () => view(0),
      (r) => r.body.state === "admitted",
      10_000,
    );
    await until(
      () => view(1),
      (r) => r.body.state === "admitted",
      10_000,
    );
    const bought = await buy(saleId, first.body.admission_token, { sku_id: "PHONE", quantity: 1 });
    expect(bought.body.status).toBe("reserved");
    await until(
      () => view(2),
      (r) => r.body.state === "sold_out",
      5_000,
    );

    const cancelled = await api(`/api/v1/reservations/${bought.body.reservation_token}/cancel`, {
      token: await shopperToken("back-first"),
      body: {},
    });
    expect(cancelled.status).toBe(200);
    // The first holds nothing now and its turn is open again: with the second's, two turns
    // for the unit that came back, so the third waits. Several ticks pass meanwhile.
    const again = await until(
      () => view(2),
      (r) => r.body.state !== "sold_out",
      5_000,
    );
    await new Promise((r) => setTimeout(r, 1_500));
    expect([again.body.state, (await view(2)).body.state]).toEqual(["waiting", "waiting"]);
    const second = await view(1);
    expect(second.body.state).toBe("admitted");
    expect((await buy(saleId, second.body.admission_token, { sku_id: "PHONE", quantity: 1 })).body.status).toBe(
      "reserved",
    );
  });
});

describe("which turns the purchase script marks decided", () => {
  it("a reservation's and a turn whose device already bought; not a sold-out answer", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 1 }] });
    const run = scripts(saleId);
    const decided = async () => (await run.redis.zrange(keys.turns(saleId), 0, -1)).map(String);
    expect(await run.purchase("buyer", 1, { device: "phone-1", position: 1 })).toMatchObject({ kind: "reserved" });
    // Another account on the phone that bought: this turn can never buy, so it holds no room.
    expect(await run.purchase("same-phone", 1, { device: "phone-1", position: 2 })).toMatchObject({
      kind: "limit_exceeded",
      reason: "device",
    });
    // Sold out: the turn stays open (a unit may come back while its window lasts).
    expect(await run.purchase("late", 1, { device: "phone-3", position: 3 })).toMatchObject({ kind: "sold_out" });
    expect(await decided()).toEqual(["buyer", "same-phone"]);
    expect(Number(await run.redis.zscore(keys.turns(saleId), "same-phone"))).toBe(2);
  });
});

describe("what a tick reads from Redis", () => {
  it("counts as decided only the turns above the lapsed position, with the units left, in one read", async () => {
    const saleId = crypto.randomUUID();
    const redis = upstash();
    await redis.set(keys.stock(saleId, "A"), "3");
    await redis.set(keys.stock(saleId, "B"), "4");
    // Positions 2 and 5 lapsed (at or below 5); 6 and 9 are live turns that reserved.
    await redis.zadd(
      keys.turns(saleId),
      { score: 2, member: "s2" },
      { score: 5, member: "s5" },
      { score: 6, member: "s6" },
      { score: 9, member: "s9" },
    );
    const read = stockFromRedis({
      UPSTASH_REDIS_REST_URL: inject("upstashUrl"),
      UPSTASH_REDIS_REST_TOKEN: inject("upstashToken"),
    } as Env);
    const state = { skus: ["A", "B"] } as Parameters<typeof read>[1];
    expect(await read(saleId, state, 5)).toEqual({ units: 7, decided: 2 });
    expect(await read(saleId, state, 0)).toEqual({ units: 7, decided: 4 });
    await redis.del(keys.stock(saleId, "A"), keys.stock(saleId, "B"), keys.turns(saleId));
  });
});
