/**
 * The fraud review after a sale, through the real stack: the report finds what the rules
 * at payment could not (an address written two ways, a payment method from another sale's
 * account, a bot the door flagged), lists resellers without cancelling them, and the cancel
 * returns exactly the cancelled units, so stock stays exact and reconcile finds nothing.
 */
import { describe, expect, it } from "vitest";
import { hashFromReply } from "../../workers/clients/redis";
import { DEFAULTS } from "../../workers/config";
import { keys } from "../../workers/keys";
import {
  admin,
  admissionToken,
  api,
  buy,
  createActiveSale,
  neonPool,
  shopperToken,
  sleep,
  uniq,
  until,
  upstash,
} from "./fixtures";

/**
 * A shopper who buys at a person's pace: their turn came a second before the click. A bot's
 * token is minted two seconds ahead of the click instead, so however slow the test machine's
 * round trip, its click lands well inside the fast-purchase window.
 */
async function purchase(saleId: string, shopper: string, quantity = 1, options: { bot?: boolean } = {}) {
  const token = await admissionToken(saleId, shopper, uniq("dev"), Date.now() + (options.bot ? 2_000 : -1_000));
  const res = await buy(saleId, token, { sku_id: "PHONE", quantity });
  expect(res.body.status).toBe("reserved");
  return res.body as { reservation_token: string; order_id: string };
}

async function pay(reservationToken: string, card: string, address: string) {
  const res = await admin(`/../reservations/${reservationToken}/confirm`, {
    body: { payment_method_fingerprint: card, shipping_address: address },
  });
  expect(res.body.status, JSON.stringify(res.body)).toBe("paid");
}

/** A sale open for purchases long enough that its start restarts nobody's fast-purchase clock. */
async function openSale(stock = 10) {
  const sale = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: stock, per_user_limit: 2 }] });
  await sleep(2 * DEFAULTS.botSignals.fastPurchaseMs);
  return sale;
}

const remaining = async (saleId: string) =>
  (await admin(`/sales/${saleId}`)).body.items.find((i: { sku_id: string }) => i.sku_id === "PHONE").remaining;

