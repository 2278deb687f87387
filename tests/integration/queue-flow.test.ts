/**
 * The queue on the real local stack: the Worker in workerd, the SaleQueue object reading
 * the sale's meta and stock from real Redis through the Upstash bridge.
 */

import { jwtVerify } from "jose";
import { afterAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { keys } from "../../workers/keys";
import { api, shopperToken, until, upstash, workerUrl } from "./fixtures";

const redis = upstash();
const created: string[] = [];

/** A sale as the prewarm leaves it in Redis: active now, `stock` units of one SKU. */
async function activeSale(stock: number): Promise<string> {
  const saleId = crypto.randomUUID();
  created.push(saleId);
  const now = Date.now();
  await redis.hset(keys.meta(saleId), {
    start_ms: String(now - 1_000),
    end_ms: String(now + 600_000),
    cancelled: "0",
    skus: "SKU-1",
  });
  await redis.set(keys.stock(saleId, "SKU-1"), String(stock));
  return saleId;
}

afterAll(async () => {
  for (const saleId of created) await redis.del(keys.meta(saleId), keys.stock(saleId, "SKU-1"));
});

let ip = 0;
async function enter(
  saleId: string,
  sub: string,
  body: unknown = { captcha_token: "dev", device_fingerprint: `fp-${sub}` },
) {
  return api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
    token: await shopperToken(sub),
    body,
    // One address per request: the per-IP limiter is not what these tests are about.
    headers: { "cf-connecting-ip": `10.1.${Math.floor(++ip / 250) % 250}.${ip % 250}` },
  });
}

describe("the queue on the local stack", () => {
  it("queues shoppers in arrival order, gives re-entry the same place, and admits them with a valid admission JWT", async () => {
    const saleId = await activeSale(100);
    const a = await enter(saleId, "flow-a");
    const b = await enter(saleId, "flow-b");
    const again = await enter(saleId, "flow-a");
    expect(a.status).toBe(200);
    expect([a.body.queue_position, b.body.queue_position]).toEqual([1, 2]);
    expect(again.body).toMatchObject({ queue_position: 1, queue_token: a.body.queue_token });

    const admitted = await until(
      () => api(`/api/v1/flash-sale/${saleId}/queue/${a.body.queue_token}`),
      (r) => r.body.state === "admitted",
    );
    expect(admitted.body).toMatchObject({ state: "admitted", queue_position: 1 });
    const { payload } = await jwtVerify(
      admitted.body.admission_token,
      new TextEncoder().encode("dev-admission-secret"),
      { algorithms: ["HS256"] },
    );
    expect(payload).toMatchObject({ sub: "flow-a", sale: saleId, jti: expect.any(String) });
    expect(payload.exp! - payload.iat!).toBe(60);
  });

  it("gives 1,000 shoppers through the door unique places in arrival order, and each re-entry the same place", async () => {
    const saleId = await activeSale(1_000);
    const batches: any[][] = [];
    // Ten batches one after another; within a batch arrivals race, between batches the order is known.
    for (let b = 0; b < 10; b++) {
      batches.push(await Promise.all(Array.from({ length: 100 }, (_, i) => enter(saleId, `crowd-${b}-${i}`))));
    }
    const answers = batches.flat();
    expect(answers.filter((r) => r.status !== 200)).toEqual([]);
    expect(answers.map((r) => r.body.queue_position).sort((x, y) => x - y)).toEqual(answers.map((_, i) => i + 1));
    for (let b = 1; b < 10; b++) {
      expect(Math.min(...batches[b]!.map((r) => r.body.queue_position))).toBeGreaterThan(
        Math.max(...batches[b - 1]!.map((r) => r.body.queue_position)),
      );
    }
    const again = await Promise.all([0, 499, 999].map((i) => enter(saleId, `crowd-${Math.floor(i / 100)}-${i % 100}`)));
    const place = (body: any) => ({ queue_position: body.queue_position, queue_token: body.queue_token });
    expect(again.map((r) => place(r.body))).toEqual([0, 499, 999].map((i) => place(answers[i]!.body)));
  }, 120_000);

  it("refuses a missing captcha_token with 400 even with verification switched off, and queues nobody", async () => {
    const saleId = await activeSale(10);
    const res = await enter(saleId, "no-captcha", { device_fingerprint: "fp-x" });
    expect(res.status).toBe(400);
    const ok = await enter(saleId, "with-captcha");
    expect(ok.body.queue_position).toBe(1);
  });

  it("answers 404 for a sale that does not exist", async () => {
    const res = await enter(crypto.randomUUID(), "nobody");
    expect(res.status).toBe(404);
    expect(res.body.error).toBe("not_found");
  });

  it("tells a connected shopper sold_out within 1 s of stock reaching zero, and admits again when units return", async () => {
    const saleId = await activeSale(0);
    const a = await enter(saleId, "sock-a");
    const socket = new WebSocket(
      `${workerUrl().replace("http", "ws")}/api/v1/flash-sale/${saleId}/queue/${a.body.queue_token}`,
    );
    const states: string[] = [];
    socket.on("message", (data) => states.push(JSON.parse(String(data)).state));
    /** Waits for `state` among the messages that arrived after `mark` (an index into `states`). */
    const seenSince = async (mark: number, state: string, timeoutMs: number) => {
      const until = Date.now() + timeoutMs;
      while (!states.slice(mark).includes(state)) {
        if (Date.now() > until)
          throw new Error(`no ${state} within ${timeoutMs} ms; saw ${states.slice(mark).join(",")}`);
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject));
    await seenSince(0, "sold_out", 3_000);

    let mark = states.length;
    await redis.set(keys.stock(saleId, "SKU-1"), "2");
    await seenSince(mark, "admitted", 3_000);

    // Only a sold_out sent AFTER the stock reached zero again counts: the first one is history.
    mark = states.length;
    const t0 = Date.now();
    await redis.set(keys.stock(saleId, "SKU-1"), "0");
    await seenSince(mark, "sold_out", 1_000);
    expect(Date.now() - t0).toBeLessThan(1_000);
    socket.close();
  });
});
