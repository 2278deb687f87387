/**
 * How the rest of the edge talks to a sale's queue (the SaleQueue Durable Object or,
 * for a big crowd, its shards). Callers use these functions only; which object or
 * shard answers is this module's business.
 */
import type { SaleQueue } from "../../durable-objects/sale-queue";
import { DependencyError } from "../errors";
import { coordinatorName, shardName, shardOf, shardOfToken } from "./shards";
import type { EnterAnswer, Outcome, QueueSaleConfig, QueueStats, QueueView } from "./types";

/** The sale's queue (its coordinator when sharded): named by the sale, so every Worker reaches the same one. */
export function queueStub(
  env: Pick<Env, "SALE_QUEUE">,
  saleId: string,
  shard: number | null = null,
): DurableObjectStub<SaleQueue> {
  const ns = env.SALE_QUEUE;
  return ns.get(ns.idFromName(shard === null ? coordinatorName(saleId) : shardName(saleId, shard)));
}

/**
 * Shard counts this isolate has learnt. Safe to keep: a configured queue never changes
 * its count, so after the first entry a single-object sale costs one object call per
 * entry. An unconfigured queue (no count yet) is asked again next time.
 */
const knownShards = new Map<string, number>();

async function shardsOf(env: Env, saleId: string): Promise<number> {
  const known = knownShards.get(saleId);
  if (known !== undefined) return known;
  const count = await queueStub(env, saleId).configuredShards();
  if (count !== null) knownShards.set(saleId, count);
  return count ?? 1;
}

/** A queue object that throws (reset, overloaded) is a dependency outage: 503, not 500. */
async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new DependencyError("queue", err);
  }
}

export async function configureQueue(env: Env, config: QueueSaleConfig): Promise<void> {
  await call(() => queueStub(env, config.saleId).configure(config));
}

export async function cancelQueue(env: Env, saleId: string): Promise<void> {
  await call(() => queueStub(env, saleId).cancel());
}

export async function queueStats(env: Env, saleId: string): Promise<QueueStats> {
  return call(() => queueStub(env, saleId).stats());
}

/** Stock changed (sold out, or units returned by expiry or cancel): the queue re-reads it. */
export async function notifyStockChanged(env: Env, saleId: string): Promise<void> {
  await call(() => queueStub(env, saleId).stockChanged());
}

/** Enters on the shopper's home shard (by a hash of their id), so re-entry finds the same place. */
export async function enterQueue(
  env: Env,
  saleId: string,
  shopperId: string,
  device: string,
): Promise<Outcome<EnterAnswer>> {
  return call(async () => {
    const shards = await shardsOf(env, saleId);
    const home = shards === 1 ? null : shardOf(shopperId, shards);
    return (await queueStub(env, saleId, home).enter(saleId, shopperId, device, home)) as Outcome<EnterAnswer>;
  });
}

/** The token names the object holding the place; no lookup is needed to find it. */
export async function pollQueue(env: Env, saleId: string, queueToken: string): Promise<Outcome<QueueView>> {
  return call(
    async () => (await queueStub(env, saleId, shardOfToken(queueToken)).poll(queueToken)) as Outcome<QueueView>,
  );
}

/** Hands a WebSocket upgrade to the object holding the token's place. */
export async function openQueueSocket(
  env: Env,
  saleId: string,
  queueToken: string,
  request: Request,
): Promise<Response> {
  return queueStub(env, saleId, shardOfToken(queueToken)).fetch(request);
}
