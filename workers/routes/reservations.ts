import type { Context } from "hono";
import { Hono } from "hono";
import { adminAuth } from "../auth/admin";
import { shopperAuth } from "../auth/shopper";
import type { AppEnv } from "../env";
import { ApiError, DependencyError, forbidden, notFound } from "../errors";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { COLUMN_CHARS } from "../orders/columns";
import { drainOutbox } from "../orders/outbox";
import { saleIdOfToken } from "../purchase/purchase";
import {
  createReservationTransitions,
  type Reservation,
  readReservation,
  type TransitionAction,
  type TransitionResult,
} from "../purchase/reservations";
import { notifyStockChanged } from "../queue/client";
import { parseBody, storableText, z } from "../validation";

const ConfirmBody = z
  .object({
    payment_method_fingerprint: storableText(COLUMN_CHARS.paymentMethodFingerprint, 0).optional(),
    shipping_address: storableText(COLUMN_CHARS.shippingAddress, 0).optional(),
  })
  .optional();

/** Any route context of this app, whichever auth ran before it. */
type Ctx<E extends AppEnv = AppEnv> = Context<E>;

async function load<E extends AppEnv>(c: Ctx<E>): Promise<Reservation> {
  const token = c.req.param("token") ?? "";
  const saleId = saleIdOfToken(token);
  if (!saleId) throw notFound("The reservation");
  let reservation: Reservation | null;
  try {
    reservation = await readReservation(c.var.redis, saleId, token);
  } catch (err) {
    throw new DependencyError("redis", err);
  }
  if (!reservation) throw notFound("The reservation");
  return reservation;
}

async function step<E extends AppEnv>(
  c: Ctx<E>,
  reservation: Reservation,
  action: TransitionAction,
  extra: { actor?: string; paymentMethodFingerprint?: string; shippingAddress?: string } = {},
): Promise<TransitionResult> {
  try {
    const result = await createReservationTransitions(c.var.redis)(reservation, action, {
      nowMs: Date.now(),
      ...extra,
    });
    if (result.kind === "ok" || result.kind === "expired") {
      // Postgres catches up from the outbox the script just wrote to, after the answer.
      c.var.background(drainOutbox({ redis: c.var.redis, db: c.var.db() }, reservation.saleId, { budgetMs: 5_000 }));
      if (result.kind === "expired" || (result.kind === "ok" && result.state !== "paid")) {
        c.var.background(notifyStockChanged(c.env, reservation.saleId));
      }
    }
    return result;
  } catch (err) {
    throw new DependencyError("redis", err);
  }
}

function view(r: Reservation, state = r.state) {
  return {
    status: state,
    reservation_token: r.token,
    order_id: r.orderId,
    sale_id: r.saleId,
    sku_id: r.skuId,
    quantity: r.quantity,
    price: r.price,
    payment_deadline: new Date(r.deadlineMs).toISOString(),
  };
}

export const reservations = new Hono<AppEnv>()
  .get("/:token", shopperAuth(), async (c) => {
    const r = await load(c);
    if (r.userId !== c.var.shopper.sub) throw forbidden("This reservation belongs to another shopper.");
    // A reservation past its deadline is shown, and made, expired now rather than at the
    // next sweep; the script returns its units exactly once whoever gets there first.
    if (r.state === "reserved" && Date.now() >= r.deadlineMs) {
      const result = await step(c, r, "expire");
      if (result.kind === "ok" || result.kind === "already") return c.json(view(r, "expired"));
      if (result.kind === "conflict") return c.json(view(r, result.state));
    }
    return c.json(view(r));
  })
  .post("/:token/cancel", limitBody(BODY_LIMITS.small), shopperAuth(), async (c) => {
    const r = await load(c);
    if (r.userId !== c.var.shopper.sub) throw forbidden("This reservation belongs to another shopper.");
    const result = await step(c, r, "cancel", { actor: c.var.shopper.sub });
    switch (result.kind) {
      case "ok":
      case "already":
        return c.json(view(r, "cancelled"));
      case "expired":
        throw new ApiError(410, "reservation_expired", "The payment deadline passed; the units went back to stock.");
      case "conflict":
        if (result.state === "expired")
          throw new ApiError(410, "reservation_expired", "The reservation had already expired.");
        throw new ApiError(409, "conflict", `The reservation is already ${result.state}.`);
      case "forbidden":
        throw forbidden("This reservation belongs to another shopper.");
      default:
        throw notFound("The reservation");
    }
  })
  .post("/:token/confirm", limitBody(BODY_LIMITS.confirm), adminAuth(), async (c) => {
    const body = await parseBody(c, ConfirmBody);
    const r = await load(c);
    const result = await step(c, r, "confirm", {
      paymentMethodFingerprint: body?.payment_method_fingerprint,
      shippingAddress: body?.shipping_address,
    });
    switch (result.kind) {
      case "ok":
      case "already":
        return c.json(view(r, "paid"));
      case "expired":
        throw new ApiError(410, "reservation_expired", "The payment deadline passed; the units went back to stock.");
      case "conflict":
        throw new ApiError(409, "conflict", `The reservation is ${result.state} and cannot be paid.`);
      case "fraud":
        throw new ApiError(
          409,
          result.rule === "payment_method" ? "payment_method_used" : "shipping_address_used",
          result.rule === "payment_method"
            ? "This payment method already paid for an order in this sale; use another before the deadline."
            : "Another account already ships to this address in this sale.",
        );
      default:
        throw notFound("The reservation");
    }
  });
