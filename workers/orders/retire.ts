import type { Redis } from "@upstash/redis";
import { scanKeys } from "../clients/redis";
import { DEFAULTS } from "../config";
import { keys } from "../keys";

/**
 * Frees a finished sale's Redis state. Postgres is the ledger that outlives a sale;
 * Redis only has to hold a sale while it can still change: until its end, its last
 * reservations' deadlines, its outbox drained, and a retention window for reconciliation
 * (DEFAULTS.redisRetentionDays). Only then are its keys deleted and it leaves the set
 * the cron sweeps, so the cron's work does not grow with every sale ever run.
 */
export async function retireIfFinished(redis: Redis, saleId: string, nowMs: number): Promise<"retired" | "kept"> {
  const endMs = Number(await redis.hget(keys.meta(saleId), "end_ms"));
  const retention = DEFAULTS.redisRetentionDays * 86_400_000;
  // A sale with no meta (never loaded, or already cleared) has nothing to hold on to.
  if (Number.isFinite(endMs) && endMs > 0 && nowMs < endMs + retention) return "kept";
  const [pendingOrders, pendingDeadlines, deadLettered] = await Promise.all([
    redis.llen(keys.outbox(saleId)),
    redis.zcard(keys.deadlines(saleId)),
    redis.llen(keys.deadLetter(saleId)),
  ]);
  // Orders not yet in Postgres (pending or set aside), or reservations not yet expired, are never thrown away.
  if (pendingOrders > 0 || pendingDeadlines > 0 || deadLettered > 0) return "kept";
  for await (const batch of scanKeys(redis, keys.allOfSale(saleId))) await redis.unlink(...batch);
  await redis.srem(keys.activeSales(), saleId);
  return "retired";
}
