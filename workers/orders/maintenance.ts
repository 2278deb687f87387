import { createDb } from "../clients/db";
import { createRedis } from "../clients/redis";
import { DEFAULTS } from "../config";
import { keys } from "../keys";
import { expireDue } from "../purchase/reservations";
import { notifyStockChanged } from "../queue/client";
import { drainOutbox } from "./outbox";
import { retireIfFinished } from "./retire";

/**
 * The cron's share of the purchase work, for every sale with Redis state: expire
 * reservations past their deadline (units back to stock, the queue told) and drain the
 * order outbox into Postgres, and free the Redis state of sales long finished. Each sale
 * is independent, so one failing (Postgres down) leaves the others' work done and its own
 * events safely in the outbox for next time.
 */
async function maintainSale(
  env: Env,
  deps: { redis: ReturnType<typeof createRedis>; db: ReturnType<typeof createDb>["db"] },
  saleId: string,
  nowMs: number,
): Promise<void> {
  const expired = await expireDue(deps.redis, saleId, nowMs);
  if (expired > 0) await notifyStockChanged(env, saleId).catch(() => undefined);
  await drainOutbox(deps, saleId, { budgetMs: 20_000 });
  await retireIfFinished(deps.redis, saleId, nowMs);
}

export async function runOrderMaintenance(env: Env, nowMs = Date.now()): Promise<void> {
  const redis = createRedis(env);
  const saleIds = (await redis.smembers(keys.activeSales())) as string[];
  if (saleIds.length === 0) return;
  const { db, pool } = createDb(env);
  try {
    // A few sales at a time, not all at once: the pool holds a few connections, and a
    // thousand drains queued on them would time out together (and trip the breaker).
    let next = 0;
    const lanes = Array.from({ length: Math.min(DEFAULTS.maintenanceLanes, saleIds.length) }, async () => {
      while (next < saleIds.length) {
        const saleId = saleIds[next++]!;
        await maintainSale(env, { redis, db }, saleId, nowMs).catch((err) =>
          console.warn(`maintenance of sale ${saleId} failed, retried next minute:`, (err as Error).message),
        );
      }
    });
    await Promise.all(lanes);
  } finally {
    await pool.end().catch(() => undefined);
  }
}
