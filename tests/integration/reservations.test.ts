import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { admin, admissionToken, api, buy, createActiveSale, neonPool, shopperToken, upstash } from "./fixtures";
import { eventually, pastDeadline } from "./purchase-scripts";

async function reserve(saleId: string, shopper: string, quantity = 1) {
  const res = await buy(saleId, await admissionToken(saleId, shopper, `${shopper}-device`), {
    sku_id: "PHONE",
    quantity,
  });
  expect(res.body.status).toBe("reserved");
  return res.body as { reservation_token: string; order_id: string; payment_deadline: string };
}

async function orderStatus(orderId: string): Promise<string | null> {
  const pool = neonPool(1);
  try {
    for (let i = 0; i < 50; i++) {
      const { rows } = await pool.query("select status from flash_sale_orders where order_id = $1", [orderId]);
      if (rows[0]) return rows[0].status;
      await new Promise((r) => setTimeout(r, 100));
    }
    return null;
  } finally {
    await pool.end();
  }
}

describe("reservations", () => {
  it("shows its owner the reservation with its payment deadline, and nobody else", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const r = await reserve(saleId, "owner-1");
    const mine = await api(`/api/v1/reservations/${r.reservation_token}`, { token: await shopperToken("owner-1") });
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({
      status: "reserved",
      order_id: r.order_id,
      sku_id: "PHONE",
      quantity: 1,
      payment_deadline: r.payment_deadline,
    });
    expect(new Date(r.payment_deadline).getTime() - Date.now()).toBeGreaterThan(590_000);
    const theirs = await api(`/api/v1/reservations/${r.reservation_token}`, {
      token: await shopperToken("someone-else"),
    });
    expect(theirs.status).toBe(403);
    expect((await api(`/api/v1/reservations/${r.reservation_token}`)).status).toBe(401);
    expect(
      (await api(`/api/v1/reservations/${saleId}.AAAAAAAAAAAAAAAAAAAAAA`, { token: await shopperToken("owner-1") }))
        .status,
    ).toBe(404);
    expect((await api(`/api/v1/reservations/not-a-token`, { token: await shopperToken("owner-1") })).status).toBe(404);
  });

  it("gives the shopper the sale's own payment window, and refuses a window too short to pay in", async () => {
    const { saleId } = await createActiveSale({
      items: [{ sku_id: "PHONE", total_stock: 5 }],
      paymentDeadlineSeconds: 120,
    });
    const r = await reserve(saleId, "quick-payer");
    const window = new Date(r.payment_deadline).getTime() - Date.now();
    expect(window).toBeGreaterThan(110_000);
    expect(window).toBeLessThanOrEqual(120_000);
    const refused = await admin("/sales", {
      body: {
        name: "Too quick",
        start_time: new Date(Date.now() + 60_000).toISOString(),
        end_time: new Date(Date.now() + 120_000).toISOString(),
        payment_deadline_seconds: 5,
        items: [{ sku_id: "X", name: "X", flash_price: "1.00", original_price: "2.00", total_stock: 1 }],
      },
    });
    expect(refused.status).toBe(422);
    expect(refused.body.details).toEqual([
      { field: "payment_deadline_seconds", problem: "must be a whole number from 60 to 86400" },
    ]);
  });

  it("gives the units back at once when its owner cancels, and only once", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const r = await reserve(saleId, "canceller", 2);
    const redis = upstash();
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("3");
    const token = await shopperToken("canceller");
    const other = await api(`/api/v1/reservations/${r.reservation_token}/cancel`, {
      method: "POST",
      token: await shopperToken("intruder"),
    });
    expect(other.status).toBe(403);
    const [a, b] = await Promise.all([
      api(`/api/v1/reservations/${r.reservation_token}/cancel`, { method: "POST", token }),
      api(`/api/v1/reservations/${r.reservation_token}/cancel`, { method: "POST", token }),
    ]);
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(a.body.status).toBe("cancelled");
    expect(await redis.get(keys.stock(saleId, "PHONE"))).toBe("5");
    await eventually("the order row to read cancelled", async () => (await orderStatus(r.order_id)) === "cancelled");
    // The shopper may buy again: the limit and the device were given back with the units.
    await reserve(saleId, "canceller", 2);
  });

  it("is paid when the shop confirms before the deadline, and a paid reservation cannot be cancelled", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const r = await reserve(saleId, "payer");
    expect(
      (
        await api(`/api/v1/reservations/${r.reservation_token}/confirm`, {
          method: "POST",
          body: {},
          token: await shopperToken("payer"),
        })
      ).status,
    ).toBe(401);
    const paid = await admin(`/../reservations/${r.reservation_token}/confirm`, {
      body: { payment_method_fingerprint: "pm-123", shipping_address: "1 Main St" },
    });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe("paid");
    const again = await admin(`/../reservations/${r.reservation_token}/confirm`, { body: {} });
    expect(again.status).toBe(200);
    const cancel = await api(`/api/v1/reservations/${r.reservation_token}/cancel`, {
      method: "POST",
      token: await shopperToken("payer"),
    });
    expect(cancel.status).toBe(409);
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("4");
    await eventually("the order row to read paid", async () => (await orderStatus(r.order_id)) === "paid");
  });

  it("expires at its deadline: 410 to a late payment, units back to stock exactly once", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const r = await reserve(saleId, "slow-payer");
    await pastDeadline(saleId, r.reservation_token);
    const late = await admin(`/../reservations/${r.reservation_token}/confirm`, { body: {} });
    expect(late.status).toBe(410);
    expect(late.body.error).toBe("reservation_expired");
    const again = await admin(`/../reservations/${r.reservation_token}/confirm`, { body: {} });
    expect(again.status).toBe(410);
    const view = await api(`/api/v1/reservations/${r.reservation_token}`, { token: await shopperToken("slow-payer") });
    expect(view.body.status).toBe("expired");
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("5");
    await eventually("the order row to read expired", async () => (await orderStatus(r.order_id)) === "expired");
  });

  it("a reservation nobody looks at expires with the sweep, and its shopper's view agrees", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const r = await reserve(saleId, "forgetful");
    await pastDeadline(saleId, r.reservation_token);
    const cron = await fetch(`${(await import("vitest")).inject("workerUrl")}/cdn-cgi/local/scheduled`);
    expect(cron.status).toBe(200);
    await eventually(
      "the sweep to give the unit back",
      async () => (await upstash().get(keys.stock(saleId, "PHONE"))) === "5",
    );
    const view = await api(`/api/v1/reservations/${r.reservation_token}`, { token: await shopperToken("forgetful") });
    expect(view.body.status).toBe("expired");
    await eventually("the order row to read expired", async () => (await orderStatus(r.order_id)) === "expired");
  });

  it("lets one payment method pay once per sale, and one account ship to an address", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const a = await reserve(saleId, "fraud-a");
    const b = await reserve(saleId, "fraud-b");
    const c = await reserve(saleId, "fraud-c");
    const confirm = (token: string, body: object) => admin(`/../reservations/${token}/confirm`, { body });

    expect(
      (
        await confirm(a.reservation_token, {
          payment_method_fingerprint: "card-1",
          shipping_address: "1 Main St., Springfield",
        })
      ).status,
    ).toBe(200);
    const sameCard = await confirm(b.reservation_token, { payment_method_fingerprint: "card-1" });
    expect(sameCard.status).toBe(409);
    expect(sameCard.body.error).toBe("payment_method_used");
    // Refused, not spent: the reservation still waits for a proper payment.
    const stillReserved = await api(`/api/v1/reservations/${b.reservation_token}`, {
      token: await shopperToken("fraud-b"),
    });
    expect(stillReserved.body.status).toBe("reserved");
    expect((await confirm(b.reservation_token, { payment_method_fingerprint: "card-2" })).status).toBe(200);

    const sameAddress = await confirm(c.reservation_token, {
      payment_method_fingerprint: "card-3",
      shipping_address: "  1 MAIN st springfield ",
    });
    expect(sameAddress.status).toBe(409);
    expect(sameAddress.body.error).toBe("shipping_address_used");
    expect(
      (await confirm(c.reservation_token, { payment_method_fingerprint: "card-3", shipping_address: "2 Elm St" }))
        .status,
    ).toBe(200);
  });
});
