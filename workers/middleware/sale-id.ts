import { createMiddleware } from "hono/factory";
import { notFound } from "../errors";
import { z } from "../validation";

const saleIdSchema = z.uuid();

/** Sale ids are UUIDs: a path `:saleId` that is not one names no sale, so 404 before anything is read. */
export function saleIdParam() {
  return createMiddleware<{ Bindings: Env }>(async function saleIdParam(c, next) {
    if (!saleIdSchema.safeParse(c.req.param("saleId")).success) throw notFound("Sale");
    await next();
  });
}
