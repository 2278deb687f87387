import { Hono } from "hono";
import { createMiddleware } from "hono/factory";
import { shopperAuth } from "../auth/shopper";
import { BUDGETS, DEFAULTS } from "../config";
import type { AppEnv } from "../env";
import { ApiError, notFound } from "../errors";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { saleIdParam } from "../middleware/sale-id";
import { COLUMN_CHARS } from "../orders/columns";
import { enterQueue, openQueueSocket, pollQueue } from "../queue/client";
import { QUEUE_TOKEN } from "../queue/shards";
import { verifyTurnstile } from "../queue/turnstile";
import type { Outcome } from "../queue/types";
import { parseBody, storableText, z } from "../validation";

const enterBody = z.object({
  captcha_token: z.string().min(1).max(2048),
  // Carried into the admission token and the order: exactly what its column holds.
  device_fingerprint: storableText(COLUMN_CHARS.deviceFingerprint),
});

/** Per-IP door limit, before any token is verified or body read: a flood costs the least here. */
const perIpLimit = createMiddleware<AppEnv>(async function perIpLimit(c, next) {
  const ip = c.req.header("cf-connecting-ip") ?? "unknown";
  const { success } = await c.env.ENTER_QUEUE_LIMITER.limit({ key: `enter-queue:${ip}` });
  if (!success)
    throw new ApiError(
      429,
      "rate_limited",
      "Too many attempts from this address; wait and try again.",
      undefined,
      DEFAULTS.enterQueueLimitPeriodSeconds,
    );
  await next();
});

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new ApiError(
    outcome.status,
    outcome.code,
    outcome.message,
    undefined,
    outcome.status === 503 ? BUDGETS.retryAfterSeconds : undefined,
  );
}

/**
 * The queue's door and its window. Every refusal happens before the queue object is
 * asked to write, so a refused shopper holds no place: rate limit, session, account age,
 * body, captcha, and only then the object (which adds the device rule and the sale's times).
 */
export const queue = new Hono<AppEnv>()
  .post(
    "/:saleId/enter-queue",
    saleIdParam(),
    perIpLimit,
    limitBody(BODY_LIMITS.enterQueue),
    shopperAuth(),
    async (c) => {
      const shopper = c.var.shopper;
      if (Date.now() / 1000 - shopper.acctCreated < DEFAULTS.minAccountAgeSeconds) {
        throw new ApiError(403, "account_too_new", "Accounts younger than 24 hours cannot join a sale's queue.");
      }
      const body = await parseBody(c, enterBody);
      if (c.env.CAPTCHA_MODE !== "off") {
        const human = await verifyTurnstile(
          c.env.TURNSTILE_SECRET_KEY,
          body.captcha_token,
          c.req.header("cf-connecting-ip") ?? null,
        );
        if (!human) throw new ApiError(403, "forbidden", "The captcha was not solved or has been used already.");
      }
      const answer = unwrap(await enterQueue(c.env, c.req.param("saleId"), shopper.sub, body.device_fingerprint));
      c.header("Cache-Control", "no-store");
      return c.json(answer);
    },
  )
  .get("/:saleId/queue/:queueToken", saleIdParam(), async (c) => {
    const token = c.req.param("queueToken");
    // Anything but `<object>.<uuid>` names no place: 404 before any object wakes.
    if (!QUEUE_TOKEN.test(token)) throw notFound("Queue place");
    if (c.req.header("upgrade")?.toLowerCase() === "websocket")
      return openQueueSocket(c.env, c.req.param("saleId"), token, c.req.raw);
    const view = unwrap(await pollQueue(c.env, c.req.param("saleId"), token));
    c.header("Cache-Control", "no-store");
    return c.json(view);
  });
