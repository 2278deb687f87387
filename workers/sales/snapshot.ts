import type { Redis } from "../clients/redis";
import { hashFromReply } from "../clients/redis";
import { keys } from "../keys";

/** What Redis holds for a pre-warmed sale: its definition and the live stock. */
export type SaleSnapshot = {
  saleId: string;
  name: string;
  startMs: number;
  endMs: number;
  cancelled: boolean;
  items: Array<{
    skuId: string;
    name: string;
    price: string;
    originalPrice: string;
    total: number;
    loaded: number;
    limit: number;
    remaining: number;
  }>;
};

/**
 * Reads a sale from Redis in two round trips (meta, then every item and stock key in one
 * pipeline), or null when it has not been pre-warmed: a meta hash without
 * `prewarmed_at` holds only an early cancel flag, not a sale.
 */
export async function readSnapshot(redis: Redis, saleId: string): Promise<SaleSnapshot | null> {
  const meta = hashFromReply(await redis.hgetall(keys.meta(saleId)));
  if (!meta?.prewarmed_at) return null;
  const skus = (meta.skus ?? "").split(",").filter(Boolean);
  const pipe = redis.pipeline();
  for (const sku of skus) {
    pipe.hgetall(keys.item(saleId, sku));
    pipe.get(keys.stock(saleId, sku));
  }
  const replies = skus.length > 0 ? await pipe.exec<unknown[]>() : [];
  return {
    saleId,
    name: meta.name ?? "",
    startMs: Number(meta.start_ms),
    endMs: Number(meta.end_ms),
    cancelled: meta.cancelled === "1",
    items: skus.map((skuId, i) => {
      const item = hashFromReply(replies[2 * i]) ?? {};
      return {
        skuId,
        name: item.name ?? skuId,
        price: item.price ?? "0.00",
        originalPrice: item.original_price ?? "0.00",
        total: Number(item.total ?? 0),
        loaded: Number(item.loaded ?? 0),
        limit: Number(item.limit ?? 0),
        remaining: Number(replies[2 * i + 1] ?? 0),
      };
    }),
  };
}

export const totalRemaining = (snapshot: SaleSnapshot) => snapshot.items.reduce((sum, i) => sum + i.remaining, 0);
