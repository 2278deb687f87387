/**
 * How the rest of the edge talks to a sale's queue (the SaleQueue Durable Object or,
 * for a big crowd, its shards). Callers use these functions only; which object or
 * shard answers is this module's business.
 */
import type { SaleQueue } from "../../durable-objects/sale-queue";
import { DependencyError } from "../errors";
import type { EnterAnswer, Outcome, QueueView } from "./types";

/** What the queue needs to know about a sale; sent when the sale is created or changed. */
export type QueueSaleConfig = {
  saleId: string;
  startMs: number;
  endMs: number;
  preQueueMinutes: number;
  preQueueMode: "fifo" | "random";
  admissionRatePerSecond: number;
  expectedShoppers: number;
};

/** The queue's live figures, for the status answer and the admin's view. */
export type QueueStats = {
  /** Shoppers who have entered the queue. */
  length: number;
  /** Every position up to and including this one has been admitted. */
  admittedThrough: number;
  soldOut: boolean;
  closed: boolean;
};

/** The sale's queue object: named by the sale, so every Worker anywhere reaches the same one. */
export function queueStub(env: Pick<Env, "SALE_QUEUE">, saleId: string): DurableObjectStub<SaleQueue> {
  const ns = env.SALE_QUEUE as unknown as DurableObjectNamespace<SaleQueue>;
  return ns.get(ns.idFromName(saleId));
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

export async function enterQueue(env: Env, saleId: string, shopperId: string, device: string): Promise<Outcome<EnterAnswer>> {
  return call(async () => (await queueStub(env, saleId).enter(saleId, shopperId, device)) as Outcome<EnterAnswer>);
}

export async function pollQueue(env: Env, saleId: string, queueToken: string): Promise<Outcome<QueueView>> {
  return call(async () => (await queueStub(env, saleId).poll(queueToken)) as Outcome<QueueView>);
}

/** Hands a WebSocket upgrade to the object holding the token's place. */
export async function openQueueSocket(env: Env, saleId: string, request: Request): Promise<Response> {
  return queueStub(env, saleId).fetch(request);
}
