/**
 * Order events: what the Lua scripts push onto a sale's outbox in the same atomic step
 * as each decision, and what Postgres is brought up to date from. Parsed once, here.
 */
export type ReservedEvent = {
  t: "reserved";
  order_id: string;
  sale_id: string;
  user_id: string;
  sku_id: string;
  quantity: number;
  price: string;
  token: string;
  deadline_ms: number;
  at_ms: number;
  idempotency_key: string;
  device: string;
  /** The purchase request's id ("" for events written before it was recorded). */
  request_id: string;
};

export type StateEvent = {
  t: "paid" | "cancelled" | "expired";
  order_id: string;
  sale_id: string;
  token: string;
  at_ms: number;
  payment_method_fingerprint?: string;
  shipping_address?: string;
  cancel_reason?: string;
};

export type OrderEvent = ReservedEvent | StateEvent;

export function parseOrderEvent(raw: unknown): OrderEvent {
  const value = typeof raw === "string" ? JSON.parse(raw) : raw;
  if (!value || typeof value !== "object") throw new Error(`not an order event: ${String(raw)}`);
  const e = value as Record<string, unknown>;
  if (typeof e.order_id !== "string" || typeof e.sale_id !== "string" || typeof e.at_ms !== "number") {
    throw new Error(`order event lacks its ids: ${JSON.stringify(e)}`);
  }
  if (e.t === "reserved") {
    return {
      t: "reserved",
      order_id: e.order_id,
      sale_id: e.sale_id,
      user_id: String(e.user_id),
      sku_id: String(e.sku_id),
      quantity: Number(e.quantity),
      price: String(e.price),
      token: String(e.token),
      deadline_ms: Number(e.deadline_ms),
      at_ms: e.at_ms,
      idempotency_key: String(e.idempotency_key ?? ""),
      device: String(e.device ?? ""),
      request_id: String(e.request_id ?? ""),
    };
  }
  if (e.t === "paid" || e.t === "cancelled" || e.t === "expired") {
    return {
      t: e.t,
      order_id: e.order_id,
      sale_id: e.sale_id,
      token: String(e.token),
      at_ms: e.at_ms,
      payment_method_fingerprint:
        typeof e.payment_method_fingerprint === "string" && e.payment_method_fingerprint
          ? e.payment_method_fingerprint
          : undefined,
      shipping_address: typeof e.shipping_address === "string" && e.shipping_address ? e.shipping_address : undefined,
      cancel_reason: typeof e.cancel_reason === "string" ? e.cancel_reason : undefined,
    };
  }
  throw new Error(`unknown order event type ${String(e.t)}`);
}
