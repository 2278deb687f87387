/**
 * How the rest of the edge talks to a sale's queue (the SaleQueue Durable Object or,
 * for a big crowd, its shards). Callers use these functions only; which object or
 * shard answers is this module's business.
 */
import type { SaleQueue } from "../../durable-objects/sale-queue";
import { DependencyError } from "../errors";
import { coordinatorName, shardName, shardOf, shardOfToken } from "./shards";
import type { ConfigureReply, EnterAnswer, EnterReply, Outcome, QueueSaleConfig, QueueStats, QueueView } from "./types";

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
 * Shard counts this isolate has learnt, from each entry's reply. A count only changes by
 * the admin's hand, and an entry sent with an old one is passed on by the object it
 * reaches, whose reply carries the new count: so every entry of a single-object sale,
 * the first included, costs one object call.
 */
const knownShards = new Map<string, number>();

/** A queue object that throws (reset, overloaded) is a dependency outage: 503, not 500. */
async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new DependencyError("queue", err);
  }
}

/** Refused (`ok: false`) only for a shard count the queue cannot take now; nothing else changed then. */
export async function configureQueue(env: Env, config: QueueSaleConfig): Promise<ConfigureReply> {
  const reply = await call(async () => (await queueStub(env, config.saleId).configure(config)) as ConfigureReply);
  if (reply.ok) knownShards.set(config.saleId, reply.shards);
  return reply;
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

/** Each sale's start, as its queue's last answer said: the door's signals are retried only before it. */
const knownStarts = new Map<string, number>();

export function knownStart(saleId: string): number | null {
  return knownStarts.get(saleId) ?? null;
}

/** Enters on the shopper's home shard (by a hash of their id), so re-entry finds the same place. */
export async function enterQueue(
  env: Env,
  saleId: string,
  shopperId: string,
  device: string,
): Promise<Outcome<EnterAnswer>> {
  return call(async () => {
    // Not known yet: the sale's own object, which answers for one object and passes a sharded entry on.
    const shards = knownShards.get(saleId) ?? 1;
    const home = shards === 1 ? null : shardOf(shopperId, shards);
    const reply = (await queueStub(env, saleId, home).enter(saleId, shopperId, device, home)) as EnterReply;
    knownShards.set(saleId, reply.shards);
    if (reply.startMs != null) knownStarts.set(saleId, reply.startMs);
    const { shards: _, startMs: __, ...outcome } = reply;
    return outcome as Outcome<EnterAnswer>;
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