describe("the fraud review after a sale", () => {
  it("reports what payment could not see, cancels it, and gives every unit back exactly once", async () => {
    const reseller = uniq("reseller");
    const earlier = uniq("earlier-payer");
    const sharedCard = uniq("card-shared");
    // Two earlier sales: the reseller takes the maximum in each; another account pays with a card.
    for (const _ of [1, 2]) {
      const { saleId } = await openSale();
      await pay((await purchase(saleId, reseller, 2)).reservation_token, uniq("card-r"), `${uniq("r")} Road`);
    }
    const before = await openSale();
    await pay((await purchase(before.saleId, earlier)).reservation_token, sharedCard, "7 Far Away Lane");

    const { saleId } = await openSale(10);
    const [first, second, cardUser, bot, honest] = ["first", "second", "card", "bot", "honest"].map(uniq) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const o = {
      first: await purchase(saleId, first),
      second: await purchase(saleId, second),
      card: await purchase(saleId, cardUser),
      bot: await purchase(saleId, bot, 1, { bot: true }),
      honest: await purchase(saleId, honest),
      reseller: await purchase(saleId, reseller, 2),
    };
    // One flat written two ways: the rule at payment sees two addresses and lets both pay.
    // The second to reserve pays first: the first to reserve still keeps theirs.
    await pay(o.second.reservation_token, uniq("card-2"), "1 main st. #2");
    await pay(o.first.reservation_token, uniq("card-1"), "1 Main Street, Apt 2");
    await pay(o.card.reservation_token, sharedCard, "99 Other Road");
    await pay(o.honest.reservation_token, uniq("card-h"), "5 Elm Lane");
    await pay(o.reseller.reservation_token, uniq("card-r"), "12 Market Square");
    expect(await remaining(saleId)).toBe(10 - 7);

    const report = (await admin(`/sales/${saleId}/fraud`)).body;
    expect(report.orders_reviewed).toBe(6);
    expect(report.shared_addresses).toEqual([
      { key: "1 main st 2", accounts: [first, second], order_ids: [o.first.order_id, o.second.order_id], units: 2 },
    ]);
    expect(report.shared_payment_methods).toEqual([
      {
        key: sharedCard,
        accounts: [cardUser],
        order_ids: [o.card.order_id],
        units: 1,
        other_sales_accounts: [earlier],
      },
    ]);
    expect(report.resellers).toEqual([{ user_id: reseller, sales_at_the_limit: 3 }]);
    expect(report.flagged_shoppers).toEqual([{ user_id: bot, rules: ["fast_purchases"], order_ids: [o.bot.order_id] }]);
    // The first at the address, the honest buyer and the reseller keep their orders.
    const cancellable = Object.fromEntries(
      report.cancellable.map((c: { order_id: string; reasons: string[]; status: string }) => [
        c.order_id,
        [c.status, c.reasons],
      ]),
    );
    expect(cancellable).toEqual({
      [o.second.order_id]: ["paid", ["shared_address"]],
      [o.card.order_id]: ["paid", ["shared_payment_method"]],
      [o.bot.order_id]: ["reserved", ["bot_signal"]],
    });

    const cancelled = (await admin(`/sales/${saleId}/fraud/cancel`, { method: "POST" })).body;
    expect(cancelled).toMatchObject({ requested: 3, units_returned: 3, refused: [], outbox_remaining: 0 });
    expect(await remaining(saleId)).toBe(10 - 7 + 3);
    // Reviewed again, the cancelled orders are gone from it: nothing is left to take back.
    const after = (await admin(`/sales/${saleId}/fraud`)).body;
    expect(after).toMatchObject({ orders_reviewed: 6, shared_addresses: [], shared_payment_methods: [] });
    expect(after.flagged_shoppers).toEqual([]);
    expect(after.cancellable).toEqual([]);
    // Again: nothing more comes back.
    const again = (
      await admin(`/sales/${saleId}/fraud/cancel`, { body: { order_ids: [o.second.order_id, o.bot.order_id] } })
    ).body;
    expect(again).toMatchObject({ cancelled: [], units_returned: 0 });
    expect(again.refused.map((r: { reason: string }) => r.reason)).toEqual(["already cancelled", "already cancelled"]);
    expect(await remaining(saleId)).toBe(6);

    const pool = neonPool(1);
    try {
      const rows = await pool.query(
        "select order_id, status, cancel_reason from flash_sale_orders where sale_id = $1 and status = 'cancelled' order by order_id",
        [saleId],
      );
      expect(rows.rows).toEqual(
        [o.second.order_id, o.card.order_id, o.bot.order_id]
          .sort()
          .map((order_id) => ({ order_id, status: "cancelled", cancel_reason: "fraud" })),
      );
    } finally {
      await pool.end();
    }
    // The books agree: reconcile has nothing to write, cancel or correct.
    const rec = (await admin(`/sales/${saleId}/reconcile`, { method: "POST" })).body;
    expect(rec).toMatchObject({ missing_orders_written: 0, excess_cancelled: 0, states_repaired: 0 });
    expect(rec.items[0]).toMatchObject({ redis_remaining: 6, units_held: 4, stock_corrected: 0 });
  });

  it("spares what only looks like fraud: one shopper's own home twice, a regular, a two-time collector, a flag without an order", async () => {
    const [regular, collector, homebody] = ["regular", "collector", "homebody"].map(uniq) as [string, string, string];
    // Two earlier sales: the regular buys one of the two allowed in each, the collector the maximum in one.
    for (const n of [1, 2]) {
      const { saleId } = await openSale();
      await pay((await purchase(saleId, regular, 1)).reservation_token, uniq("card-reg"), `${n} Regular Road`);
      if (n === 1)
        await pay((await purchase(saleId, collector, 2)).reservation_token, uniq("card-col"), "8 Collector Court");
    }

    const { saleId } = await openSale(10);
    await pay((await purchase(saleId, regular, 1)).reservation_token, uniq("card-reg"), "3 Regular Road");
    await pay((await purchase(saleId, collector, 2)).reservation_token, uniq("card-col"), "8 Collector Court");
    // One shopper, two orders, both to their own flat, written two ways.
    await pay((await purchase(saleId, homebody, 1)).reservation_token, uniq("card-home"), "4 Oak Avenue, Unit 3");
    await pay((await purchase(saleId, homebody, 1)).reservation_token, uniq("card-home"), "4 oak ave #3");
    // Three accounts entering on one device id are flagged at the door, and buy nothing.
    const tablet = uniq("tablet");
    const lookers = ["looker-a", "looker-b", "looker-c"].map(uniq);
    for (const sub of lookers) {
      const res = await api(`/api/v1/flash-sale/${saleId}/enter-queue`, {
        token: await shopperToken(sub),
        body: { captcha_token: "local", device_fingerprint: uniq("fp"), device_id: tablet },
        headers: { "cf-connecting-ip": `10.79.0.${lookers.indexOf(sub) + 1}` },
      });
      expect(res.status).toBe(200);
    }
    const flags = await until(
      async () => hashFromReply(await upstash().hgetall(keys.flagged(saleId))) ?? {},
      (h) => Object.keys(h).length === 3,
    );
    expect(Object.keys(flags).sort()).toEqual([...lookers].sort());

    const report = (await admin(`/sales/${saleId}/fraud`)).body;
    expect(report.orders_reviewed).toBe(4);
    expect(report).toMatchObject({
      shared_addresses: [],
      shared_payment_methods: [],
      resellers: [],
      flagged_shoppers: [],
      cancellable: [],
    });
  });

  it("answers only the admin, and refuses order ids that are not UUIDs, taking nothing back", async () => {
    const { saleId } = await openSale(5);
    const order = await purchase(saleId, uniq("buyer"));
    const before = await remaining(saleId);

    for (const token of ["", "not-the-token"]) {
      expect((await api(`/api/v1/admin/sales/${saleId}/fraud`, { token })).status).toBe(401);
      const cancel = await api(`/api/v1/admin/sales/${saleId}/fraud/cancel`, {
        token,
        body: { order_ids: [order.order_id] },
      });
      expect(cancel.status).toBe(401);
    }
    const bad = await admin(`/sales/${saleId}/fraud/cancel`, { body: { order_ids: ["not-an-order-id"] } });
    expect(bad.status).toBe(400);
    expect(await remaining(saleId)).toBe(before);
  });
});
