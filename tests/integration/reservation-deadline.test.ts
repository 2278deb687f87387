import { describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { expireDue } from "../../workers/purchase/reservations";
import { admin, admissionToken, api, buy, createActiveSale, shopperToken } from "./fixtures";
import { pastDeadline, scripts } from "./purchase-scripts";

async function reserve(saleId: string, shopper: string, quantity = 1) {
  const res = await buy(saleId, await admissionToken(saleId, shopper, `${shopper}-device`), {
    sku_id: "PHONE",
    quantity,
  });
  expect(res.body.status).toBe("reserved");
  return res.body as { reservation_token: string; order_id: string };
}

describe("the payment deadline, before any sweep has run", () => {
  it("a reservation past its deadline reads as expired to its owner, and its units are back at that moment", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const run = scripts(saleId);
    const r = await reserve(saleId, "reader", 2);
    await pastDeadline(saleId, r.reservation_token);
    expect(await run.stock()).toBe(3);
    const view = await api(`/api/v1/reservations/${r.reservation_token}`, { token: await shopperToken("reader") });
    expect(view.status).toBe(200);
    expect(view.body.status).toBe("expired");
    // Not "shown as expired but still held": the read itself expired it, units and all.
    expect(await run.state(r.reservation_token)).toBe("expired");
    expect(await run.stock()).toBe(5);
    expect(await run.redis.zscore(keys.deadlines(saleId), r.reservation_token)).toBeNull();
    // Reading again gives nothing back a second time.
    await api(`/api/v1/reservations/${r.reservation_token}`, { token: await shopperToken("reader") });
    expect(await run.stock()).toBe(5);
  });

  it("a cancel just after the deadline is 410, the reservation reads expired, and its units come back once", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const run = scripts(saleId);
    const r = await reserve(saleId, "late-canceller", 2);
    await pastDeadline(saleId, r.reservation_token, 5);
    const cancel = await api(`/api/v1/reservations/${r.reservation_token}/cancel`, {
      method: "POST",
      token: await shopperToken("late-canceller"),
    });
    expect(cancel.status).toBe(410);
    expect(cancel.body.error).toBe("reservation_expired");
    expect(await run.stock()).toBe(5);
    const read = await api(`/api/v1/reservations/${r.reservation_token}`, {
      token: await shopperToken("late-canceller"),
    });
    expect(read.body.status).toBe("expired");
    expect(await expireDue(run.redis, saleId, Date.now())).toBe(0);
    expect(await run.stock()).toBe(5);
    const confirm = await admin(`/../reservations/${r.reservation_token}/confirm`, { body: {} });
    expect([409, 410]).toContain(confirm.status);
    expect(await run.stock()).toBe(5);
  });

  it("a confirm just after the deadline is 410 and gives the units back; the sweep after it gives nothing more", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const run = scripts(saleId);
    const r = await reserve(saleId, "late-payer", 2);
    await pastDeadline(saleId, r.reservation_token, 5);
    const late = await admin(`/../reservations/${r.reservation_token}/confirm`, { body: {} });
    expect(late.status).toBe(410);
    expect(await run.stock()).toBe(5);
    expect(await expireDue(run.redis, saleId, Date.now())).toBe(0);
    expect(await run.stock()).toBe(5);
  });

  it("payment wins at deadline - 1 ms and loses at the deadline; the sweep acts at the deadline, not a millisecond before", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5, per_user_limit: 1 }] });
    const run = scripts(saleId);
    const made = [];
    for (const who of ["in-time", "on-the-dot", "swept-early", "swept-on-time"]) {
      const d = await run.purchase(who, 1);
      if (d.kind !== "reserved") throw new Error(d.kind);
      made.push(d);
    }
    const [inTime, onTheDot, sweptEarly, sweptOnTime] = made as [(typeof made)[0], ...typeof made];
    expect(await run.transition(inTime.reservationToken, "confirm", inTime.deadlineMs - 1)).toEqual({
      kind: "ok",
      state: "paid",
    });
    expect(await run.transition(onTheDot!.reservationToken, "confirm", onTheDot!.deadlineMs)).toEqual({
      kind: "expired",
    });
    expect(await run.transition(sweptEarly!.reservationToken, "expire", sweptEarly!.deadlineMs - 1)).toEqual({
      kind: "not_due",
    });
    expect(await run.state(sweptEarly!.reservationToken)).toBe("reserved");
    expect(await run.transition(sweptOnTime!.reservationToken, "expire", sweptOnTime!.deadlineMs)).toEqual({
      kind: "ok",
      state: "expired",
    });
    // Sold: the paid one and the one still waiting; back: the two expired.
    expect(await run.stock()).toBe(3);
  });
});
