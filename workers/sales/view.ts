import type { SaleSnapshot } from "./snapshot";
import { statusOf } from "./status";
import type { OrderCounts, SaleRecord } from "./store";

/** Live figures for the admin: Redis counters and stock, Postgres orders, the queue. */
export type LiveFigures = {
  queued: number;
  admitted: number;
  reserved: number;
  paid: number;
  expired: number;
  cancelled: number;
  /** Units still sellable in Redis; null until the sale is pre-warmed. */
  remaining: number | null;
  /** Order rows in Postgres by status, to compare with the Redis counters. */
  orders: OrderCounts;
  /** Order events Postgres refused and the drain set aside: never silently 0 when they exist. */
  dead_lettered: number;
};

const iso = (d: Date | null) => (d ? d.toISOString() : null);

/** A sale as the admin API answers it: snake_case, ISO times, money as "499.00". */
export function saleJson(record: SaleRecord, snapshot: SaleSnapshot | null, nowMs: number, figures?: LiveFigures) {
  const { sale, items } = record;
  return {
    sale_id: sale.saleId,
    name: sale.name,
    status: statusOf(record, snapshot, nowMs),
    start_time: sale.startTime.toISOString(),
    end_time: sale.endTime.toISOString(),
    pre_queue_minutes: sale.preQueueMinutes,
    pre_queue_opens_at: new Date(sale.startTime.getTime() - sale.preQueueMinutes * 60_000).toISOString(),
    pre_queue_mode: sale.preQueueMode,
    admission_rate_per_second: sale.admissionRatePerSecond,
    /** When the admin paused admission (null: admitting at the rate above). */
    admission_paused_at: iso(sale.admissionPausedAt),
    expected_shoppers: sale.expectedShoppers,
    safety_buffer_percent: Number(sale.safetyBufferPercent),
    payment_deadline_seconds: sale.paymentDeadlineSeconds,
    prewarmed_at: iso(sale.prewarmedAt),
    cancelled_at: iso(sale.cancelledAt),
    created_at: sale.createdAt.toISOString(),
    items: items.map((item) => {
      const live = snapshot?.items.find((i) => i.skuId === item.skuId);
      return {
        sku_id: item.skuId,
        name: item.name,
        flash_price: item.flashPrice,
        original_price: item.originalPrice,
        total_stock: item.totalStock,
        per_user_limit: item.perUserLimit,
        loaded: live?.loaded ?? null,
        remaining: live?.remaining ?? null,
      };
    }),
    ...(figures ? { figures } : {}),
  };
}
