import { describe, expect, inject, it } from "vitest";
import { keys } from "../../workers/keys";
import { admin, admissionToken, buy, createActiveSale, neonPool, shopperToken, upstash } from "./fixtures";

const DAY = 86_400_000;

async function saleKeys(saleId: string): Promise<string[]> {
  const redis = upstash();
  const found: string[] = [];
  let cursor: string | number = "0";
  do {
    const [next, batch] = (await redis.scan(cursor, { match: `fs:{${saleId}}:*`, count: 500 })) as [string, string[]];
    cursor = next;
    found.push(...batch);
  } while (String(cursor) !== "0");
  return found;
}

async function cron() {
  const res = await fetch(`${inject("workerUrl")}/cdn-cgi/local/scheduled`);
  expect(res.status).toBe(200);
  await new Promise((r) => setTimeout(r, 1_500)); // the cron's work runs after its answer
}

describe("a finished sale's Redis state", () => {
  it("is freed a week after the end, once every order is in Postgres and no reservation is pending", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const redis = upstash();
    const paid = await buy(saleId, await admissionToken(saleId, "retire-payer", "rp"), {
      sku_id: "PHONE",
      quantity: 1,
    });
    const pending = await buy(saleId, await admissionToken(saleId, "retire-pending", "rq"), {
      sku_id: "PHONE",
      quantity: 1,
    });
    expect((await admin(`/../reservations/${paid.body.reservation_token}/confirm`, { body: {} })).status).toBe(200);
    expect((await admin(`/sales/${saleId}/reconcile`, { method: "POST" })).status).toBe(200);

    // Eight days after the end, by the sale's own record in Redis.
    await redis.hset(keys.meta(saleId), { end_ms: String(Date.now() - 8 * DAY) });
    // A reservation still waiting for its deadline keeps everything.
    await cron();
    expect((await saleKeys(saleId)).length).toBeGreaterThan(0);

    const cancel = await fetch(`${inject("workerUrl")}/api/v1/reservations/${pending.body.reservation_token}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${await shopperToken("retire-pending")}` },
    });
    expect(cancel.status).toBe(200);
    // An order not yet written to Postgres keeps everything too.
    await redis.rpush(
      keys.outbox(saleId),
      JSON.stringify({ t: "cancelled", order_id: crypto.randomUUID(), sale_id: saleId, token: "x", at_ms: Date.now() }),
    );
    await redis.set(`${keys.outbox(saleId)}:lock`, "held-by-test", { px: 5_000 });
    await cron();
    expect((await saleKeys(saleId)).length).toBeGreaterThan(0);
    await redis.del(`${keys.outbox(saleId)}:lock`);

    // Drained and settled: freed, and out of the cron's sweep.
    await cron();
    expect(await saleKeys(saleId)).toEqual([]);
    expect(await redis.sismember(keys.activeSales(), saleId)).toBe(0);
    const pool = neonPool(1);
    const { rows } = await pool.query("select status from flash_sale_orders where sale_id = $1 order by status", [
      saleId,
    ]);
    await pool.end();
    expect(rows.map((r: { status: string }) => r.status).sort()).toEqual(["cancelled", "paid"]);
  }, 60_000);

  it("once freed, an ended sale's status is told from Postgres without loading it back", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }], durationMs: 1_500 });
    await new Promise((r) => setTimeout(r, 2_000));
    const redis = upstash();
    await redis.del(...(await saleKeys(saleId)));
    // What reconciliation last counted as sold is the ledger's word on what was left.
    const pool = neonPool(1);
    await pool.query("update flash_sale_items set sold_count = 3 where sale_id = $1", [saleId]);
    await pool.end();
    const res = await fetch(`${inject("workerUrl")}/api/v1/flash-sale/${saleId}/status`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      sale_id: saleId,
      status: "ended",
      items: [{ sku_id: "PHONE", total_stock: 5, remaining: 2 }],
    });
    expect(await saleKeys(saleId)).toEqual([]);
  });
});
