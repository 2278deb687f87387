import { describe, expect, it } from "vitest";
import {
  admin,
  admissionToken,
  buy,
  createActiveSale,
  defineSale,
  inSeconds,
  neonPool,
  upstash,
  workerUrl,
} from "./fixtures";

const key = (saleId: string, rest: string) => `fs:{${saleId}}:${rest}`;

async function hash(name: string): Promise<Record<string, string> | null> {
  const raw = (await upstash().hgetall(name)) as unknown;
  if (!raw) return null;
  const pairs = Array.isArray(raw) ? raw : Object.entries(raw as object).flat();
  if (pairs.length === 0) return null;
  return Object.fromEntries(
    Array.from({ length: pairs.length / 2 }, (_, i) => [String(pairs[2 * i]), String(pairs[2 * i + 1])]),
  );
}

/** Fires the Worker's cron handler the way the scheduler would. */
async function runCron(): Promise<void> {
  const res = await fetch(`${workerUrl()}/cdn-cgi/local/scheduled?cron=${encodeURIComponent("* * * * *")}`);
  expect(res.status).toBe(200);
}

describe("pre-warming a sale", () => {
  it("loads each SKU's stock minus the safety buffer, in the fixed Redis layout", async () => {
    const sale = await defineSale({ safety_buffer_percent: 10 });
    const res = await admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      sale_id: sale.sale_id,
      loaded: true,
      items: [
        { sku_id: "CASE-1", total_stock: 55, loaded: 49, already_sold: 0, stock: 49 },
        { sku_id: "PHONE-1", total_stock: 1000, loaded: 900, already_sold: 0, stock: 900 },
      ],
    });
    const meta = await hash(key(sale.sale_id, "meta"));
    expect(meta).toEqual({
      start_ms: String(Date.parse(sale.start_time)),
      end_ms: String(Date.parse(sale.end_time)),
      cancelled: "0",
      payment_deadline_s: "600",
      skus: "CASE-1,PHONE-1",
      prewarmed_at: String(Date.parse(res.body.prewarmed_at)),
      name: sale.name,
    });
    expect(await hash(key(sale.sale_id, "item:PHONE-1"))).toEqual({
      name: "Phone",
      price: "499.00",
      original_price: "999.00",
      total: "1000",
      loaded: "900",
      limit: "2",
    });
    expect(await hash(key(sale.sale_id, "item:CASE-1"))).toMatchObject({
      price: "5.00",
      total: "55",
      loaded: "49",
      limit: "1",
    });
    expect(await upstash().get(key(sale.sale_id, "stock:PHONE-1"))).toBe("900");
    expect(await upstash().get(key(sale.sale_id, "stock:CASE-1"))).toBe("49");
    expect(await upstash().sismember("fs:active-sales", sale.sale_id)).toBe(1);
    expect((await admin(`/sales/${sale.sale_id}`)).body.prewarmed_at).toBe(res.body.prewarmed_at);
  });

  it("holds back 1% by default, rounding the buffer up (never a buffer of nothing)", async () => {
    const sale = await defineSale({
      items: [{ sku_id: "S", name: "S", flash_price: 1, original_price: 1, total_stock: 199 }],
    });
    const res = await admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" });
    expect(res.body.items).toEqual([{ sku_id: "S", total_stock: 199, loaded: 197, already_sold: 0, stock: 197 }]);
  });

  it("loads once when asked twice, never resetting stock that purchases took", async () => {
    const sale = await defineSale();
    const first = await admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" });
    expect(first.body.loaded).toBe(true);
    await upstash().decrby(key(sale.sale_id, "stock:PHONE-1"), 7);
    const second = await admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" });
    expect(second.status).toBe(200);
    expect(second.body.loaded).toBe(false);
    expect(second.body.prewarmed_at).toBe(first.body.prewarmed_at);
    expect(await upstash().get(key(sale.sale_id, "stock:PHONE-1"))).toBe("983");
    const [a, b] = await Promise.all([1, 2].map(() => admin(`/sales/${sale.sale_id}/prewarm`, { method: "POST" })));
    expect([a!.body.loaded, b!.body.loaded]).toEqual([false, false]);
    expect(await upstash().get(key(sale.sale_id, "stock:PHONE-1"))).toBe("983");
  });

  it("loads only what Postgres says is unsold when Redis lost a sale that had sold, never the full stock again", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const orders: string[] = [];
    for (const shopper of ["lost-a", "lost-b"]) {
      const res = await buy(saleId, await admissionToken(saleId, shopper, shopper), { sku_id: "PHONE", quantity: 2 });
      expect(res.body.status).toBe("reserved");
      orders.push(res.body.order_id);
    }
    const pool = neonPool(1);
    const written = async () =>
      (await pool.query("select count(*)::int as n from flash_sale_orders where order_id = any($1)", [orders])).rows[0]
        .n;
    await expect.poll(written, { timeout: 10_000 }).toBe(2);
    await pool.end();
    // Redis forgets the sale: every key of it gone, as after an eviction or a failover to an empty replica.
    const redis = upstash();
    let cursor = "0";
    do {
      const [next, found] = (await redis.scan(cursor, { match: `fs:{${saleId}}:*`, count: 500 })) as [string, string[]];
      if (found.length > 0) await redis.del(...found);
      cursor = String(next);
    } while (cursor !== "0");

    const again = await admin(`/sales/${saleId}/prewarm`, { method: "POST" });
    expect(again.body).toMatchObject({
      loaded: true,
      items: [{ sku_id: "PHONE", total_stock: 10, loaded: 10, already_sold: 4, stock: 6 }],
    });
    expect(await redis.get(key(saleId, "stock:PHONE"))).toBe("6");
  });

  it("loads a sale by itself when its pre-queue opens, so no sale opens cold", async () => {
    const opening = await defineSale({ start_time: inSeconds(5 * 60 + 30), end_time: inSeconds(3600) });
    const later = await defineSale({ start_time: inSeconds(3 * 3600), end_time: inSeconds(4 * 3600) });
    // Its door opens in 90 s: past what creation loads at once, within what the cron loads.
    const cancelled = await defineSale({ start_time: inSeconds(150), end_time: inSeconds(3600), pre_queue_minutes: 1 });
    await admin(`/sales/${cancelled.sale_id}/cancel`, { method: "POST" });
    await runCron();
    await expect.poll(() => upstash().get(key(opening.sale_id, "stock:PHONE-1")), { timeout: 10_000 }).toBe("990");
    expect((await admin(`/sales/${opening.sale_id}`)).body.prewarmed_at).not.toBeNull();
    expect(await upstash().exists(key(later.sale_id, "meta"))).toBe(0);
    expect(await upstash().exists(key(cancelled.sale_id, "stock:PHONE-1"))).toBe(0);
  });
});
