/**
 * A sale's whole footprint, to prove "nothing written": every Redis key under its hash tag
 * `fs:{<sale>}` (found by SCAN over the whole keyspace, however many other keys the shared
 * Redis holds), each with its type and full value, and its rows in Postgres.
 */
import { neonPool, upstash } from "./fixtures";

/** Keys that count what happened rather than record it: a refused click is counted and timed, and the flush that counts it named (workers/metrics/). */
const SAMPLES = /:m:(s:\d+|m:\d+|f:\d+|total)$/;

export async function footprint(saleId: string) {
  const redis = upstash();
  const found: string[] = [];
  let cursor: string | number = 0;
  do {
    const [next, batch]: [string | number, string[]] = await redis.scan(cursor, {
      match: `fs:{${saleId}}*`,
      count: 1000,
    });
    found.push(...batch);
    cursor = next;
  } while (String(cursor) !== "0");
  const redisKeys: Record<string, { type: string; value: unknown }> = {};
  for (const key of [...new Set(found)].sort()) {
    if (SAMPLES.test(key)) continue;
    const type = await redis.type(key);
    let value: unknown;
    if (type === "string") value = await redis.get(key);
    else if (type === "hash") value = await redis.hgetall(key);
    else if (type === "list") value = await redis.lrange(key, 0, -1);
    else if (type === "set") value = ((await redis.smembers(key)) as string[]).sort();
    else if (type === "zset") value = await redis.zrange(key, 0, -1, { withScores: true });
    else throw new Error(`footprint: ${key} has a type (${type}) the footprint does not read`);
    redisKeys[key] = { type, value };
  }
  const pool = neonPool(1);
  try {
    const sale = await pool.query("select * from flash_sales where sale_id = $1", [saleId]);
    const items = await pool.query("select * from flash_sale_items where sale_id = $1 order by sku_id", [saleId]);
    const orders = await pool.query("select * from flash_sale_orders where sale_id = $1 order by order_id", [saleId]);
    return { redis: redisKeys, sale: sale.rows, items: items.rows, orders: orders.rows };
  } finally {
    await pool.end();
  }
}
