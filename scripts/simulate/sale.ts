/**
 * The simulated sale: one SKU, the sale's own defaults (workers/config.ts), a start on a
 * fixed date so the same seed gives the same timestamps, and a sale id drawn from the seed.
 */
import type { FlashSale, FlashSaleItem } from "../../schema/schema";
import { DEFAULTS } from "../../workers/config";
import type { QueueSaleConfig } from "../../workers/queue/types";
import { loadedUnits } from "../../workers/sales/definition";
import type { SaleRecord } from "../../workers/sales/store";
import type { SimOptions } from "./options";
import type { Random } from "./random";

export const SKU = "PHONE-1";
/** The sale's start on the simulated clock. */
export const START_MS = Date.UTC(2030, 0, 1, 10, 0, 0);
/** Long enough that no run reaches the end; refusals' idempotency records outlive the run. */
const DURATION_MS = 60 * 60_000;

export type SimSale = { record: SaleRecord; queue: QueueSaleConfig; loaded: number; perUserLimit: number };

export function simulatedSale(options: SimOptions, random: Random): SimSale {
  const saleId = random.uuid();
  const at = new Date(START_MS - 24 * 3600_000);
  const sale: FlashSale = {
    saleId,
    name: "Simulated flash sale",
    startTime: new Date(START_MS),
    endTime: new Date(START_MS + DURATION_MS),
    status: "scheduled",
    preQueueMinutes: DEFAULTS.preQueueMinutes,
    preQueueMode: options.mode,
    admissionRatePerSecond: options.rate,
    expectedShoppers: options.shoppers,
    shards: null,
    safetyBufferPercent: String(DEFAULTS.safetyBufferPercent),
    paymentDeadlineSeconds: DEFAULTS.paymentDeadlineSeconds,
    prewarmedAt: null,
    cancelledAt: null,
    admissionPausedAt: null,
    queueSyncedAt: null,
    createdAt: at,
    updatedAt: at,
  };
  const item: FlashSaleItem = {
    saleId,
    skuId: SKU,
    name: "Phone",
    flashPrice: "499.00",
    originalPrice: "999.00",
    totalStock: options.stock,
    perUserLimit: DEFAULTS.perUserLimit,
    soldCount: 0,
  };
  return {
    record: { sale, items: [item] },
    queue: {
      saleId,
      startMs: START_MS,
      endMs: START_MS + DURATION_MS,
      preQueueMinutes: sale.preQueueMinutes,
      preQueueMode: options.mode,
      admissionRatePerSecond: options.rate,
      expectedShoppers: options.shoppers,
    },
    loaded: loadedUnits(options.stock, DEFAULTS.safetyBufferPercent),
    perUserLimit: DEFAULTS.perUserLimit,
  };
}
