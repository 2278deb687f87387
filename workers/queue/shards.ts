/**
 * How a sale's queue is split across Durable Objects. One object takes about 1,000
 * requests/s and 32,768 WebSockets (Cloudflare's documented limits); a sale expecting
 * a bigger crowd gets one coordinator plus N shard objects (docs/queue.md).
 *
 * N is sized from the expected crowd or set by the admin, and may only rise (before the
 * start; durable-objects/queue/rules.ts `configure`): a shopper's shard is a hash of their
 * id under the count in force when they entered, and their place stays there.
 */

/** Entrants one shard is sized for: under the socket limit with room for reconnects. */
export const SHOPPERS_PER_SHARD = 25_000;
/** Each shard reports 10 times a second: 64 keep the coordinator at 640 requests/s, under its ~1,000. */
export const MAX_SHARDS = 64;

export function shardsFor(expectedShoppers: number): number {
  return Math.min(MAX_SHARDS, Math.max(1, Math.ceil(expectedShoppers / SHOPPERS_PER_SHARD)));
}

/** FNV-1a: stable across isolates and releases, which a shopper's home shard must be. */
export function shardOf(key: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    h ^= key.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

/** Object names: the coordinator is named by the sale alone, so single-object sales need nothing else. */
export const coordinatorName = (saleId: string) => saleId;
export const shardName = (saleId: string, index: number) => `${saleId}/shard/${index}`;

/** Queue tokens say which object holds the place: `c.…` the coordinator, `s<index>.…` a shard (queue/token.ts). */
export const tokenPrefix = (shard: number | null) => (shard === null ? "c" : `s${shard.toString(36)}`);

export function shardOfToken(token: string): number | null {
  const prefix = token.slice(0, token.indexOf("."));
  return prefix === "c" ? null : parseInt(prefix.slice(1), 36);
}
