/**
 * The fraud review keeps the first order of a shared group and offers the rest for cancel
 * (docs/purchase.md "After the sale: the fraud review"). "First" is the first to reserve,
 * whatever order Postgres returns the sale's rows in: after updates and vacuums a table's
 * rows come back in no promised order.
 */
import { describe, expect, it } from "vitest";
import { addressKey, sharedGroups } from "../../workers/orders/fraud";

type Order = Parameters<typeof sharedGroups>[0][number];

const T0 = Date.parse("2026-11-27T10:00:00Z");

function paid(orderId: string, userId: string, reservedAfterMs: number, address: string): Order {
  return {
    orderId,
    userId,
    skuId: "PHONE",
    quantity: 1,
    status: "paid",
    reservationToken: `token-${orderId}`,
    reservedAt: new Date(T0 + reservedAfterMs),
    paymentMethodFingerprint: `card-${orderId}`,
    shippingAddress: address,
  };
}

const byAddress = (o: Order) => (o.shippingAddress ? addressKey(o.shippingAddress) : null);

describe("a shared address group", () => {
  it("puts the first to reserve first, however the rows came back", () => {
    const early = paid("c-order", "early-bird", 0, "1 Main Street, Apt 2");
    const later = paid("a-order", "latecomer", 40, "1 main st. #2");
    const last = paid("b-order", "last", 90, "1 MAIN ST UNIT 2");
    for (const rows of [
      [early, later, last],
      [last, later, early],
      [later, last, early],
    ]) {
      const groups = sharedGroups(rows, byAddress);
      expect([...groups.values()].map((g) => g.map((o) => o.userId))).toEqual([["early-bird", "latecomer", "last"]]);
    }
  });
});
