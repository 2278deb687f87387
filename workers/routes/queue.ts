import { type Context, Hono, type MiddlewareHandler } from "hono";
import { accountTooNew, type ShopperClaims, shopperAuth } from "../auth/shopper";
import { BUDGETS, DEFAULTS } from "../config";
import type { AppEnv, ClientVariables } from "../env";
import { ApiError, notFound } from "../errors";
import { count } from "../metrics/batch";
import { latencyField } from "../metrics/fields";
import { BODY_LIMITS, limitBody } from "../middleware/body-limit";
import { rateLimit, refusal } from "../middleware/rate-limit";
import { saleIdParam } from "../middleware/sale-id";
import { COLUMN_CHARS } from "../orders/columns";
import { enterQueue, knownStart, openQueueSocket, pollQueue } from "../queue/client";
import { recordEntrySignals, recordStorm, type StormKind } from "../queue/signals";
import { doorStorms } from "../queue/storms";
import { verifyQueueToken } from "../queue/token";
import { verifyTurnstile } from "../queue/turnstile";
import type { Outcome } from "../queue/types";
import { parseBody, storableText, z } from "../validation";

const enterBody = z.object({
  captcha_token: z.string().min(1).max(2048),
  // Carried into the admission token and the order: exactly what its column holds.
  device_fingerprint: storableText(COLUMN_CHARS.deviceFingerprint),
  /** The page's own random id for this browser (docs/api.md); older clients send none. */
  device_id: storableText(COLUMN_CHARS.deviceFingerprint).optional(),
});

/**
 * A refusal by one of the door's limiters: the source's refusals are counted in this
 * isolate, and the one that makes them a retry storm is recorded after the answer.
 */
function watchStorm(
  c: { req: { param(name: "saleId"): string | undefined }; var: Pick<ClientVariables, "redis" | "background"> },
  kind: StormKind,
  value: string,
  shopperId: string | null,
): void {
  const saleId = c.req.param("saleId") ?? "";
  if (!doorStorms.refused(`${saleId}|${kind}|${value}`, DEFAULTS.botSignals.retryStorm[kind], Date.now())) return;
  c.var.background(recordStorm(c.var.redis, saleId, { kind, value, shopperId }));
}

const address = (c: Context) => c.req.header("cf-connecting-ip") ?? "unknown";

type SignedIn = MiddlewareHandler<{ Bindings: Env; Variables: ClientVariables & { shopper: ShopperClaims } }>;

/** Per address, before any token is verified or body read: a flood costs the least here. */
const perAddressLimit = rateLimit<MiddlewareHandler<AppEnv>>({
  binding: (env) => env.ENTER_QUEUE_LIMITER,
  key: (c) => `enter-queue:${address(c)}`,
  periodSeconds: DEFAULTS.enterQueueLimitPeriodSeconds,
  message: "Too many attempts from this address; wait and try again.",
  // A whole carrier NAT shares an address: its storm flags no account.
  onRefused: (c) => watchStorm(c, "address", address(c), null),
});

/** Per shopper, once the session is verified: one account cannot flood the door from many addresses. */
const perShopperLimit = rateLimit<SignedIn>({
  binding: (env) => env.ENTER_QUEUE_SHOPPER_LIMITER,
  key: (c) => `enter-queue:${c.var.shopper.sub}`,
  periodSeconds: DEFAULTS.enterQueueLimitPeriodSeconds,
  message: "Too many attempts from this account; wait and try again.",
  onRefused: (c) => watchStorm(c, "shopper", c.var.shopper.sub, c.var.shopper.sub),
});

/** Per device id, once the body is read: one device cannot enter for a crowd of accounts at machine speed. */
async function limitDevice(
  c: Parameters<typeof watchStorm>[0] & { env: Env },
  deviceId: string,
  shopperId: string,
): Promise<void> {
  const { success } = await c.env.ENTER_QUEUE_DEVICE_LIMITER.limit({ key: `enter-queue-device:${deviceId}` });
  if (success) return;
  watchStorm(c, "device", deviceId, shopperId);
  throw refusal("Too many attempts from this device; wait and try again.", DEFAULTS.enterQueueLimitPeriodSeconds);
}

function unwrap<T>(outcome: Outcome<T>): T {
  if (outcome.ok) return outcome.value;
  throw new ApiError(
    outcome.status,
    outcome.code,
    outcome.message,
    outcome.details,
    outcome.status === 503 ? BUDGETS.retryAfterSeconds : undefined,
  );
}

/**
 * The queue's door and its window. Every refusal happens before the queue object is
 * asked to write, so a refused shopper holds no place: address limit, body size, session,
 * shopper limit, account age, body, device limit, captcha, and only then the object
 * (which adds the sale's times). Devices are counted as bot signals after the answer, never refused:
 * look-alike phones are the honest crowd.
 */
export const queue = new Hono<AppEnv>()
  .post(
    "/:saleId/enter-queue",
    saleIdParam(),
    perAddressLimit,
    limitBody(BODY_LIMITS.enterQueue),
    shopperAuth(),
    perShopperLimit,
    async (c) => {
      const shopper = c.var.shopper;
      if (accountTooNew(shopper, Date.now())) {
        throw new ApiError(403, "account_too_new", "Accounts younger than 24 hours cannot join a sale's queue.");
      }
      const body = await parseBody(c, enterBody);
      if (body.device_id) await limitDevice(c, body.device_id, shopper.sub);
      if (c.env.CAPTCHA_MODE !== "off") {
        const human = await verifyTurnstile(
          c.env.TURNSTILE_SECRET_KEY,
          body.captcha_token,
          c.req.header("cf-connecting-ip") ?? null,
        );
        if (!human) throw new ApiError(403, "captcha_failed", "The captcha was not solved or has been used already.");
      }
      const saleId = c.req.param("saleId");
      // The purchase's one-per-device rule keys on the page's own id; a client without one falls back to its fingerprint.
      const device = body.device_id ?? body.device_fingerprint;
      const asked = performance.now();
      const outcome = await enterQueue(c.env, saleId, shopper.sub, device);
      count(saleId, { [latencyField("queue", performance.now() - asked)]: 1 });
      const answer = unwrap(outcome);
      c.var.background(
        recordEntrySignals(
          c.var.redis,
          {
            saleId,
            shopperId: shopper.sub,
            deviceId: body.device_id ?? null,
            fingerprint: body.device_fingerprint,
            accountCreated: shopper.acctCreated,
            nowMs: Date.now(),
          },
          { before: knownStart(saleId) },
        ),
      );
      c.header("Cache-Control", "no-store");
      return c.json(answer);
    },
  )
  .get("/:saleId/queue/:queueToken", saleIdParam(), async (c) => {
    const token = c.req.param("queueToken");
    // A token this deployment did not mint for this sale names no place: 404 before any object wakes.
    if (!(await verifyQueueToken(c.env.ADMISSION_JWT_SECRET, c.req.param("saleId"), token)))
      throw notFound("Queue place");
    if (c.req.header("upgrade")?.toLowerCase() === "websocket")
      return openQueueSocket(c.env, c.req.param("saleId"), token, c.req.raw);
    const view = unwrap(await pollQueue(c.env, c.req.param("saleId"), token));
    c.header("Cache-Control", "no-store");
    return c.json(view);
  });
