import { createDb } from "../clients/db";
import { createRedis } from "../clients/redis";
import { keys } from "../keys";
import { expireDue } from "../purchase/reservations";
import { notifyStockChanged } from "../queue/client";
import { drainOutbox } from "./outbox";
import { retireIfFinished } from "./retire";

/**
 * The cron's share of the purchase work, for every sale with Redis state: expire
 * reservations past their deadline (units back to stock, the queue told) and drain the
 * order outbox into Postgres, and free the Redis state of sales long finished. Each sale is independent, so one failing (Postgres down)
 * leaves the others' work done and its own events safely in the outbox for next time.
 */
export async function runOrderMaintenance(env: Env, nowMs = Date.now()): Promise<void> {
  const redis = createRedis(env);
  const saleIds = (await redis.smembers(keys.activeSales())) as string[];
  if (saleIds.length === 0) return;
  const { db, pool } = createDb(env);
  try {
    await Promise.allSettled(
      saleIds.map(async (saleId) => {
        const expired = await expireDue(redis, saleId, nowMs);
        if (expired > 0) await notifyStockChanged(env, saleId).catch(() => undefined);
        await drainOutbox({ redis, db }, saleId, { budgetMs: 20_000 });
        await retireIfFinished(redis, saleId, nowMs);
      }),
    );
  } finally {
    await pool.end().catch(() => undefined);
  }
}
