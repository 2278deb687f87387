import { sql } from "drizzle-orm";
import {
  check,
  index,
  integer,
  numeric,
  pgEnum,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
  varchar,
} from "drizzle-orm/pg-core";

/**
 * Durable records (docs/purchase.md "After the sale"). Redis decides purchases during the
 * sale; Postgres is the ledger that outlives it and that reconciliation checks Redis
 * against. Shopper ids are the `sub` of the shop's JWT, so they are text, not uuid.
 */

export const saleStatus = pgEnum("sale_status", ["scheduled", "active", "sold_out", "ended", "cancelled"]);
export const preQueueMode = pgEnum("pre_queue_mode", ["fifo", "random"]);
export const orderStatus = pgEnum("order_status", ["reserved", "paid", "cancelled", "expired"]);

const timestamptz = (name: string) => timestamp(name, { withTimezone: true, mode: "date" });

export const flashSales = pgTable(
  "flash_sales",
  {
    saleId: uuid("sale_id").primaryKey().defaultRandom(),
    name: varchar("name", { length: 255 }).notNull(),
    startTime: timestamptz("start_time").notNull(),
    endTime: timestamptz("end_time").notNull(),
    /** Only `scheduled` and `cancelled` are written by hand; the rest follow the clock and stock. */
    status: saleStatus("status").notNull().default("scheduled"),
    preQueueMinutes: integer("pre_queue_minutes").notNull(),
    preQueueMode: preQueueMode("pre_queue_mode").notNull(),
    admissionRatePerSecond: integer("admission_rate_per_second").notNull(),
    expectedShoppers: integer("expected_shoppers").notNull(),
    /** Queue objects the admin asked for (create or PATCH); null: sized from expected_shoppers. Kept to tell the queue again. */
    shards: integer("shards"),
    safetyBufferPercent: numeric("safety_buffer_percent", { precision: 5, scale: 2 }).notNull(),
    paymentDeadlineSeconds: integer("payment_deadline_seconds").notNull(),
    prewarmedAt: timestamptz("prewarmed_at"),
    /** Set while the admin holds admission (the queue admits nobody); the rate is kept for the resume. */
    admissionPausedAt: timestamptz("admission_paused_at"),
    cancelledAt: timestamptz("cancelled_at"),
    /**
     * When the sale's queue last confirmed the settings it must hold (rate, pause, mode,
     * times, shards, cancel); null: it must be told, and the cron tells it again.
     */
    queueSyncedAt: timestamptz("queue_synced_at"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    /** When a setting the queue must hear last changed: `queue_synced_at` is only set against the value read. */
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (t) => [
    index("flash_sales_start_time_idx").on(t.startTime),
    check("flash_sales_window", sql`${t.endTime} > ${t.startTime}`),
    check("flash_sales_rate_positive", sql`${t.admissionRatePerSecond} > 0`),
  ],
);

export const flashSaleItems = pgTable(
  "flash_sale_items",
  {
    saleId: uuid("sale_id")
      .notNull()
      .references(() => flashSales.saleId, { onDelete: "cascade" }),
    skuId: varchar("sku_id", { length: 50 }).notNull(),
    name: varchar("name", { length: 255 }).notNull(),
    flashPrice: numeric("flash_price", { precision: 10, scale: 2 }).notNull(),
    originalPrice: numeric("original_price", { precision: 10, scale: 2 }).notNull(),
    totalStock: integer("total_stock").notNull(),
    perUserLimit: integer("per_user_limit").notNull().default(2),
    soldCount: integer("sold_count").notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.saleId, t.skuId] }),
    check("flash_sale_items_stock_positive", sql`${t.totalStock} > 0`),
    check("flash_sale_items_prices", sql`${t.flashPrice} > 0 and ${t.flashPrice} <= ${t.originalPrice}`),
    check("flash_sale_items_limit", sql`${t.perUserLimit} >= 1`),
  ],
);

export const flashSaleOrders = pgTable(
  "flash_sale_orders",
  {
    orderId: uuid("order_id").primaryKey(),
    saleId: uuid("sale_id")
      .notNull()
      .references(() => flashSales.saleId),
    userId: varchar("user_id", { length: 128 }).notNull(),
    skuId: varchar("sku_id", { length: 50 }).notNull(),
    quantity: integer("quantity").notNull(),
    price: numeric("price", { precision: 10, scale: 2 }).notNull(),
    status: orderStatus("status").notNull().default("reserved"),
    reservationToken: varchar("reservation_token", { length: 64 }).notNull(),
    idempotencyKey: varchar("idempotency_key", { length: 255 }),
    deviceFingerprint: varchar("device_fingerprint", { length: 255 }),
    /** The purchase request's id (cf-ray or X-Request-Id): its log lines at the edge lead here. */
    requestId: varchar("request_id", { length: 64 }),
    paymentDeadline: timestamptz("payment_deadline").notNull(),
    /** When Redis decided the reservation: the order reconciliation cancels by (last in, first out). */
    reservedAt: timestamptz("reserved_at").notNull(),
    paidAt: timestamptz("paid_at"),
    cancelledAt: timestamptz("cancelled_at"),
    expiredAt: timestamptz("expired_at"),
    cancelReason: varchar("cancel_reason", { length: 64 }),
    paymentMethodFingerprint: varchar("payment_method_fingerprint", { length: 255 }),
    shippingAddress: text("shipping_address"),
    createdAt: timestamptz("created_at").notNull().defaultNow(),
    updatedAt: timestamptz("updated_at").notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("flash_sale_orders_reservation_token_idx").on(t.reservationToken),
    index("idx_sale_user").on(t.saleId, t.userId),
    index("flash_sale_orders_sale_status_idx").on(t.saleId, t.status),
    index("flash_sale_orders_sale_reserved_at_idx").on(t.saleId, t.reservedAt),
    check("flash_sale_orders_quantity_positive", sql`${t.quantity} > 0`),
  ],
);

export type FlashSale = typeof flashSales.$inferSelect;
export type FlashSaleItem = typeof flashSaleItems.$inferSelect;
export type FlashSaleOrder = typeof flashSaleOrders.$inferSelect;
export type NewFlashSaleOrder = typeof flashSaleOrders.$inferInsert;
