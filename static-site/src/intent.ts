/**
 * One purchase intent, one Idempotency-Key. A shopper's "buy 1 of SKU X" is an intent:
 * a double click, a retry after a dropped connection or a 503 all belong to it and carry
 * its key, so the server answers them all with the first answer (docs/purchase.md "Invariants")
 * and never makes two orders. A different SKU or quantity is a new intent with a new key.
 * After a final answer (reserved, sold out, limit reached) the intent is over: its key is
 * never reused for another purchase.
 */
export type Intent = { skuId: string; quantity: number; key: string };

export type BeginResult =
  /** Send this request. */
  | { send: true; intent: Intent }
  /** The same intent is already on its way: this click does nothing. */
  | { send: false; intent: Intent };

export class PurchaseIntents {
  private current: (Intent & { inFlight: boolean }) | null = null;

  constructor(private readonly newKey: () => string) {}

  /** Called on every Buy click. */
  begin(skuId: string, quantity: number): BeginResult {
    const c = this.current;
    if (c && c.skuId === skuId && c.quantity === quantity) {
      if (c.inFlight) return { send: false, intent: this.view(c) };
      // Same intent, last attempt not final (network error, 503): retry under the same key.
      c.inFlight = true;
      return { send: true, intent: this.view(c) };
    }
    if (c?.inFlight) {
      // One purchase at a time: a different intent waits for the first answer.
      return { send: false, intent: this.view(c) };
    }
    this.current = { skuId, quantity, key: this.newKey(), inFlight: true };
    return { send: true, intent: this.view(this.current) };
  }

  /** The server gave an answer that settles the intent: the next click is a new intent. */
  finish(): void {
    this.current = null;
  }

  /** The attempt failed in a way that a retry may fix: keep the key for the retry. */
  retryLater(): void {
    if (this.current) this.current.inFlight = false;
  }

  get inFlight(): boolean {
    return this.current?.inFlight ?? false;
  }

  private view(c: Intent): Intent {
    return { skuId: c.skuId, quantity: c.quantity, key: c.key };
  }
}

/** A fresh random key; crypto.randomUUID exists in every browser that runs the page (secure contexts). */
export function randomKey(): string {
  return crypto.randomUUID();
}
