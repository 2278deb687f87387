import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import stockLua from "../../workers/orders/reconcile-stock.lua";
import { admin, admissionToken, api, buy, createActiveSale, neonPool, shopperToken, upstash } from "./fixtures";

type Bought = { order_id: string; reservation_token: string; shopper: string };

/** One reservation of `quantity` units by a fresh shopper; fails the test if it is not reserved. */
async function reserve(saleId: string, shopper: string, quantity = 1): Promise<Bought> {
  const res = await buy(saleId, await admissionToken(saleId, shopper, `${shopper}-dev`), { sku_id: "PHONE", quantity });
  expect(res.body.status, JSON.stringify(res.body)).toBe("reserved");
  await new Promise((r) => setTimeout(r, 5)); // distinct reservation times
  return { ...res.body, shopper };
}

async function pay(b: Bought) {
  const res = await admin(`/../reservations/${b.reservation_token}/confirm`, { body: {} });
  expect(res.status).toBe(200);
}

/** Waits until Postgres holds every order in the state given (the background writes are after the answer). */
async function inPostgres(orders: Array<[Bought, string]>) {
  const pool = neonPool(1);
  const states = async () =>
    (
      await pool.query("select order_id, status from flash_sale_orders where order_id = any($1)", [
        orders.map(([b]) => b.order_id),
      ])
    ).rows.map((r: { order_id: string; status: string }) => `${r.order_id}=${r.status}`);
  await expect
    .poll(async () => (await states()).sort(), { timeout: 10_000 })
    .toEqual(orders.map(([b, s]) => `${b.order_id}=${s}`).sort());
  await pool.end();
}

/** Redis forgets a reservation, as a promoted replica that never received it would. */
async function forget(saleId: string, b: Bought) {
  const redis = upstash();
  await redis.del(keys.reservation(saleId, b.reservation_token), keys.bought(saleId, "PHONE", b.shopper));
  await redis.zrem(keys.deadlines(saleId), b.reservation_token);
}

async function statuses(saleId: string): Promise<Record<string, string>> {
  const pool = neonPool(1);
  const { rows } = await pool.query("select order_id, status from flash_sale_orders where sale_id = $1", [saleId]);
  await pool.end();
  return Object.fromEntries(rows.map((r: { order_id: string; status: string }) => [r.order_id, r.status]));
}

