import { describe, expect, it } from "vitest";
import { initialModel, type Model, phaseAt, update } from "../../static-site/src/model";
import { purchaseOutcome } from "../../static-site/src/outcomes";

const START = Date.parse("2026-03-14T11:00:00Z");
const END = START + 3_600_000;

function ready(overrides: Partial<Model> = {}): Model {
  let m = initialModel({ startMs: START, endMs: END, preQueueMinutes: 5, items: [{ skuId: "SKU-1", remaining: 10 }] });
  m = update(m, { type: "clock_known" });
  m = update(m, { type: "signed_in", signedIn: true });
  return { ...m, ...overrides };
}

const admitted = (m: Model) =>
  update(m, {
    type: "queue",
    body: {
      state: "admitted",
      queue_position: 1,
      admission_token: "adm",
      admission_expires_at: new Date(START + 60_000).toISOString(),
    },
  });

describe("the page shows each phase of a sale at the right server time", () => {
  it("shows nothing time-dependent until the server's clock is known", () => {
    const m = initialModel({
      startMs: START,
      endMs: END,
      preQueueMinutes: 5,
      items: [{ skuId: "SKU-1", remaining: 10 }],
    });
    expect(phaseAt(m, START + 1_000)).toBe("syncing");
  });

  it("opens the queue at the pre-queue time and not before", () => {
    const m = ready();
    expect(phaseAt(m, START - 5 * 60_000 - 1)).toBe("countdown");
    expect(phaseAt(m, START - 5 * 60_000)).toBe("open");
  });

  it("asks a shopper without a session to sign in rather than offering the queue", () => {
    expect(phaseAt(ready({ signedIn: false }), START - 1_000)).toBe("signed_out");
  });

  it("reveals Buy to an admitted shopper exactly at T=0 by the server's clock", () => {
    const m = admitted(ready());
    expect(phaseAt(m, START - 1)).toBe("ready");
    expect(phaseAt(m, START)).toBe("admitted");
  });

  it("takes Buy away when the one-minute turn has passed", () => {
    const m = admitted(ready());
    expect(phaseAt(m, START + 60_000)).toBe("expired");
  });

  it("keeps a waiting shopper's position and ETA current from queue updates", () => {
    let m = update(ready(), { type: "entering" });
    expect(phaseAt(m, START - 1_000)).toBe("entering");
    m = update(m, { type: "queue", body: { queue_position: 345, estimated_wait_seconds: 40, queue_token: "qt" } });
    expect(phaseAt(m, START - 1_000)).toBe("waiting");
    m = update(m, { type: "queue", body: { state: "waiting", queue_position: 12, estimated_wait_seconds: 3 } });
    expect(m.queue).toMatchObject({ token: "qt", position: 12, etaSeconds: 3 });
  });

  it("lets a shopper whose entry failed try again", () => {
    let m = update(ready(), { type: "entering" });
    m = update(m, { type: "outcome", outcome: { kind: "error", final: true, title: "t", message: "m" } });
    expect(phaseAt(m, START - 1_000)).toBe("open");
  });

  it("tells every waiting shopper as soon as the queue says sold out", () => {
    const m = update(update(ready(), { type: "queue", body: { state: "waiting", queue_position: 9 } }), {
      type: "queue",
      body: { state: "sold_out" },
    });
    expect(phaseAt(m, START + 5_000)).toBe("sold_out");
  });

  it("shows sold out when the live stock reaches zero", () => {
    const m = update(ready(), {
      type: "status",
      body: { status: "active", items: [{ sku_id: "SKU-1", remaining: 0 }] },
    });
    expect(phaseAt(m, START + 5_000)).toBe("sold_out");
  });

  it("notices stock reopening after a sell-out and leaves sold out", () => {
    let m = update(ready(), { type: "queue", body: { state: "sold_out" } });
    m = update(m, { type: "queue", body: { state: "waiting", queue_position: 4 } });
    expect(m.stockReopened).toBe(true);
    expect(phaseAt(m, START + 5_000)).toBe("waiting");
    let s = update(ready(), { type: "status", body: { items: [{ sku_id: "SKU-1", remaining: 0 }] } });
    s = update(s, { type: "status", body: { items: [{ sku_id: "SKU-1", remaining: 2 }] } });
    expect(s.stockReopened).toBe(true);
  });

  it("shows the reservation with its payment deadline once reserved", () => {
    const m = admitted(ready());
    const outcome = purchaseOutcome(
      200,
      {
        status: "reserved",
        reservation_token: "res-1",
        order_id: "ord-1",
        payment_deadline: new Date(START + 600_000).toISOString(),
        remaining_stock: 9,
      },
      null,
      { serverNowMs: START + 1_000, startMs: START, endMs: END },
    );
    const r = update(update(m, { type: "buying", skuId: "SKU-1", quantity: 1 }), {
      type: "outcome",
      outcome,
      skuId: "SKU-1",
      quantity: 1,
    });
    expect(phaseAt(r, START + 1_000)).toBe("reserved");
    expect(r.reservation).toMatchObject({ token: "res-1", orderId: "ord-1", paymentDeadlineMs: START + 600_000 });
    expect(r.remaining["SKU-1"]).toBe(9);
    expect(r.buying).toBe(false);
  });

  it("ends the sale at end_time, and shows cancellation", () => {
    expect(phaseAt(ready(), END)).toBe("ended");
    expect(phaseAt(update(ready(), { type: "status", body: { status: "cancelled" } }), START)).toBe("cancelled");
  });

  it("moves the countdown when the sale is rescheduled", () => {
    const later = new Date(START + 60_000).toISOString();
    const m = admitted(update(ready(), { type: "status", body: { start_time: later } }));
    expect(phaseAt(m, START + 30_000)).toBe("ready");
    expect(m.queueOpensMs).toBe(START + 60_000 - 5 * 60_000);
  });
});

describe("sold out is shown consistently", () => {
  it("shows no stock left once the queue says sold out, even if a cached status still counts a unit", () => {
    let m = update(ready(), { type: "queue", body: { state: "sold_out" } });
    expect(m.remaining["SKU-1"]).toBe(0);
    m = update(m, { type: "status", body: { status: "active", items: [{ sku_id: "SKU-1", remaining: 1 }] } });
    expect(m.remaining["SKU-1"]).toBe(0);
    expect(m.stockReopened).toBe(false);
    expect(phaseAt(m, START + 5_000)).toBe("sold_out");
  });
});
