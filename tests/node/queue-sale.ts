/** The sale the queue's tests run against, in workerd (tests/unit) or plain Node (tests/node) alike. */
import { MemoryQueueStore } from "../../durable-objects/queue/memory-store";
import { type AdmissionMinter, fixedClock, QueueRules } from "../../durable-objects/queue/rules";
import type { QueueSaleConfig, QueueView } from "../../workers/queue/types";

export const START = Date.UTC(2026, 10, 24, 12, 0, 0);

/** An hour-long fifo sale starting at START, its door open five minutes before. */
export function queueSale(saleId: string, overrides: Partial<QueueSaleConfig> = {}): QueueSaleConfig {
  return {
    saleId,
    startMs: START,
    endMs: START + 3_600_000,
    preQueueMinutes: 5,
    preQueueMode: "fifo",
    admissionRatePerSecond: 100,
    expectedShoppers: 10_000,
    ...overrides,
  };
}

/** Admission tokens a test can read at a glance: shopper and mint time, nothing signed. */
export const mintAdmission: AdmissionMinter = async (claims, now, ttl) => ({
  token: `admission:${claims.sub}:${now}`,
  expiresAt: new Date(now + ttl * 1000),
});

/**
 * The queue's real rules on the in-memory store, at START, for one sale: `enter` as a
 * shopper's page would (device and token named after the shopper, a minute before the
 * start by default), `poll` by that token, and `place`, the position the store holds.
 */
export function queueRules(overrides: Partial<QueueSaleConfig> = {}) {
  const rules = new QueueRules({ store: new MemoryQueueStore(), clock: fixedClock(START), mintAdmission });
  rules.configure(queueSale("sale-1", overrides));
  const enter = (shopper: string, now = START - 60_000) => {
    const entry = rules.enter(shopper, `device-of-${shopper}`, `token-of-${shopper}`, now);
    if (!entry.ok) throw new Error(entry.message);
    return entry.value;
  };
  const poll = async (shopper: string, now: number): Promise<QueueView> => {
    const outcome = await rules.poll(`token-of-${shopper}`, now);
    if (!outcome.ok) throw new Error(outcome.message);
    return outcome.value;
  };
  const place = (shopper: string) => rules.store.byShopper(shopper)?.position ?? null;
  return { rules, enter, poll, place };
}