describe("reconciliation", () => {
  it("cancels an oversold excess last-in-first-out after Redis lost decrements, and reports it", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const orders: string[] = [];
    const purchase = async (i: number) => {
      const res = await buy(saleId, await admissionToken(saleId, `recon-${i}`, `recon-dev-${i}`), {
        sku_id: "PHONE",
        quantity: 1,
      });
      expect(res.body.status).toBe("reserved");
      orders.push(res.body.order_id);
      await new Promise((r) => setTimeout(r, 5)); // distinct reservation times
    };
    for (let i = 0; i < 10; i++) await purchase(i);
    // The seed's failure: a replica promoted after the primary died has missed the last
    // three decrements, so Redis believes three units are left that were already sold.
    await upstash().set(keys.stock(saleId, "PHONE"), "3");
    for (let i = 10; i < 13; i++) await purchase(i);

    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.status).toBe(200);
    expect(report.body.excess_cancelled).toBe(3);
    expect(new Set(report.body.cancelled_order_ids)).toEqual(new Set(orders.slice(10)));
    expect(report.body.items).toEqual([
      expect.objectContaining({
        sku_id: "PHONE",
        total_stock: 10,
        units_held: 10,
        orders_reserved: 10,
        excess_cancelled: 3,
      }),
    ]);

    const pool = neonPool(1);
    const { rows } = await pool.query(
      "select order_id, status, cancel_reason from flash_sale_orders where sale_id = $1 and status = 'cancelled'",
      [saleId],
    );
    const sold = await pool.query("select sold_count from flash_sale_items where sale_id = $1", [saleId]);
    await pool.end();
    expect(new Set(rows.map((r: { order_id: string }) => r.order_id))).toEqual(new Set(orders.slice(10)));
    expect(rows.every((r: { cancel_reason: string }) => r.cancel_reason === "oversold")).toBe(true);
    expect(sold.rows[0].sold_count).toBe(10);

    // A second run finds nothing more to do.
    const again = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(again.body.excess_cancelled).toBe(0);
    expect(again.body.missing_orders_written).toBe(0);
  });

  it("writes an order Postgres never heard of from the reservation Redis holds", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const res = await buy(saleId, await admissionToken(saleId, "lost-order", "lo"), { sku_id: "PHONE", quantity: 2 });
    const pool = neonPool(1);
    // Wait for the background write, then lose the row and the outbox entry both.
    for (let i = 0; i < 50; i++) {
      const n = (
        await pool.query("select count(*)::int as n from flash_sale_orders where order_id = $1", [res.body.order_id])
      ).rows[0].n;
      if (n === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await pool.query("delete from flash_sale_orders where order_id = $1", [res.body.order_id]);
    await upstash().del(keys.outbox(saleId));

    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.body.missing_orders_written).toBe(1);
    const { rows } = await pool.query(
      "select status, quantity, reservation_token from flash_sale_orders where order_id = $1",
      [res.body.order_id],
    );
    await pool.end();
    expect(rows).toEqual([{ status: "reserved", quantity: 2, reservation_token: res.body.reservation_token }]);
  });

  it("puts back what Redis forgot: a live reservation restored, a dead one expired, a paid one kept, and the stock from Postgres's truth", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const live = await reserve(saleId, "forgot-live", 2);
    const dead = await reserve(saleId, "forgot-dead");
    const paid = await reserve(saleId, "forgot-paid");
    await pay(paid);
    await inPostgres([
      [live, "reserved"],
      [dead, "reserved"],
      [paid, "paid"],
    ]);
    // A failover to a replica that never received any of it: no reservations, full stock.
    for (const b of [live, dead, paid]) await forget(saleId, b);
    await upstash().set(keys.stock(saleId, "PHONE"), "10");
    const pool = neonPool(1);
    await pool.query(
      "update flash_sale_orders set payment_deadline = now() - interval '1 minute' where order_id = $1",
      [dead.order_id],
    );
    await pool.end();

    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.status).toBe(200);
    expect(report.body).toMatchObject({
      orphans_restored: 1,
      orphans_expired: 1,
      paid_restored: 1,
      excess_cancelled: 0,
      stock_corrected: true,
      restored_order_ids: [live.order_id],
      expired_order_ids: [dead.order_id],
      refused: [],
    });
    expect(report.body.items).toEqual([
      expect.objectContaining({
        sku_id: "PHONE",
        loaded: 10,
        redis_stock_before: 10,
        redis_remaining: 7,
        stock_corrected: -3,
        orders_reserved: 1,
        orders_paid: 1,
        units_held: 3,
      }),
    ]);
    // The books agree: stock + reserved + paid = loaded.
    const redis = upstash();
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("7");
    expect(await redis.get(keys.bought(saleId, "PHONE", live.shopper))).toBe("2");
    expect(await redis.zscore(keys.deadlines(saleId), live.reservation_token)).not.toBeNull();
    expect(await statuses(saleId)).toEqual({
      [live.order_id]: "reserved",
      [dead.order_id]: "expired",
      [paid.order_id]: "paid",
    });
    // The restored reservation is a live one again: its shopper sees it and may cancel it.
    const token = await shopperToken(live.shopper);
    expect((await api(`/api/v1/reservations/${live.reservation_token}`, { token })).body.status).toBe("reserved");
    const cancel = await api(`/api/v1/reservations/${live.reservation_token}/cancel`, { token, method: "POST" });
    expect(cancel.status).toBe(200);
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("9");
    // And the paid one answers a repeated confirm as paid, not as unknown.
    expect((await admin(`/../reservations/${paid.reservation_token}/confirm`, { body: {} })).body.status).toBe("paid");

    const again = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(again.body).toMatchObject({
      orphans_restored: 0,
      orphans_expired: 0,
      paid_restored: 0,
      excess_cancelled: 0,
    });
    expect(again.body.items[0]).toMatchObject({ redis_stock_before: 9, redis_remaining: 9, stock_corrected: 0 });
  });

  it("never cancels a paid order to make room for a dead reservation Redis forgot", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 2 }] });
    const dead = await reserve(saleId, "room-dead");
    await inPostgres([[dead, "reserved"]]);
    await forget(saleId, dead);
    await upstash().incrby(keys.stock(saleId, "PHONE"), 1); // its decrement forgotten too
    const first = await reserve(saleId, "room-paid-1");
    const second = await reserve(saleId, "room-paid-2");
    await pay(first);
    await pay(second);
    const pool = neonPool(1);
    await pool.query(
      "update flash_sale_orders set payment_deadline = now() - interval '1 minute' where order_id = $1",
      [dead.order_id],
    );
    await pool.end();
    await inPostgres([
      [dead, "reserved"],
      [first, "paid"],
      [second, "paid"],
    ]);

    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.body).toMatchObject({ orphans_expired: 1, excess_cancelled: 0, oversold_units: 0 });
    expect(await statuses(saleId)).toEqual({
      [dead.order_id]: "expired",
      [first.order_id]: "paid",
      [second.order_id]: "paid",
    });
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("0");
  });

  it("cancels oversold reservations before any paid order, even a newer one", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 2 }] });
    const reserved = await reserve(saleId, "first-reserved");
    await upstash().incrby(keys.stock(saleId, "PHONE"), 1); // Redis forgot one decrement
    const a = await reserve(saleId, "later-paid-1");
    const b = await reserve(saleId, "later-paid-2");
    await pay(a);
    await pay(b);
    await inPostgres([
      [reserved, "reserved"],
      [a, "paid"],
      [b, "paid"],
    ]);

    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.body).toMatchObject({
      oversold_units: 1,
      excess_cancelled: 1,
      cancelled_order_ids: [reserved.order_id],
    });
    expect(await statuses(saleId)).toEqual({
      [reserved.order_id]: "cancelled",
      [a.order_id]: "paid",
      [b.order_id]: "paid",
    });
    const left = (await upstash().hgetall(keys.reservation(saleId, reserved.reservation_token))) as unknown as string[];
    expect(left[left.indexOf("state") + 1]).toBe("cancelled");
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("0");
  });

  it("absorbs a loss within the safety buffer: nothing cancelled, and the stock set to 0, never below", async () => {
    const start = Date.now() + 1_200;
    const created = await admin("/sales", {
      body: {
        name: "Buffer sale",
        start_time: new Date(start).toISOString(),
        end_time: new Date(start + 3_600_000).toISOString(),
        safety_buffer_percent: 10,
        items: [{ sku_id: "PHONE", name: "Phone", flash_price: "1.00", original_price: "2.00", total_stock: 10 }],
      },
    });
    const saleId: string = created.body.sale_id;
    expect((await admin(`/sales/${saleId}/prewarm`, { method: "POST" })).body.items[0].loaded).toBe(9);
    await new Promise((r) => setTimeout(r, start - Date.now() + 50));
    const bought: Bought[] = [];
    for (let i = 0; i < 9; i++) bought.push(await reserve(saleId, `buffer-${i}`));
    await upstash().set(keys.stock(saleId, "PHONE"), "1"); // a failover forgot the last decrement
    bought.push(await reserve(saleId, "buffer-9"));
    await inPostgres(bought.map((b) => [b, "reserved"]));

    const report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    expect(report.body).toMatchObject({ oversold_units: 0, excess_cancelled: 0 });
    expect(report.body.items[0]).toMatchObject({ total_stock: 10, loaded: 9, units_held: 10, redis_remaining: 0 });
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("0");
  });
});

describe("the reconcile stock script", () => {
  it("never sets the stock over a decision it has not counted (an outbox longer than the totals include)", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const redis = upstash();
    const lock = `${keys.outbox(saleId)}:lock`;
    await redis.set(lock, "reconcile-test", { px: 10_000 });
    // A purchase landed after the totals were read: its event is the outbox's third.
    await redis.rpush(keys.outbox(saleId), "a", "b", "c");
    await redis.set(keys.stock(saleId, "PHONE"), "4");
    const script = redis.createScript<unknown>(stockLua);
    const run = (seen: number) =>
      script.exec(
        [lock, keys.outbox(saleId), keys.meta(saleId), keys.stock(saleId, "PHONE")],
        ["reconcile-test", String(seen), "7"],
      );
    expect(await run(2)).toEqual(["MOVED", 3]);
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("4");
    expect(await run(3)).toEqual(["OK", 4]);
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("7");
    await redis.del(lock, keys.outbox(saleId));
  });
});
