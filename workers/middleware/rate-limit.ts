import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import type { AppEnv } from "../env";
import { ApiError } from "../errors";

type Limiter = { limit(options: { key: string }): Promise<{ success: boolean }> };

/**
 * A Workers Rate Limiting binding as middleware. Past the limit: 429 `rate_limited` with
 * `Retry-After` set to the binding's period (its counting window, wrangler.jsonc), so a
 * well-behaved client waits exactly one window.
 */
export function rateLimit(options: {
  binding: (env: Env) => Limiter;
  key: (c: Context<AppEnv>) => string;
  periodSeconds: number;
  message: string;
}) {
  return createMiddleware<AppEnv>(async function rateLimit(c, next) {
    const { success } = await options.binding(c.env).limit({ key: options.key(c) });
    if (!success) throw new ApiError(429, "rate_limited", options.message, undefined, options.periodSeconds);
    await next();
  });
}
