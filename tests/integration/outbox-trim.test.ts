/**
 * The outbox trim on a replicated database: a plain LRANGE may be answered by a replica
 * that has not yet seen the previous drain's trim, so the batch a drain writes may not be
 * what the primary's outbox starts with. Redis and Postgres here are the real ones; only
 * the lagging replica's answer to LRANGE is played by the test (the list as it was).
 */
import { drizzle } from "drizzle-orm/neon-serverless";
import { describe, expect, it } from "vitest";
import * as schema from "../../schema/schema";
import type { Database } from "../../workers/clients/db";
import { keys } from "../../workers/keys";
import { drainOutbox } from "../../workers/orders/outbox";
import { createActiveSale, intercepted, neonPool, upstash } from "./fixtures";

const reserved = (saleId: string, shopper: string) =>
  JSON.stringify({
    t: "reserved",
    order_id: crypto.randomUUID(),
    sale_id: saleId,
    user_id: shopper,
    sku_id: "PHONE",
    quantity: 1,
    price: "499.00",
    token: `${saleId}.${crypto.randomUUID().replace(/-/g, "").slice(0, 22)}`,
    deadline_ms: Date.now() + 600_000,
    at_ms: Date.now(),
    idempotency_key: "",
    device: "",
  });

describe("the outbox trim", () => {
  it("removes only the batch it wrote: a batch read from a lagging replica never trims newer orders", async () => {
    const { saleId } = await createActiveSale({ items: [{ sku_id: "PHONE", total_stock: 10 }] });
    const redis = upstash();
    // Already written and trimmed by an earlier drain, but still listed by a lagging replica.
    const stale = [reserved(saleId, "old-1"), reserved(saleId, "old-2")];
    // What the primary's outbox holds now: two newer orders no drain has written.
    const fresh = [reserved(saleId, "new-1"), reserved(saleId, "new-2")];
    await redis.rpush(keys.outbox(saleId), ...fresh);
    const lagging = intercepted(redis, { lrange: () => async () => stale });
    const pool = neonPool(2);
    const db = drizzle(pool, { schema }) as unknown as Database;
    try {
      await drainOutbox({ redis: lagging, db }, saleId);
      expect(await redis.lrange(keys.outbox(saleId), 0, -1)).toEqual(fresh);

      // The next drain that reads the outbox as it is writes both and empties it.
      expect(await drainOutbox({ redis, db }, saleId)).toMatchObject({ applied: 2, remaining: 0 });
      const ids = fresh.map((e) => JSON.parse(e).order_id);
      const { rows } = await pool.query("select count(*)::int as n from flash_sale_orders where order_id = any($1)", [
        ids,
      ]);
      expect(rows[0].n).toBe(2);
    } finally {
      await pool.end();
    }
  });
});
