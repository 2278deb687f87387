import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { admin, neonPool, upstash } from "./helpers";
import { admissionToken, buy, createActiveSale } from "./sale-fixtures";

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
});
