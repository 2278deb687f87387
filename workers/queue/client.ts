/**
 * How the rest of the edge talks to a sale's queue (the SaleQueue Durable Object or,
 * for a big crowd, its shards). Callers use these functions only; which object or
 * shard answers is this module's business.
 */

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

export async function configureQueue(env: Env, config: QueueSaleConfig): Promise<void> {
  void env;
  void config;
  throw new Error("queue not built yet");
}

export async function cancelQueue(env: Env, saleId: string): Promise<void> {
  void env;
  void saleId;
  throw new Error("queue not built yet");
}

export async function queueStats(env: Env, saleId: string): Promise<QueueStats> {
  void env;
  void saleId;
  return { length: 0, admittedThrough: 0, soldOut: false, closed: false };
}

/** Stock changed (sold out, or units returned by expiry or cancel): the queue re-reads it. */
export async function notifyStockChanged(env: Env, saleId: string): Promise<void> {
  void env;
  void saleId;
}
