import { createExecutionContext, waitOnExecutionContext } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../../workers/index";
import { lifecycleStatus, statusOf } from "../../workers/sales/status";
import type { SaleRecord } from "../../workers/sales/store";

async function get(path: string, headers: Record<string, string> = {}) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(new Request(`http://edge${path}`, { headers }), env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("sales routes without their dependencies", () => {
  it("answers a status for a sale id that is not a UUID with 404, reading nothing", async () => {
    const res = await get("/api/v1/flash-sale/not-a-sale/status");
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: "not_found" });
  });

  it("answers a status with 503 and Retry-After when Redis does not answer", async () => {
    const res = await get("/api/v1/flash-sale/00000000-0000-4000-8000-000000000000/status");
    expect(res.status).toBe(503);
    expect(res.headers.get("retry-after")).toBe("2");
    expect(await res.json()).toMatchObject({ error: "dependency_unavailable" });
  });

  it("refuses every admin sales call without the admin token before touching anything", async () => {
    for (const path of ["/api/v1/admin/sales", "/api/v1/admin/sales/00000000-0000-4000-8000-000000000000"]) {
      expect((await get(path)).status).toBe(401);
      expect((await get(path, { authorization: "Bearer wrong" })).status).toBe(401);
    }
  });
});

describe("a sale's status by the server's clock", () => {
  const START = Date.UTC(2026, 11, 1, 12, 0, 0);
  const END = START + 3_600_000;
  const at = (nowMs: number, over: Partial<Parameters<typeof lifecycleStatus>[0]> = {}) =>
    lifecycleStatus({ startMs: START, endMs: END, cancelled: false, remaining: 10, ...over }, nowMs);

  it("opens at its start to the millisecond and ends at its end, both by the server's clock", () => {
    expect(at(START - 1)).toBe("scheduled");
    expect(at(START)).toBe("active");
    expect(at(END - 1)).toBe("active");
    expect(at(END)).toBe("ended");
  });

  it("is sold out only when stock is known to be gone, never while it is not loaded yet", () => {
    expect(at(START, { remaining: 0 })).toBe("sold_out");
    expect(at(START, { remaining: null })).toBe("active");
    expect(at(START, { remaining: 1 })).toBe("active");
    // A sold-out sale still ends, and a cancel beats the clock.
    expect(at(END, { remaining: 0 })).toBe("ended");
    expect(at(END, { cancelled: true })).toBe("cancelled");
  });

  it("is cancelled when Redis says so though Postgres has not recorded it yet (the cancel writes Redis first)", () => {
    const record = {
      sale: { saleId: "s", status: "scheduled", startTime: new Date(START), endTime: new Date(END) },
      items: [],
    } as unknown as SaleRecord;
    const snapshot = { saleId: "s", name: "n", startMs: START, endMs: END, cancelled: true, items: [] };
    expect(statusOf(record, snapshot, START + 1)).toBe("cancelled");
    expect(statusOf(record, { ...snapshot, cancelled: false }, START - 1)).toBe("scheduled");
  });
});
