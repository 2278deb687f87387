import { describe, expect, it } from "vitest";
import { PurchaseIntents } from "../../static-site/src/intent";

const counter = () => {
  let n = 0;
  return () => `key-${++n}`;
};

describe("a double click makes one purchase request", () => {
  it("sends the first click and drops the second while it is on its way", () => {
    const intents = new PurchaseIntents(counter());
    const first = intents.begin("SKU-1", 1);
    const second = intents.begin("SKU-1", 1);
    expect(first.send).toBe(true);
    expect(second.send).toBe(false);
    expect(second.intent.key).toBe(first.intent.key);
  });

  it("retries a failed attempt under the same Idempotency-Key", () => {
    const intents = new PurchaseIntents(counter());
    const first = intents.begin("SKU-1", 2);
    intents.retryLater(); // 503 or a dropped connection
    const retry = intents.begin("SKU-1", 2);
    expect(retry.send).toBe(true);
    expect(retry.intent.key).toBe(first.intent.key);
  });

  it("makes a new key for a new intent once the first is answered", () => {
    const intents = new PurchaseIntents(counter());
    const first = intents.begin("SKU-1", 1);
    intents.finish();
    const again = intents.begin("SKU-1", 1);
    expect(again.send).toBe(true);
    expect(again.intent.key).not.toBe(first.intent.key);
  });

  it("a changed quantity is a new intent, but never while another is in flight", () => {
    const intents = new PurchaseIntents(counter());
    const first = intents.begin("SKU-1", 1);
    expect(intents.begin("SKU-1", 2).send).toBe(false);
    intents.retryLater();
    const changed = intents.begin("SKU-1", 2);
    expect(changed.send).toBe(true);
    expect(changed.intent.key).not.toBe(first.intent.key);
  });
});
