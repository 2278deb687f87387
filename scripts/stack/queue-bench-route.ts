import { Hono } from "hono";
import { adminAuth } from "../../workers/auth/admin";
import type { AppEnv } from "../../workers/env";
import { BODY_LIMITS, limitBody } from "../../workers/middleware/body-limit";
import { saleIdParam } from "../../workers/middleware/sale-id";
import { configureQueue, queueStats, queueStub } from "../../workers/queue/client";
import { parseBody, z } from "../../workers/validation";
import type { BenchSaleQueue } from "./bench-queue";

/** scripts/bench/queue.ts's instructions to one queue object. */
const benchBody = z.object({
  configure: z
    .object({
      startMs: z.number(),
      endMs: z.number(),
      preQueueMinutes: z.number(),
      preQueueMode: z.enum(["fifo", "random"]),
      admissionRatePerSecond: z.number().positive(),
      expectedShoppers: z.number().int().positive(),
    })
    .optional(),
  fill: z.number().int().positive().max(1_000_000).optional(),
  tick_at_ms: z.number().optional(),
});

/**
 * `POST /api/v1/flash-sale/:saleId/queue-bench`: drives one queue object directly for the
 * queue benchmark. Registered only by the local stack's entry (dev-worker.ts), so the
 * production bundle has no such route (npm test's bundle check looks for it).
 */
export const queueBench = new Hono<AppEnv>().post(
  "/:saleId/queue-bench",
  saleIdParam(),
  limitBody(BODY_LIMITS.small),
  adminAuth(),
  async (c) => {
    const saleId = c.req.param("saleId");
    const body = await parseBody(c, benchBody);
    // The local stack binds SALE_QUEUE to the bench subclass (dev-worker.ts); the Env type names production's class.
    const stub = queueStub(c.env, saleId) as unknown as DurableObjectStub<BenchSaleQueue>;
    if (body.configure) await configureQueue(c.env, { ...body.configure, saleId });
    if (body.fill) await stub.fillForBench(body.fill);
    if (body.tick_at_ms !== undefined) await stub.tickAt(body.tick_at_ms);
    return c.json(await queueStats(c.env, saleId));
  },
);
