import { Redis as IORedis } from "ioredis";
import { afterAll, describe, expect, inject, it } from "vitest";
import { admin, api, defineSale, inSeconds, neonPool, sleep, upstash } from "./fixtures";

const pool = neonPool(2);
afterAll(() => pool.end());

const status = (saleId: string, init: Parameters<typeof api>[1] = {}) =>
  api(`/api/v1/flash-sale/${saleId}/status`, init);

/** Polls until the status reads `want`, returning the local clock (the server's: same machine) when it did. */
async function waitForStatus(saleId: string, want: string, timeoutMs = 15_000, init: Parameters<typeof api>[1] = {}) {
  const deadline = Date.now() + timeoutMs;
  const seen: Array<{ at: number; status: string }> = [];
  while (Date.now() < deadline) {
    const res = await status(saleId, init);
    const at = Date.now();
    seen.push({ at, status: res.body.status });
    if (res.body.status === want) return { at, seen };
    await sleep(100);
  }
  throw new Error(`status never became ${want}: ${JSON.stringify(seen.slice(-3))}`);
}

describe("the shopper's sale status", () => {
  it("answers in the seed's shape with the queue figures, cacheable at the edge for about a second", async () => {
    const sale = await defineSale();
    const res = await status(sale.sale_id);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("public, max-age=1");
    expect(res.body).toMatchObject({
      sale_id: sale.sale_id,
      name: sale.name,
      status: "scheduled",
      start_time: sale.start_time,
      end_time: sale.end_time,
      items: [
        {
          sku_id: "CASE-1",
          name: "Case",
          flash_price: "5.00",
          original_price: "20.00",
          total_stock: 55,
          remaining: 54, // 1% of 55 held back, rounded up
          per_user_limit: 1,
        },
        {
          sku_id: "PHONE-1",
          name: "Phone",
          flash_price: "499.00",
          original_price: "999.00",
          total_stock: 1000,
          remaining: 990,
          per_user_limit: 2,
        },
      ],
      queue: { length: expect.any(Number), admitted_through: expect.any(Number) },
    });
  });

  it("is served from Redis: once a sale is loaded, Postgres is not read again", async () => {
    const sale = await defineSale();
    expect((await status(sale.sale_id)).status).toBe(200);
    // Take the sale out of Postgres: any later read there would now answer 404.
    await pool.query("delete from flash_sales where sale_id = $1", [sale.sale_id]);
    await sleep(1_200);
    const again = await status(sale.sale_id);
    expect(again.status).toBe(200);
    expect(again.body.sale_id).toBe(sale.sale_id);
  });

  it("turns active at start by the server's clock, whatever clock the client sends", async () => {
    const sale = await defineSale({ start_time: inSeconds(4), end_time: inSeconds(120) });
    const startMs = Date.parse(sale.start_time);
    const forged = {
      headers: { date: new Date(startMs + 3_600_000).toUTCString(), "x-client-time": String(startMs + 3_600_000) },
    };
    const early = await api(`/api/v1/flash-sale/${sale.sale_id}/status?now=${startMs + 3_600_000}`, forged);
    expect(early.body.status).toBe("scheduled");
    const { at, seen } = await waitForStatus(sale.sale_id, "active", 15_000, forged);
    expect(at).toBeGreaterThanOrEqual(startMs);
    // Still scheduled up to the start; the edge cache may add at most about a second.
    expect(at).toBeLessThan(startMs + 2_500);
    for (const s of seen.filter((x) => x.status === "scheduled")) expect(s.at).toBeLessThan(startMs + 2_500);
  });

  it("goes sold out when every SKU is gone, back to active when units return, and ended at its end", async () => {
    const sale = await defineSale({ start_time: inSeconds(2), end_time: inSeconds(9) });
    await admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" });
    await waitForStatus(sale.sale_id, "active");
    const redis = upstash();
    await redis.set(`fs:{${sale.sale_id}}:stock:PHONE-1`, "0");
    await sleep(1_200);
    expect((await status(sale.sale_id)).body.status).toBe("active");
    await redis.set(`fs:{${sale.sale_id}}:stock:CASE-1`, "0");
    await waitForStatus(sale.sale_id, "sold_out", 3_000);
    await redis.set(`fs:{${sale.sale_id}}:stock:CASE-1`, "1");
    await waitForStatus(sale.sale_id, "active", 3_000);
    const { at } = await waitForStatus(sale.sale_id, "ended", 15_000);
    expect(at).toBeGreaterThanOrEqual(Date.parse(sale.end_time));
  });

  it("reaches Redis about once a second under a refresh storm, cache-busting query strings included", async () => {
    const sale = await defineSale();
    expect((await status(sale.sale_id)).status).toBe(200);
    const monitor = await new IORedis(inject("redisUrl")).monitor();
    let metaReads = 0;
    monitor.on("monitor", (_time: string, args: string[]) => {
      // The status read (HGETALL of the meta hash); the metrics flush names the hash too, once a second per isolate, by design.
      if (args[0]?.toLowerCase() === "hgetall" && args[1] === `fs:{${sale.sale_id}}:meta`) metaReads++;
    });
    try {
      const stormMs = 3_000;
      const end = Date.now() + stormMs;
      let requests = 0;
      while (Date.now() < end) {
        const burst = await Promise.all(Array.from({ length: 25 }, () => status(sale.sale_id).then((r) => r.status)));
        requests += burst.length;
        expect(new Set(burst)).toEqual(new Set([200]));
        await Promise.all(
          Array.from({ length: 5 }, (_, i) => api(`/api/v1/flash-sale/${sale.sale_id}/status?bust=${Date.now()}-${i}`)),
        );
        requests += 5;
      }
      await sleep(200);
      expect(requests).toBeGreaterThan(100);
      // One read per second of storm, plus one for a second boundary crossed mid-read.
      expect(metaReads).toBeLessThanOrEqual(stormMs / 1000 + 2);
    } finally {
      monitor.disconnect();
    }
  });

  it("answers an unknown sale, and an id that is not a UUID, with 404", async () => {
    for (const id of ["00000000-0000-4000-8000-000000000000", "nope"]) {
      const res = await status(id);
      expect(res.status).toBe(404);
      expect(res.body.error).toBe("not_found");
    }
  });
});
