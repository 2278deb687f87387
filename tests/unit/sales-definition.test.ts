import { describe, expect, it } from "vitest";
import { loadedUnits, type SaleInput, toCents, validateSale } from "../../workers/sales/definition";
import { lifecycleStatus } from "../../workers/sales/status";

const NOW = Date.parse("2026-12-01T10:00:00Z");

const valid = (over: Partial<SaleInput> = {}): SaleInput => ({
  name: "Phones",
  start_time: "2026-12-01T11:00:00Z",
  end_time: "2026-12-01T12:00:00Z",
  items: [{ sku_id: "P-1", name: "Phone", flash_price: 499, original_price: "999", total_stock: 1000 }],
  ...over,
});

describe("a sale definition", () => {
  it("fills every default and writes money with two places", () => {
    const result = validateSale(valid(), NOW);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.sale).toMatchObject({
      preQueueMinutes: 5,
      preQueueMode: "fifo",
      admissionRatePerSecond: 10_000,
      expectedShoppers: 10_000,
      safetyBufferPercent: 1,
      paymentDeadlineSeconds: 600,
      items: [{ skuId: "P-1", flashPrice: "499.00", originalPrice: "999.00", totalStock: 1000, perUserLimit: 2 }],
    });
  });

  it("is judged by the server's clock: a start one millisecond ago is in the past", () => {
    const result = validateSale(valid({ start_time: new Date(NOW - 1).toISOString() }), NOW);
    expect(result).toMatchObject({ ok: false, problems: [{ field: "start_time" }] });
  });

  it("lets the flash price equal the original, never exceed it", () => {
    expect(
      validateSale(
        valid({ items: [{ sku_id: "A", name: "A", flash_price: "10.00", original_price: 10, total_stock: 1 }] }),
        NOW,
      ).ok,
    ).toBe(true);
    const over = validateSale(
      valid({ items: [{ sku_id: "A", name: "A", flash_price: "10.01", original_price: 10, total_stock: 1 }] }),
      NOW,
    );
    expect(over).toMatchObject({
      ok: false,
      problems: [{ field: "items[0].flash_price", problem: expect.stringContaining("10.01 > 10.00") }],
    });
  });
});

describe("money", () => {
  it("reads decimal strings and numbers exactly, in cents", () => {
    expect(toCents("499.00")).toBe(49_900);
    expect(toCents(0.1)).toBe(10);
    expect(toCents("9.9")).toBe(990);
    expect(toCents(1.005)).toBeNull();
    expect(toCents("1e3")).toBeNull();
    expect(toCents("-1")).toBeNull();
    expect(toCents("100000000.00")).toBeNull();
  });
});

describe("the safety buffer", () => {
  it("holds back the percentage, rounded up: at least one unit whenever it is above 0%", () => {
    expect(loadedUnits(1000, 1)).toBe(990);
    expect(loadedUnits(99, 1)).toBe(98);
    expect(loadedUnits(1, 0.01)).toBe(0);
    expect(loadedUnits(1000, 0)).toBe(1000);
    expect(loadedUnits(1000, 1.15)).toBe(988);
    expect(loadedUnits(10, 99.99)).toBe(0);
  });
});

describe("the lifecycle", () => {
  const sale = { startMs: 1_000, endMs: 2_000, cancelled: false, remaining: 5 };
  it("follows the server's clock from scheduled to active to ended", () => {
    expect(lifecycleStatus(sale, 999)).toBe("scheduled");
    expect(lifecycleStatus(sale, 1_000)).toBe("active");
    expect(lifecycleStatus(sale, 2_000)).toBe("ended");
  });
  it("is sold out only when every unit is gone and the sale is open", () => {
    expect(lifecycleStatus({ ...sale, remaining: 0 }, 1_500)).toBe("sold_out");
    expect(lifecycleStatus({ ...sale, remaining: 0 }, 2_500)).toBe("ended");
    expect(lifecycleStatus({ ...sale, remaining: null }, 1_500)).toBe("active");
  });
  it("lets a cancel win over everything", () => {
    for (const now of [500, 1_500, 2_500]) expect(lifecycleStatus({ ...sale, cancelled: true }, now)).toBe("cancelled");
  });
});
