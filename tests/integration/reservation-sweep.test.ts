import { describe, expect, it } from "vitest";
import { hashFromReply } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import { expireDue } from "../../workers/purchase/reservations";
import { createActiveSale } from "./fixtures";
import { scripts } from "./purchase-scripts";

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
