import type { Context, Env as HonoEnv, MiddlewareHandler } from "hono";
import { createMiddleware } from "hono/factory";
import { ApiError } from "../errors";

type Limiter = { limit(options: { key: string }): Promise<{ success: boolean }> };

/** The Hono environment a middleware runs in, so a key may read what earlier middleware set. */
type EnvOf<M> = M extends MiddlewareHandler<infer E> ? E : never;

/**
 * A Workers Rate Limiting binding as middleware. Past the limit: 429 `rate_limited` with
 * `Retry-After` set to the binding's period (its counting window, wrangler.jsonc), so a
 * well-behaved client waits exactly one window.
 */
export function rateLimit<M extends MiddlewareHandler = MiddlewareHandler<{ Bindings: Env }>>(options: {
  binding: (env: Env) => Limiter;
  key: (c: Context<EnvOf<M> & HonoEnv & { Bindings: Env }>) => string;
  periodSeconds: number;
  message: string;
  /** Told of each refusal before it is answered (the retry-storm signal); must not throw or wait. */
  onRefused?: (c: Context<EnvOf<M> & HonoEnv & { Bindings: Env }>) => void;
}) {
  return createMiddleware<EnvOf<M> & { Bindings: Env }>(async function rateLimit(c, next) {
    const { success } = await options.binding(c.env).limit({ key: options.key(c) });
    if (!success) {
      options.onRefused?.(c);
      throw refusal(options.message, options.periodSeconds);
    }
    await next();
  });
}

/** 429 `rate_limited` with Retry-After set to the limiter's period. */
export function refusal(message: string, periodSeconds: number): ApiError {
  return new ApiError(429, "rate_limited", message, undefined, periodSeconds);
}
