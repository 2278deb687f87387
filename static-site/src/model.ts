/**
 * The shopper's page as data: everything the page knows, the events that change it, and
 * the one question the view asks, "which phase are we in at server time t?". Kept pure
 * so each promise (Buy appears at T=0 by the server's clock, sold out is announced,
 * stock reopening is noticed) is a unit test, not a browser session.
 */
import type { Outcome } from "./outcomes";

export type SaleStatus = "scheduled" | "active" | "sold_out" | "ended" | "cancelled";
export type QueueState = "none" | "entering" | "waiting" | "admitted" | "sold_out" | "closed";

export type Reservation = {
  token: string;
  orderId: string | null;
  skuId: string;
  quantity: number;
  paymentDeadlineMs: number;
};

export type Model = {
  startMs: number;
  endMs: number;
  /** When the queue opens for entries (start minus the pre-queue window). */
  queueOpensMs: number;
  /** True once the server's clock has been sampled; before that no phase that depends on time is shown. */
  clockKnown: boolean;
  signedIn: boolean;
  saleStatus: SaleStatus;
  remaining: Record<string, number>;
  queue: {
    state: QueueState;
    token: string | null;
    position: number | null;
    admittedThrough: number | null;
    etaSeconds: number | null;
    admissionToken: string | null;
    admissionExpiresMs: number | null;
  };
  buying: boolean;
  reservation: Reservation | null;
  /** The last thing that happened which the shopper should read (an outcome, an error). */
  outcome: Outcome | null;
  /** Set when units came back after a sell-out, until the next announcement. */
  stockReopened: boolean;
};

export type Phase =
  | "syncing"
  | "signed_out"
  | "countdown" // before the queue opens
  | "open" // the queue takes entries; the sale may not have started
  | "entering"
  | "waiting" // in line
  | "ready" // admitted, but T=0 has not come by the server's clock
  | "admitted" // Buy is live
  | "expired" // admitted, but the 60 s turn passed unused
  | "reserved"
  | "sold_out"
  | "ended"
  | "cancelled";

export function initialModel(sale: {
  startMs: number;
  endMs: number;
  preQueueMinutes: number;
  status?: SaleStatus;
  items: ReadonlyArray<{ skuId: string; remaining: number }>;
}): Model {
  return {
    startMs: sale.startMs,
    endMs: sale.endMs,
    queueOpensMs: sale.startMs - sale.preQueueMinutes * 60_000,
    clockKnown: false,
    signedIn: false,
    saleStatus: sale.status ?? "scheduled",
    remaining: Object.fromEntries(sale.items.map((i) => [i.skuId, i.remaining])),
    queue: {
      state: "none",
      token: null,
      position: null,
      admittedThrough: null,
      etaSeconds: null,
      admissionToken: null,
      admissionExpiresMs: null,
    },
    buying: false,
    reservation: null,
    outcome: null,
    stockReopened: false,
  };
}

const totalRemaining = (m: Model) => Object.values(m.remaining).reduce((a, b) => a + Math.max(0, b), 0);

/** Sold out as far as this shopper is concerned: the sale says so, the queue says so, or no SKU has a unit left. */
export function isSoldOut(m: Model): boolean {
  return m.saleStatus === "sold_out" || m.queue.state === "sold_out" || totalRemaining(m) === 0;
}

export function phaseAt(m: Model, serverNowMs: number): Phase {
  if (m.reservation) return "reserved";
  if (m.saleStatus === "cancelled") return "cancelled";
  if (!m.clockKnown) return "syncing";
  if (m.saleStatus === "ended" || m.queue.state === "closed" || serverNowMs >= m.endMs) return "ended";
  if (isSoldOut(m)) return "sold_out";
  if (!m.signedIn) return "signed_out";
  const q = m.queue;
  if (q.state === "admitted") {
    // The Buy button appears at T=0 by the server's clock, never by the device's.
    if (serverNowMs < m.startMs) return "ready";
    if (q.admissionExpiresMs !== null && serverNowMs >= q.admissionExpiresMs) return "expired";
    return "admitted";
  }
  if (q.state === "waiting") return "waiting";
  if (q.state === "entering") return "entering";
  if (serverNowMs < m.queueOpensMs) return "countdown";
  return "open";
}

/** Body of GET /flash-sale/{id}/status (only the fields the page uses). */
export type StatusBody = {
  status?: string;
  start_time?: string;
  end_time?: string;
  items?: Array<{ sku_id?: string; remaining?: number }>;
};

/** Body of enter-queue, the queue poll, and each WebSocket message. */
export type QueueBody = {
  state?: string;
  queue_position?: number | null;
  admitted_through?: number;
  estimated_wait_seconds?: number;
  /** The server's pace for the next poll (docs/api.md). */
  poll_after_ms?: number;
  queue_token?: string;
  admission_token?: string;
  admission_expires_at?: string;
};

export type Event =
  | { type: "clock_known" }
  | { type: "signed_in"; signedIn: boolean }
  | { type: "status"; body: StatusBody }
  | { type: "entering" }
  | { type: "queue"; body: QueueBody }
  | { type: "buying"; skuId: string; quantity: number }
  | { type: "outcome"; outcome: Outcome; skuId?: string; quantity?: number }
  | { type: "queue_reset" }
  | { type: "reservation_over" }
  | { type: "announced" };

