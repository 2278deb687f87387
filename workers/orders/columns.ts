import type { PgColumn } from "drizzle-orm/pg-core";
import { flashSaleItems, flashSaleOrders, flashSales } from "../../schema/schema";

/** A varchar column's declared length (drizzle keeps it on the column, untyped on the table). */
function chars(column: PgColumn): number {
  const length = (column as unknown as { length?: unknown }).length;
  if (typeof length !== "number") throw new Error(`${column.name} is not a varchar(n) column`);
  return length;
}

/**
 * How many characters each text that reaches an order may hold, read from the columns
 * themselves so the door's validation cannot drift from what Postgres accepts (a
 * 256-character fingerprint accepted for a 255 column once blocked a sale's outbox).
 */
export const COLUMN_CHARS = {
  userId: chars(flashSaleOrders.userId),
  skuId: chars(flashSaleOrders.skuId),
  deviceFingerprint: chars(flashSaleOrders.deviceFingerprint),
  idempotencyKey: chars(flashSaleOrders.idempotencyKey),
  paymentMethodFingerprint: chars(flashSaleOrders.paymentMethodFingerprint),
  saleName: chars(flashSales.name),
  itemName: chars(flashSaleItems.name),
  /** `text`: unbounded in Postgres; bounded here so one address cannot be a megabyte. */
  shippingAddress: 2_000,
} as const;
