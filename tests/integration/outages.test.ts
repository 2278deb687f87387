import { afterEach, describe, expect, it } from "vitest";
import { keys } from "../../workers/keys";
import { admin, admissionToken, api, buy, createActiveSale, cutOff, inParallel, neonPool, upstash } from "./fixtures";

async function ordersInPostgres(saleId: string): Promise<number> {
  const pool = neonPool(1);
  try {
    return (await pool.query("select count(*)::int as n from flash_sale_orders where sale_id = $1", [saleId])).rows[0]
      .n;
  } finally {
    await pool.end();
  }
}

describe("when a dependency goes away", () => {
  afterEach(async () => {
    await cutOff("redis", false);
    await cutOff("postgres", false);
    // The Worker's breakers fail fast for up to 2 s after an outage, then probe: leave the
    // next test a Worker that has seen both dependencies return.
    for (let tries = 0; tries < 50 && (await api("/api/v1/health")).status !== 200; tries++)
      await new Promise((r) => setTimeout(r, 200));
  });

  it("keeps selling while Postgres is down, and every reserved order is in Postgres once it is back", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 100 }] });
    const before = await inParallel(
      Array.from(
        { length: 20 },
        (_, i) => async () =>
          buy(saleId, await admissionToken(saleId, `pg-before-${i}`, `pgb-${i}`), { sku_id: "PHONE", quantity: 1 }),
      ),
      10,
    );
    await cutOff("postgres", true);
    const health = await api("/api/v1/health");
    expect(health.status).toBe(503);
    expect(health.body.checks).toEqual({ redis: "ok", postgres: "down" });
    expect(health.headers.get("retry-after")).toBeTruthy();

    const started = Date.now();
    const during = await inParallel(
      Array.from(
        { length: 50 },
        (_, i) => async () =>
          buy(saleId, await admissionToken(saleId, `pg-during-${i}`, `pgd-${i}`), { sku_id: "PHONE", quantity: 1 }),
      ),
      10,
    );
    const elapsed = Date.now() - started;
    // Shoppers are answered from Redis alone: a dead Postgres costs them nothing.
    expect(during.every((r) => r.status === 200 && r.body.status === "reserved")).toBe(true);
    expect(elapsed).toBeLessThan(20_000);
    expect(await upstash().llen(keys.outbox(saleId))).toBeGreaterThanOrEqual(50);

    await cutOff("postgres", false);
    // For up to 2 s the Worker's breaker still answers 503 + Retry-After; an admin retries.
    let report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    for (let tries = 0; report.status === 503 && tries < 10; tries++) {
      await new Promise((r) => setTimeout(r, Number(report.headers.get("retry-after")) * 1000));
      report = await admin(`/sales/${saleId}/reconcile`, { method: "POST" });
    }
    expect(report.status).toBe(200);
    expect(report.body.excess_cancelled).toBe(0);
    const reserved = [...before, ...during].filter((r) => r.body.status === "reserved").length;
    expect(reserved).toBe(70);
    expect(await ordersInPostgres(saleId)).toBe(70);
    expect(await upstash().llen(keys.outbox(saleId))).toBe(0);
  }, 120_000);

  it("answers 503 with Retry-After, at once, when Redis is unreachable, and writes nothing", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 5 }] });
    const token = await admissionToken(saleId, "redis-less", "rl");
    await cutOff("redis", true);
    const started = Date.now();
    const res = await buy(saleId, token, { sku_id: "PHONE", quantity: 1 }, crypto.randomUUID());
    expect(Date.now() - started).toBeLessThan(8_000);
    expect(res.status).toBe(503);
    expect(res.body.error).toBe("dependency_unavailable");
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const health = await api("/api/v1/health");
    expect(health.status).toBe(503);
    expect(health.body.checks.redis).toBe("down");
    await cutOff("redis", false);
    expect(await upstash().get(keys.stock(saleId, "PHONE"))).toBe("5");
    expect(await ordersInPostgres(saleId)).toBe(0);
  }, 60_000);
});