const SALE_STATUSES: readonly string[] = ["scheduled", "active", "sold_out", "ended", "cancelled"];
const QUEUE_STATES: readonly string[] = ["waiting", "admitted", "sold_out", "closed"];

/** Marks a return of stock: it was sold out, now it is not. */
function withReopen(before: Model, after: Model): Model {
  if (isSoldOut(before) && !isSoldOut(after))
    return { ...after, stockReopened: true, outcome: before.outcome?.kind === "sold_out" ? null : after.outcome };
  return after;
}

export function update(m: Model, e: Event): Model {
  switch (e.type) {
    case "clock_known":
      return { ...m, clockKnown: true };
    case "signed_in":
      return { ...m, signedIn: e.signedIn };
    case "status": {
      const b = e.body;
      const remaining = { ...m.remaining };
      for (const item of b.items ?? []) {
        if (typeof item.sku_id !== "string" || typeof item.remaining !== "number") continue;
        // The status may be a second old (edge-cached); once the queue has said sold out,
        // only the queue may say stock is back, so a stale status cannot fake a reopening.
        const prev = remaining[item.sku_id] ?? 0;
        remaining[item.sku_id] = m.queue.state === "sold_out" ? Math.min(prev, item.remaining) : item.remaining;
      }
      const saleStatus =
        typeof b.status === "string" && SALE_STATUSES.includes(b.status) ? (b.status as SaleStatus) : m.saleStatus;
      const startMs = b.start_time ? Date.parse(b.start_time) : Number.NaN;
      const endMs = b.end_time ? Date.parse(b.end_time) : Number.NaN;
      // A rescheduled sale moves the countdown; the pre-queue window moves with it.
      const shift = Number.isFinite(startMs) ? startMs - m.startMs : 0;
      return withReopen(m, {
        ...m,
        saleStatus,
        remaining,
        startMs: m.startMs + shift,
        queueOpensMs: m.queueOpensMs + shift,
        endMs: Number.isFinite(endMs) ? endMs : m.endMs,
      });
    }
    case "entering":
      return { ...m, queue: { ...m.queue, state: "entering" }, outcome: null };
    case "queue": {
      const b = e.body;
      const state =
        typeof b.state === "string" && QUEUE_STATES.includes(b.state)
          ? (b.state as QueueState)
          : m.queue.state === "entering"
            ? "waiting"
            : m.queue.state;
      const expires = b.admission_expires_at ? Date.parse(b.admission_expires_at) : Number.NaN;
      const queue = {
        state,
        token: b.queue_token ?? m.queue.token,
        // null is the queue's "not drawn yet" (random mode before the start): not a reason to keep an old number.
        position:
          typeof b.queue_position === "number" || b.queue_position === null ? b.queue_position : m.queue.position,
        admittedThrough: typeof b.admitted_through === "number" ? b.admitted_through : m.queue.admittedThrough,
        etaSeconds: typeof b.estimated_wait_seconds === "number" ? b.estimated_wait_seconds : m.queue.etaSeconds,
        admissionToken: b.admission_token ?? (state === "admitted" ? m.queue.admissionToken : null),
        admissionExpiresMs: Number.isFinite(expires)
          ? expires
          : state === "admitted"
            ? m.queue.admissionExpiresMs
            : null,
      };
      let remaining = m.remaining;
      if (state === "sold_out") {
        // The queue knows first: every SKU is gone, whatever the last (cached) status said.
        remaining = Object.fromEntries(Object.keys(m.remaining).map((k) => [k, 0]));
      } else if (m.queue.state === "sold_out" && totalRemaining(m) === 0) {
        // The queue telling us stock is back means at least one unit exists; the next status says how many.
        remaining = Object.fromEntries(Object.keys(m.remaining).map((k) => [k, 1]));
      }
      const saleStatus =
        m.saleStatus === "sold_out" && state !== "sold_out" && m.queue.state === "sold_out" ? "active" : m.saleStatus;
      return withReopen(m, { ...m, queue, remaining, saleStatus });
    }
    case "buying":
      return { ...m, buying: true, outcome: null };
    case "outcome": {
      const o = e.outcome;
      const next: Model = { ...m, buying: false, outcome: o };
      // A failed entry leaves the shopper where they were: free to try joining again.
      if (m.queue.state === "entering") next.queue = { ...m.queue, state: "none" };
      if (o.kind === "reserved") {
        next.reservation = {
          token: o.reservationToken,
          orderId: o.orderId,
          skuId: e.skuId ?? "",
          quantity: e.quantity ?? 1,
          paymentDeadlineMs: o.paymentDeadlineMs,
        };
        if (e.skuId && o.remaining !== null) next.remaining = { ...m.remaining, [e.skuId]: o.remaining };
      } else if (o.kind === "sold_out" && e.skuId) {
        next.remaining = { ...m.remaining, [e.skuId]: 0 };
      } else if (o.kind === "rejoin") {
        next.queue = { ...m.queue, admissionToken: null, admissionExpiresMs: 0 };
      }
      return next;
    }
    case "queue_reset":
      return { ...m, queue: initialModel({ startMs: 0, endMs: 0, preQueueMinutes: 0, items: [] }).queue };
    case "reservation_over":
      return { ...m, reservation: null };
    case "announced":
      return { ...m, stockReopened: false };
  }
}
