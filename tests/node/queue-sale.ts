/** The sale the queue's tests run against, in workerd (tests/unit) or plain Node (tests/node) alike. */
import type { AdmissionMinter } from "../../durable-objects/queue/rules";
import type { QueueSaleConfig } from "../../workers/queue/types";

export const START = Date.UTC(2026, 10, 24, 12, 0, 0);

/** An hour-long fifo sale starting at START, its door open five minutes before. */
export function queueSale(saleId: string, overrides: Partial<QueueSaleConfig> = {}): QueueSaleConfig {
  return {
    saleId,
    startMs: START,
    endMs: START + 3_600_000,
    preQueueMinutes: 5,
    preQueueMode: "fifo",
    admissionRatePerSecond: 100,
    expectedShoppers: 10_000,
    ...overrides,
  };
}

/** Admission tokens a test can read at a glance: shopper and mint time, nothing signed. */
export const mintAdmission: AdmissionMinter = async (claims, now, ttl) => ({
  token: `admission:${claims.sub}:${now}`,
  expiresAt: new Date(now + ttl * 1000),
});
