import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { flashSales } from "../../schema/schema";
import { admissionAuth } from "../auth/admission";
import { BUDGETS } from "../config";
import type { AppEnv } from "../env";
import { ApiError, DependencyError, notFound, unprocessable } from "../errors";
import { count } from "../metrics/batch";
import { decisionField, latencyField, RESERVED_UNITS } from "../metrics/fields";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { saleIdParam } from "../middleware/sale-id";
import { COLUMN_CHARS } from "../orders/columns";
import { drainOutbox } from "../orders/outbox";
import { createPurchaseScript, newReservationToken, type PurchaseDecision, requestHash } from "../purchase/purchase";
import { notifyStockChanged } from "../queue/client";
import { within } from "../timeout";
import { parseBody, storableText, z } from "../validation";

const PurchaseBody = z.object({
  sku_id: storableText(COLUMN_CHARS.skuId),
  // Any number parses; whether it is a sensible quantity is a business rule (422 below).
  quantity: z.number(),
});

/** Printable ASCII, as a header can carry it; long enough for a UUID or a client's own scheme; fits its column. */
const IDEMPOTENCY_KEY = storableText(COLUMN_CHARS.idempotencyKey).regex(/^[\x21-\x7e]+$/);

// The token check comes before the body: an unauthenticated caller learns nothing, and
// a token bound to another sale (or a path that names no sale) is refused with 403.
export const purchase = new Hono<AppEnv>().post(
  "/:saleId/purchase",
  limitBody(BODY_LIMITS.purchase),
  admissionAuth(),
  saleIdParam(),
  async function purchaseHandler(c) {
    const saleId = c.req.param("saleId");
    const key = IDEMPOTENCY_KEY.safeParse(c.req.header("idempotency-key"));
    if (!key.success) {
      throw new ApiError(
        400,
        "bad_request",
        `An Idempotency-Key header (1-${COLUMN_CHARS.idempotencyKey} printable ASCII characters) is required.`,
      );
    }
    const idempotencyKey = key.data;
    const body = await parseBody(c, PurchaseBody);
    if (!Number.isInteger(body.quantity) || body.quantity <= 0) {
      throw unprocessable("invalid_quantity", "The quantity must be a whole number of at least 1.", [
        { field: "quantity", problem: "must be a whole number of at least 1" },
      ]);
    }

    const userId = c.var.admission.sub;
    const nowMs = Date.now();
    const started = performance.now();
    let decision: PurchaseDecision;
    try {
      decision = await createPurchaseScript(c.var.redis)({
        saleId,
        userId,
        skuId: body.sku_id,
        quantity: body.quantity,
        nowMs,
        idempotencyKey,
        requestHash: await requestHash(body.sku_id, body.quantity),
        device: c.var.admission.device,
        reservationToken: newReservationToken(saleId),
        orderId: crypto.randomUUID(),
        admittedMs: c.var.admission.issuedAtMs,
        position: c.var.admission.position,
        requestId: c.var.requestId,
      });
    } catch (err) {
      throw new DependencyError("redis", err);
    }
    // Counted in memory; the request's observer sends it to Redis after the answer.
    const reserved = decision.kind === "reserved" && !decision.replay;
    count(saleId, {
      [latencyField("purchase", performance.now() - started)]: 1,
      [decisionField(decision.kind)]: 1,
      ...(reserved ? { [RESERVED_UNITS]: body.quantity } : {}),
    });
    c.set("outcome", decision.kind);

    switch (decision.kind) {
      case "reserved": {
        if (!decision.replay) {
          // Postgres hears of the order after the answer, off the shopper's clock, through
          // the outbox the script wrote in the same atomic step: one drain per sale at a
          // time writes every pending order in batches over one connection, so a crowd of
          // buyers never becomes a crowd of Postgres connections. If Postgres is down the
          // events wait in Redis for the next drain (cron, or reconcile).
          c.var.background(drainOutbox({ redis: c.var.redis, db: c.var.db() }, saleId, { budgetMs: 10_000 }));
          if (decision.remaining === 0) c.var.background(notifyStockChanged(c.env, saleId));
        }
        return c.json({
          status: "reserved",
          reservation_token: decision.reservationToken,
          order_id: decision.orderId,
          payment_deadline: new Date(decision.deadlineMs).toISOString(),
          remaining_stock: decision.remaining,
        });
      }
      case "sold_out":
        return c.json({ status: "sold_out" });
      case "limit_exceeded":
        return c.json({ status: "limit_exceeded", reason: decision.reason });
      case "conflict":
        throw new ApiError(
          409,
          "idempotency_conflict",
          "This Idempotency-Key was already used with a different request.",
        );
      case "not_active":
        throw unprocessable("sale_not_active", saleNotActiveMessage(decision.why), [
          { field: "sale", problem: decision.why },
        ]);
      case "unknown_sku":
        throw notFound(`SKU ${body.sku_id} in this sale`);
      case "over_limit":
        throw unprocessable("invalid_quantity", `At most ${decision.limit} of this item per shopper.`, [
          { field: "quantity", problem: `must be at most the per-shopper limit, ${decision.limit}` },
        ]);
      case "not_loaded":
        return saleNotLoaded(c.var.db, saleId);
    }
  },
);

function saleNotActiveMessage(why: "cancelled" | "not_started" | "ended"): string {
  if (why === "not_started") return "The sale has not started yet by the server's clock.";
  if (why === "ended") return "The sale has ended.";
  return "The sale was cancelled.";
}

/**
 * Redis knows nothing of the sale: either it does not exist, or it was never loaded
 * (pre-warming runs when the pre-queue opens, before the start). Postgres tells which;
 * this path is cold by construction, so the read costs the hot path nothing.
 */
async function saleNotLoaded(db: () => import("../clients/db").Database, saleId: string): Promise<never> {
  let found: { startTime: Date }[];
  try {
    found = await within(
      BUDGETS.postgresTimeoutMs,
      db().select({ startTime: flashSales.startTime }).from(flashSales).where(eq(flashSales.saleId, saleId)).limit(1),
    );
  } catch (err) {
    throw new DependencyError("postgres", err);
  }
  if (found.length === 0) throw notFound("The sale");
  throw unprocessable("sale_not_active", "The sale is not open for purchases yet.", [
    { field: "sale", problem: "not_started" },
  ]);
}
