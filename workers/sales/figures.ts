import type { Database } from "../clients/db";
import type { Redis } from "../clients/redis";
import { hashFromReply } from "../clients/redis";
import { keys } from "../keys";
import { queueStats } from "../queue/client";
import { type SaleSnapshot, totalRemaining } from "./snapshot";
import { orderCounts } from "./store";
import type { LiveFigures } from "./view";

/** The admin's live figures: counters the purchase code keeps in Redis, orders in Postgres, the queue's own. */
export async function liveFigures(
  env: Env,
  deps: { redis: Redis; db: Database },
  saleId: string,
  snapshot: SaleSnapshot | null,
): Promise<LiveFigures> {
  const [counters, orders, queue, deadLettered] = await Promise.all([
    deps.redis.hgetall(keys.counters(saleId)).then(hashFromReply),
    orderCounts(deps.db, saleId),
    queueStats(env, saleId),
    deps.redis.llen(keys.deadLetter(saleId)),
  ]);
  const counter = (field: string) => Number(counters?.[field] ?? 0);
  return {
    queued: queue.length,
    admitted: queue.admittedThrough,
    reserved: counter("reserved"),
    paid: counter("paid"),
    expired: counter("expired"),
    cancelled: counter("cancelled"),
    remaining: snapshot ? totalRemaining(snapshot) : null,
    orders,
    dead_lettered: deadLettered,
  };
}
