import { Hono } from "hono";
import { adminAuth } from "../auth/admin";
import type { AppEnv } from "../env";
import { notFound } from "../errors";
import { limitBody } from "../middleware/body-limit";
import { saleIdParam } from "../middleware/sale-id";
import { cancelFraudulent, fraudReport } from "../orders/fraud";
import { notifyStockChanged } from "../queue/client";
import { findSale } from "../sales/store";
import { parseBody, z } from "../validation";

/** At most this many orders per cancel: each is one script call, and the request has a time limit. */
const MAX_ORDERS = 1_000;

const cancelBody = z.object({ order_ids: z.array(z.string().uuid()).min(1).max(MAX_ORDERS).optional() }).strict();

/**
 * `/api/v1/admin/sales/{id}/fraud`: the review after a sale (docs/api.md). The report
 * reads; the cancel takes orders back through the reservation script, so their units
 * return to stock exactly once and Postgres follows through the outbox.
 */
export const adminFraud = new Hono<AppEnv>()
  .use("*", adminAuth())
  .use("/:saleId/*", saleIdParam())
  .get("/:saleId/fraud", async (c) => {
    const saleId = c.req.param("saleId");
    if (!(await findSale(c.var.db(), saleId))) throw notFound("Sale");
    return c.json(await fraudReport({ redis: c.var.redis, db: c.var.db() }, saleId));
  })
  .post("/:saleId/fraud/cancel", limitBody(64 * 1024), async (c) => {
    const saleId = c.req.param("saleId");
    if (!(await findSale(c.var.db(), saleId))) throw notFound("Sale");
    // No body at all is the common case: cancel what the report marks.
    const body = await parseBody(c, cancelBody.optional());
    const deps = { redis: c.var.redis, db: c.var.db() };
    // Without a list, every order the report marks cancellable, as of now.
    const orderIds =
      body?.order_ids ?? (await fraudReport(deps, saleId)).cancellable.map((o) => o.order_id).slice(0, MAX_ORDERS);
    const result = await cancelFraudulent(deps, saleId, orderIds);
    // Units back on sale may reopen a sold-out queue.
    if (result.units_returned > 0) c.var.background(notifyStockChanged(c.env, saleId));
    return c.json({ requested: orderIds.length, ...result });
  });
