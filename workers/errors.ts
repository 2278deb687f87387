import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { BUDGETS } from "./config";

/** Every error code the API can answer with (API.md "Errors"). */
export type ErrorCode =
  | "bad_request"
  | "invalid_json"
  | "unauthorized"
  | "forbidden"
  | "account_too_new"
  | "captcha_failed"
  | "not_found"
  | "idempotency_conflict"
  | "payment_method_used"
  | "shipping_address_used"
  | "reservation_expired"
  | "validation_failed"
  | "invalid_quantity"
  | "sale_not_active"
  | "rate_limited"
  | "dependency_unavailable"
  | "conflict"
  | "internal_error";

/**
 * The one error type the app throws. `app.onError` turns it into the contract's
 * `{ error, message }` body; handlers never build error responses themselves, so no
 * handler can write and then fail halfway with a different shape.
 */
export class ApiError extends HTTPException {
  constructor(
    status: ContentfulStatusCode,
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super(status, { message });
  }
}

export const unauthorized = (message = "A valid bearer token is required.") =>
  new ApiError(401, "unauthorized", message);
export const forbidden = (message: string) => new ApiError(403, "forbidden", message);
export const notFound = (what: string) => new ApiError(404, "not_found", `${what} was not found.`);
export const unavailable = (dependency: string, retryAfterSeconds: number = BUDGETS.retryAfterSeconds) =>
  new ApiError(
    503,
    "dependency_unavailable",
    `${dependency} is not answering; try again shortly.`,
    undefined,
    retryAfterSeconds,
  );

/** Marks an error as a dependency outage so the edge answers 503 rather than 500. */
export class DependencyError extends Error {
  constructor(
    readonly dependency: "redis" | "postgres" | "queue",
    cause: unknown,
  ) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

const POSTGRES_OUTAGE =
  /connect|connection (terminated|refused|closed|lost)|network|websocket|timeout|timed out|too many clients|ECONNREFUSED|ECONNRESET|socket/i;

/**
 * Recognises a Postgres that is unreachable or saturated (as opposed to a query that is
 * wrong) anywhere in an error's cause chain: drizzle wraps driver errors, and the Neon
 * driver reports a dead WebSocket in its own words. SQLSTATE classes 08 (connection),
 * 53 (insufficient resources) and 57P (shutdown) mean the same thing.
 */
export function isPostgresOutage(err: unknown): boolean {
  // A dead WebSocket surfaces as an ErrorEvent (its `error` holds the Error), not an Error.
  const next = (e: unknown) => (e as { cause?: unknown }).cause ?? (e as { error?: unknown }).error;
  for (let e: unknown = err, depth = 0; e && typeof e === "object" && depth < 6; e = next(e), depth++) {
    const { code, message } = e as { code?: unknown; message?: unknown };
    if (typeof code === "string" && /^(08|53|57P)/.test(code)) return true;
    if (typeof message === "string" && POSTGRES_OUTAGE.test(message)) return true;
  }
  return false;
}

export function errorResponse(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    if (err.retryAfterSeconds !== undefined) c.header("Retry-After", String(err.retryAfterSeconds));
    const body: Record<string, unknown> = { error: err.code, message: err.message };
    if (err.details !== undefined) body.details = err.details;
    return c.json(body, err.status);
  }
  if (err instanceof DependencyError) {
    c.header("Retry-After", String(BUDGETS.retryAfterSeconds));
    return c.json(
      { error: "dependency_unavailable", message: `${err.dependency} is not answering; try again shortly.` },
      503,
    );
  }
  if (err instanceof HTTPException) {
    return c.json({ error: err.status === 401 ? "unauthorized" : "bad_request", message: err.message }, err.status);
  }
  if (isPostgresOutage(err)) return errorResponse(new DependencyError("postgres", err), c);
  // Durable Object errors say themselves whether trying again can help (an overloaded or
  // reset object): that is the queue being unavailable for a moment, not a server bug.
  const doError = err as { overloaded?: boolean; retryable?: boolean };
  if (doError.overloaded || doError.retryable) return errorResponse(new DependencyError("queue", err), c);
  console.error("unhandled error", err);
  return c.json(
    { error: "internal_error", message: "Something went wrong on our side; retry with the same Idempotency-Key." },
    500,
  );
}
