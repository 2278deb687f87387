import { describe, expect, it } from "vitest";
import type { FlashSale } from "../../schema/schema";
import { queueConfigOf } from "../../workers/sales/prewarm";

const sale = (over: Partial<FlashSale> = {}) =>
  ({
    saleId: "0b0c8f5e-4c1a-4b7e-9d3a-2f1e0c9b8a7d",
    startTime: new Date("2026-11-30T10:00:00Z"),
    endTime: new Date("2026-11-30T11:00:00Z"),
    preQueueMinutes: 5,
    preQueueMode: "fifo",
    admissionRatePerSecond: 500,
    expectedShoppers: 10_000,
    admissionPausedAt: null,
    ...over,
  }) as FlashSale;

describe("what the queue is told of admission", () => {
  it("is the sale's rate, and 0 while the admin has paused it (the rate itself is kept for the resume)", () => {
    expect(queueConfigOf({ sale: sale(), items: [] }).admissionRatePerSecond).toBe(500);
    const paused = sale({ admissionPausedAt: new Date("2026-11-30T10:05:00Z") });
    expect(queueConfigOf({ sale: paused, items: [] }).admissionRatePerSecond).toBe(0);
    expect(paused.admissionRatePerSecond).toBe(500);
  });
});
