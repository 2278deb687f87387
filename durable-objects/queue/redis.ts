/**
 * What the queue object reads from Redis: the sale meta the prewarm wrote (workers/keys.ts),
 * the units left (the sum of the sale's SKU stock counters) and how many live turns have
 * reserved (purchase.lua marks them in `turns`).
 */
import { createRedis, fieldsFromReply } from "../../workers/clients/redis";
import { keys } from "../../workers/keys";
import type { SaleState } from "./model";

const META_FIELDS = ["start_ms", "end_ms", "cancelled", "skus"] as const;
export type SaleMeta = Partial<Record<(typeof META_FIELDS)[number], string>>;

/**
 * Units left, and turns above the lapsed position that reserved; `flagged`, when asked for:
 * the shoppers the door's bot signals flagged (the slow lane's one read, at the start).
 */
export type StockRead = { units: number; decided: number; flagged?: string[] };

/**
 * What a tick reads, in one request; null when Redis does not answer or the sale was never
 * prewarmed. `lapsedThrough`: turns at or below it lapsed and count for nothing. `withFlags`:
 * read the sale's `flagged` hash too (rules.ts slowLaneDue).
 */
export type StockSource = (
  saleId: string,
  state: SaleState,
  lapsedThrough: number,
  withFlags?: boolean,
) => Promise<StockRead | null>;

/** The prewarm's sale meta; the client returns HMGET raw, in field order. */
export async function readMeta(env: Env, saleId: string): Promise<SaleMeta> {
  const raw = (await createRedis(env).hmget(keys.meta(saleId), ...META_FIELDS)) as unknown;
  const values = fieldsFromReply(raw, META_FIELDS.length);
  const meta: SaleMeta = {};
  META_FIELDS.forEach((field, i) => {
    if (values[i] !== null) meta[field] = values[i];
  });
  return meta;
}

export const skuList = (skus: string): string[] => skus.split(",").filter(Boolean);

/** Reads the SKU list once (kept in the state), then one pipeline (MGET, ZCOUNT, and once HKEYS) per read. */
export function stockFromRedis(env: Env): StockSource {
  return async (saleId, state, lapsedThrough, withFlags = false) => {
    try {
      const redis = createRedis(env);
      if (!state.skus) {
        const { skus } = await readMeta(env, saleId);
        if (!skus) return null;
        state.skus = skuList(skus);
      }
      if (state.skus.length === 0) return { units: 0, decided: 0, flagged: [] };
      const pipeline = redis
        .pipeline()
        .mget<(string | null)[]>(...state.skus.map((sku) => keys.stock(saleId, sku)))
        .zcount(keys.turns(saleId), `(${lapsedThrough}`, "+inf");
      if (withFlags) pipeline.hkeys(keys.flagged(saleId));
      const [values, decided, flagged] = await pipeline.exec<[(string | null)[], number, string[]?]>();
      return {
        units: values.reduce((sum, v) => sum + Math.max(0, Number(v ?? 0)), 0),
        decided: Number(decided) || 0,
        ...(withFlags ? { flagged: (flagged ?? []).map(String) } : {}),
      };
    } catch (err) {
      console.error("queue could not read stock", err);
      return null;
    }
  };
}
