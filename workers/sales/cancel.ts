import type { Database } from "../clients/db";
import type { Redis } from "../clients/redis";
import { keys } from "../keys";
import { tellQueue } from "./prewarm";
import { markCancelled, type SaleRecord } from "./store";

/**
 * Stops a sale. Redis first: `cancelled=1` in the meta hash is what the purchase script
 * refuses on, so purchases stop the moment this returns from Redis; Postgres then
 * records it. Should Postgres fail, the admin's retry finishes the job (both writes
 * are idempotent), and a later pre-warm keeps the flag rather than clearing it.
 * Queued shoppers are told last; a queue that cannot be told does not un-cancel the sale,
 * and the cron tells it again.
 */
export async function cancelSale(
  env: Env,
  deps: { redis: Redis; db: Database },
  record: SaleRecord,
  now: Date,
): Promise<{ record: SaleRecord; queueNotified: boolean }> {
  const saleId = record.sale.saleId;
  await deps.redis.hset(keys.meta(saleId), { cancelled: "1" });
  const sale =
    record.sale.status === "cancelled" ? record.sale : ((await markCancelled(deps.db, saleId, now)) ?? record.sale);
  const cancelled = { sale, items: record.items };
  return { record: cancelled, queueNotified: await tellQueue(env, deps.db, cancelled) };
}
