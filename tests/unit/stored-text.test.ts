import { describe, expect, it } from "vitest";
import { deadLetterWarning, metricsSummary, reconcileSummary } from "../../scripts/cli/format";
import { COLUMN_CHARS } from "../../workers/orders/columns";
import { isRefusal } from "../../workers/orders/writer";
import { storableText } from "../../workers/validation";

describe("a text the door accepts is one Postgres stores", () => {
  const device = storableText(COLUMN_CHARS.deviceFingerprint);

  it("counts characters as the column does: 255 emoji fit a varchar(255), 256 do not", () => {
    expect(COLUMN_CHARS).toMatchObject({ deviceFingerprint: 255, idempotencyKey: 255, userId: 128, skuId: 50 });
    expect(device.safeParse("😀".repeat(255)).success).toBe(true);
    expect(device.safeParse("😀".repeat(256)).success).toBe(false);
    expect(device.safeParse("f".repeat(256)).success).toBe(false);
    expect(device.safeParse("").success).toBe(false);
  });

  it("refuses NUL and unpaired surrogates, which Postgres cannot store", () => {
    expect(device.safeParse("abc\u0000def").success).toBe(false);
    expect(device.safeParse("abc\ud800").success).toBe(false);
    expect(device.safeParse("\udc00abc").success).toBe(false);
    expect(device.safeParse("a\ud83d\ude00b").success).toBe(true); // a pair is one emoji
  });
});

describe("what the outbox sets aside, and what it leaves to wait", () => {
  const pg = (code: string, message: string) =>
    new Error("Failed query", { cause: Object.assign(new Error(message), { code }) });

  it("sets aside an event whose data Postgres refuses, or that cannot be read", () => {
    expect(isRefusal(pg("22001", "value too long for type character varying(255)"))).toBe(true);
    expect(isRefusal(pg("22021", 'invalid byte sequence for encoding "UTF8": 0x00'))).toBe(true);
    expect(isRefusal(pg("23503", "violates foreign key constraint"))).toBe(true);
    expect(isRefusal(new SyntaxError("Unexpected token o in JSON"))).toBe(true);
  });

  it("never sets aside for an outage, a deadlock or a schema the code does not match", () => {
    expect(isRefusal(pg("08006", "connection failure"))).toBe(false);
    expect(isRefusal(new Error("Connection terminated unexpectedly"))).toBe(false);
    expect(isRefusal(pg("40P01", "deadlock detected"))).toBe(false);
    expect(isRefusal(pg("42P01", 'relation "flash_sale_orders" does not exist'))).toBe(false);
  });
});

describe("the CLI names dead letters in words", () => {
  const deadLetter = {
    count: 2,
    entries: [
      {
        order_id: "8d6c3f0e-0000-4000-8000-000000000001",
        event_type: "reserved",
        error: "value too long for type character varying(255) (SQLSTATE 22001)",
        dead_lettered_at: "2026-11-30T05:00:00.000Z",
        event: '{"t":"reserved"}',
      },
    ],
  };

  it("says how many orders are not in Postgres, which, and why, in metrics and reconcile", () => {
    const metrics = metricsSummary({
      sale_id: "s1",
      status: "active",
      generated_at: "2026-11-30T05:00:00.000Z",
      counters: {
        queued: 0,
        admitted: 0,
        reserved: 3,
        paid: 0,
        expired: 0,
        cancelled: 0,
        remaining: 7,
        orders: { reserved: 1, paid: 0, cancelled: 0, expired: 0 },
        dead_lettered: 2,
      },
      outbox_backlog: 0,
      dead_letter: deadLetter,
      purchase_latency: { samples: 0, p50_ms: null, p95_ms: null, p99_ms: null, buckets: {}, measures: "" },
    });
    expect(metrics).toContain("2 order event(s) were refused by Postgres");
    expect(metrics).toContain("NOT in Postgres");
    expect(metrics).toContain("reserved 8d6c3f0e-0000-4000-8000-000000000001");
    expect(metrics).toContain("SQLSTATE 22001");
    expect(metrics).toContain("and 1 more");
    const report = reconcileSummary({
      sale_id: "s1",
      checked_at: "2026-11-30T05:00:00.000Z",
      items: [],
      outbox_events_applied: 0,
      missing_orders_written: 0,
      orphans_restored: 0,
      orphans_expired: 0,
      paid_restored: 0,
      states_repaired: 0,
      oversold_units: 0,
      excess_cancelled: 0,
      cancelled_order_ids: [],
      expired_order_ids: [],
      restored_order_ids: [],
      stock_corrected: true,
      refused: [],
      dead_letter: deadLetter,
    });
    expect(report).toContain("NOT in Postgres");
  });

  it("says nothing when nothing was set aside", () => {
    expect(deadLetterWarning("s1", 0)).toEqual([]);
  });
});
