/**
 * Every Redis key the system uses, in one place. All keys of a sale share the hash tag
 * `{saleId}`, so on a clustered Redis they live in one slot and a script may touch them
 * together; Upstash also locks per key only when every key a script uses is in KEYS.
 *
 *   sale meta        hash   start_ms, end_ms, cancelled (0|1), payment_deadline_s, skus (comma list), prewarmed_at
 *   item:{sku}       hash   name, price, original_price, total, loaded, limit
 *   stock:{sku}      int    units still sellable; never below zero (the purchase script checks before it decrements)
 *   bought:{sku}:{u} int    units of the SKU shopper u holds (reserved or paid), for the per-user limit
 *   device:{id}      string the shopper who made the sale's purchase from this device (its id, or fingerprint)
 *   idem:{u}:{key}   string the first answer to an Idempotency-Key after a hash of its body: "<hash>\n<field>\n..."
 *   res:{token}      hash   a reservation: order_id, user, sku, qty, price, deadline_ms, state, device
 *   deadlines        zset   reservation token -> payment deadline (ms), for the expiry sweep
 *   outbox           list   order events not yet written to Postgres, oldest first
 *   dead-letter      list   events Postgres refused, set aside with the reason: { event, error, at_ms }
 *   counters         hash   reserved, paid, expired, cancelled units (live figures)
 *   payment:{h}      string the order paid with payment method fingerprint h (hashed) in this sale
 *   address:{h}      string the shopper who had normalised shipping address h (hashed) in this sale
 *   m:s:{sec}        hash   metrics of one second (unix seconds): requests by route, status and error code,
 *                           purchase decisions, latency buckets, queue samples; expires after minutes
 *   m:m:{min}        hash   the same counters per minute (unix minutes), for burn rates over the last few minutes
 *   m:total          hash   the same counters since the sale was first served, for its SLOs
 *   m:f:{min}        hash   flush id -> 1, the metrics flushes applied in that minute (unix minutes), so a flush
 *                           re-sent after a lost reply is applied once; expires after minutes
 *   dev-accounts:{id} set   shoppers who entered the queue with device id `id` (a bot signal from 3)
 *   fp-batch:{fp}:{b} zset  shopper -> ms, entries with fingerprint `fp` on accounts created in bucket `b`, last window
 *   signals          hash   bot-signal counters by rule (docs/queue.md "Bot signals"): shared_device_ids, ...
 *   flagged          hash   shopper -> the rules that flagged them, comma-separated (for the fraud report)
 *   turns            zset   shopper -> queue position, of turns that reserved: the queue frees their room at once
 *   storms           hash   "address:<ip>" | "device:<id>" | "shopper:<id>" -> limiter periods it stormed in
 */
const base = (saleId: string) => `fs:{${saleId}}`;

/**
 * Shopper ids come from the shop's JWT and may hold any character. Escaped, they hold no
 * ':', so `idem:<user>:<key>` cannot be forged by a shopper whose id or key contains a
 * colon into another shopper's record ("a:b" + "c" and "a" + "b:c" stay apart).
 */
const user = (userId: string) => encodeURIComponent(userId);

export const keys = {
  meta: (saleId: string) => `${base(saleId)}:meta`,
  item: (saleId: string, skuId: string) => `${base(saleId)}:item:${skuId}`,
  stock: (saleId: string, skuId: string) => `${base(saleId)}:stock:${skuId}`,
  bought: (saleId: string, skuId: string, userId: string) => `${base(saleId)}:bought:${skuId}:${user(userId)}`,
  device: (saleId: string, fingerprint: string) => `${base(saleId)}:device:${fingerprint}`,
  idempotency: (saleId: string, userId: string, key: string) => `${base(saleId)}:idem:${user(userId)}:${key}`,
  reservation: (saleId: string, token: string) => `${base(saleId)}:res:${token}`,
  deadlines: (saleId: string) => `${base(saleId)}:deadlines`,
  outbox: (saleId: string) => `${base(saleId)}:outbox`,
  /** The outbox drain's lease: one drain per sale at a time (holder token, expires on its own). */
  outboxLock: (saleId: string) => `${base(saleId)}:outbox:lock`,
  deadLetter: (saleId: string) => `${base(saleId)}:dead-letter`,
  counters: (saleId: string) => `${base(saleId)}:counters`,
  metricsSecond: (saleId: string, unixSecond: number) => `${base(saleId)}:m:s:${unixSecond}`,
  metricsMinute: (saleId: string, unixMinute: number) => `${base(saleId)}:m:m:${unixMinute}`,
  metricsTotal: (saleId: string) => `${base(saleId)}:m:total`,
  metricsFlushes: (saleId: string, unixMinute: number) => `${base(saleId)}:m:f:${unixMinute}`,
  paymentMethod: (saleId: string, hash: string) => `${base(saleId)}:payment:${hash}`,
  shippingAddress: (saleId: string, hash: string) => `${base(saleId)}:address:${hash}`,
  /** SCAN pattern for every key of one sale (retirement, tests' footprints). */
  allOfSale: (saleId: string) => `${base(saleId)}:*`,
  deviceAccounts: (saleId: string, deviceId: string) => `${base(saleId)}:dev-accounts:${deviceId}`,
  lookalikeBatch: (saleId: string, fingerprint: string, accountBucket: number) =>
    `${base(saleId)}:fp-batch:${fingerprint}:${accountBucket}`,
  signals: (saleId: string) => `${base(saleId)}:signals`,
  flagged: (saleId: string) => `${base(saleId)}:flagged`,
  storms: (saleId: string) => `${base(saleId)}:storms`,
  turns: (saleId: string) => `${base(saleId)}:turns`,
  /** Not per sale: the set of sales with work pending for the cron sweep. */
  activeSales: () => "fs:active-sales",
} as const;
