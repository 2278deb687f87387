import { describe, expect, it } from "vitest";
import { hashFromReply } from "../../workers/clients/redis";
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

  it("a cancel just after the deadline gives the units back once, and the sweep after it gives nothing more", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const run = scripts(saleId);
    const r = await reserve(saleId, "late-canceller", 2);
    await pastDeadline(saleId, r.reservation_token, 5);
    const cancel = await api(`/api/v1/reservations/${r.reservation_token}/cancel`, {
      method: "POST",
      token: await shopperToken("late-canceller"),
    });
    expect([200, 410]).toContain(cancel.status);
    expect(await run.stock()).toBe(5);
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

describe("the expiry sweep", () => {
  it("expires every due reservation even when more are due than one sweep batch holds", async () => {
    const due = 260; // the sweep reads 200 at a time
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 500, per_user_limit: 1 }] });
    const run = scripts(saleId);
    const t0 = Date.now();
    const made = await Promise.all(Array.from({ length: due }, (_, i) => run.purchase(`sweep-${i}`, 1, { nowMs: t0 })));
    const notDue = await run.purchase("not-yet", 1, { nowMs: t0 + 60_000 });
    expect(made.every((d) => d.kind === "reserved")).toBe(true);
    expect(notDue.kind).toBe("reserved");
    expect(await run.stock()).toBe(500 - due - 1);
    const deadline = (made[0] as { deadlineMs: number }).deadlineMs;
    expect(await expireDue(run.redis, saleId, deadline + 1)).toBe(due);
    expect(await run.stock()).toBe(499);
    expect(await run.redis.zcount(keys.deadlines(saleId), 0, deadline + 1)).toBe(0);
    expect(await run.redis.zcard(keys.deadlines(saleId))).toBe(1);
  }, 60_000);
});

describe("payment racing the sweeper", () => {
  it("either side may win, exactly one does, and units come back only when the sweeper won", async () => {
    const pairs = 300;
    const { saleId } = await createActiveSale({
      items: [{ sku_id: "PHONE", total_stock: pairs, per_user_limit: 1 }],
    });
    const run = scripts(saleId);
    const t0 = Date.now();
    const made = await Promise.all(
      Array.from({ length: pairs }, (_, i) => run.purchase(`race-${i}`, 1, { nowMs: t0 })),
    );
    const tokens = made.map((d) => {
      if (d.kind !== "reserved") throw new Error(d.kind);
      return d;
    });
    // The shop took the payment 1 ms before the deadline; the sweeper's clock already
    // passed it. Neither is sent "first": which one is issued first alternates, and a
    // random pause of up to 3 ms on one side lets the network decide the rest.
    const pause = () => new Promise((r) => setTimeout(r, Math.floor(Math.random() * 4)));
    const results = await Promise.all(
      tokens.map(async (d, i) => {
        const pay = async () => {
          if (i % 2) await pause();
          return run.transition(d.reservationToken, "confirm", d.deadlineMs - 1);
        };
        const sweep = async () => {
          if (i % 2 === 0) await pause();
          return run.transition(d.reservationToken, "expire", d.deadlineMs + 1);
        };
        if (i % 4 < 2) {
          const [paid, swept] = await Promise.all([pay(), sweep()]);
          return { d, paid, swept };
        }
        const [swept, paid] = await Promise.all([sweep(), pay()]);
        return { d, paid, swept };
      }),
    );
    let paidWins = 0;
    let sweepWins = 0;
    for (const { d, paid, swept } of results) {
      const payWon = paid.kind === "ok";
      const sweepWon = swept.kind === "ok";
      expect(Number(payWon) + Number(sweepWon), d.reservationToken).toBe(1);
      if (payWon) expect(swept).toEqual({ kind: "conflict", state: "paid" });
      else expect(paid).toEqual({ kind: "expired" });
      expect(await run.state(d.reservationToken)).toBe(payWon ? "paid" : "expired");
      if (payWon) paidWins++;
      else sweepWins++;
    }
    // A true race: each side won some.
    expect(paidWins).toBeGreaterThan(0);
    expect(sweepWins).toBeGreaterThan(0);
    expect(await run.stock()).toBe(sweepWins);
    const counters = hashFromReply(await run.redis.hgetall(keys.counters(saleId)))!;
    expect({
      reserved: Number(counters.reserved),
      paid: Number(counters.paid),
      expired: Number(counters.expired),
    }).toEqual({
      reserved: 0,
      paid: paidWins,
      expired: sweepWins,
    });
  }, 60_000);
});
