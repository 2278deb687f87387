import { drizzle } from "drizzle-orm/neon-serverless";
import { describe, expect, it } from "vitest";
import * as schema from "../../schema/schema";
import { keys } from "../../workers/keys";
import { drainOutbox } from "../../workers/orders/outbox";
import leaseLua from "../../workers/orders/outbox-lease.lua";
import { createActiveSale, intercepted, neonPool, uniq, upstash } from "./fixtures";
import { scripts } from "./purchase-scripts";

/** The lease script as the drain calls it: KEYS lease, outbox; ARGV holder, action, count, first and last event written. */
function leaseOf(outbox: string) {
  const redis = upstash();
  const script = redis.createScript<number>(leaseLua);
  const lock = `${outbox}:lock`;
  return {
    lock,
    trim: (holder: string, n: number, first: string, last: string) =>
      script.exec([lock, outbox], [holder, "trim", String(n), first, last]),
    release: (holder: string) => script.exec([lock, outbox], [holder, "release", "0"]),
  };
}

describe("the outbox lease", () => {
  it("lets only its holder trim or release: a second drain running at the same time changes nothing", async () => {
    const redis = upstash();
    const outbox = `fs:{${uniq("lease")}}:outbox`;
    const lease = leaseOf(outbox);
    await redis.rpush(outbox, "e1", "e2", "e3", "e4");
    expect(await redis.set(lease.lock, "drain-a", { nx: true, px: 30_000 })).toBe("OK");
    expect(await redis.set(lease.lock, "drain-b", { nx: true, px: 30_000 })).toBeNull();
    // Drain B never got the lease; whatever it tries is refused.
    expect(await lease.trim("drain-b", 2, "e1", "e2")).toBe(0);
    expect(await redis.lrange(outbox, 0, -1)).toEqual(["e1", "e2", "e3", "e4"]);
    expect(await lease.release("drain-b")).toBe(0);
    expect(await redis.get(lease.lock)).toBe("drain-a");
    // Drain A trims exactly what it wrote and lets go.
    expect(await lease.trim("drain-a", 2, "e1", "e2")).toBe(1);
    expect(await redis.lrange(outbox, 0, -1)).toEqual(["e3", "e4"]);
    expect(await lease.release("drain-a")).toBe(1);
    expect(await redis.get(lease.lock)).toBeNull();
    await redis.del(outbox);
  });

  it("a drain whose lease ran out and changed hands can neither drop the new holder's events nor its lease", async () => {
    const redis = upstash();
    const outbox = `fs:{${uniq("lease")}}:outbox`;
    const lease = leaseOf(outbox);
    await redis.rpush(outbox, "written-by-a-1", "written-by-a-2");
    expect(await redis.set(lease.lock, "slow-drain", { nx: true, px: 150 })).toBe("OK");
    await new Promise((r) => setTimeout(r, 300)); // the slow drain's Postgres write overran its lease
    expect(await redis.set(lease.lock, "next-drain", { nx: true, px: 30_000 })).toBe("OK");
    await redis.rpush(outbox, "not-yet-written");
    // The slow drain comes back and tries to trim what it wrote, then to let go.
    expect(await lease.trim("slow-drain", 3, "written-by-a-1", "not-yet-written")).toBe(0);
    expect(await redis.llen(outbox)).toBe(3);
    expect(await lease.release("slow-drain")).toBe(0);
    expect(await redis.get(lease.lock)).toBe("next-drain");
    await redis.del(outbox, lease.lock);
  });

  it("two drains of one sale at once: one writes, the other steps aside, every order reaches Postgres once", async () => {
    const orders = 600;
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: orders, per_user_limit: 1 }] });
    const run = scripts(saleId);
    const t0 = Date.now();
    await Promise.all(Array.from({ length: orders }, (_, i) => run.purchase(`drain-${i}`, 1, { nowMs: t0 })));
    expect(await run.redis.llen(keys.outbox(saleId))).toBe(orders);
    const pool = neonPool(4);
    try {
      const db = drizzle(pool, { schema });
      const [a, b] = await Promise.all([
        drainOutbox({ redis: run.redis, db }, saleId, { batch: 100 }),
        drainOutbox({ redis: run.redis, db }, saleId, { batch: 100 }),
      ]);
      expect([a.skipped, b.skipped].sort()).toEqual(["locked", null]);
      expect(a.applied + b.applied).toBe(orders);
      expect(await run.redis.llen(keys.outbox(saleId))).toBe(0);
      const { rows } = await pool.query("select count(*)::int as n from flash_sale_orders where sale_id = $1", [
        saleId,
      ]);
      expect(rows[0].n).toBe(orders);
    } finally {
      await pool.end();
    }
  }, 60_000);

  it("a payment whose drain is turned away while the holder lets go still reaches Postgres, without waiting for the cron", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const run = scripts(saleId);
    const bought = await run.purchase("pays-at-the-wrong-moment", 1);
    if (bought.kind !== "reserved") throw new Error(JSON.stringify(bought));
    const pool = neonPool(2);
    const db = drizzle(pool, { schema });
    let turnedAway: Awaited<ReturnType<typeof drainOutbox>> | undefined;
    // The holder has written the purchase and read the list empty; before it lets go, the
    // shopper pays: the payment's event is pushed and its own drain finds the lease taken.
    const holderRedis = intercepted(run.redis, {
      lrange:
        (target) =>
        async (...args: Parameters<typeof target.lrange>) => {
          const read = await target.lrange(...args);
          if (read.length === 0 && !turnedAway) {
            expect(await run.transition(bought.reservationToken, "confirm", Date.now())).toMatchObject({ kind: "ok" });
            turnedAway = await drainOutbox({ redis: run.redis, db }, saleId);
          }
          return read;
        },
    });
    try {
      const holder = await drainOutbox({ redis: holderRedis, db }, saleId);
      expect(turnedAway?.skipped).toBe("locked");
      expect(holder).toMatchObject({ applied: 2, remaining: 0, skipped: null });
      expect(await run.redis.llen(keys.outbox(saleId))).toBe(0);
      const { rows } = await pool.query("select status from flash_sale_orders where order_id = $1", [bought.orderId]);
      expect(rows).toEqual([{ status: "paid" }]);
    } finally {
      await pool.end();
    }
  });
});
