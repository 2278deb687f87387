import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { isPostgresOutage } from "./clients/db";
import { BUDGETS } from "./config";

/** Every error code the API can answer with (docs/api.md "Errors"). */
export type ErrorCode =
  | "bad_request"
  | "invalid_json"
  | "payload_too_large"
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
  | "method_not_allowed"
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
    readonly details?: Problem[],
    readonly retryAfterSeconds?: number,
  ) {
    super(status, { message });
  }
}

/** One thing wrong with a request: the field (or `sale`, `(body)`) and what is wrong with it. */
export type Problem = { field: string; problem: string };

/** The contract's error body. `details` is always a list of problems when present. */
export function errorBody(code: ErrorCode, message: string, details?: Problem[]) {
  return details === undefined ? { error: code, message } : { error: code, message, details };
}

/** 422: well-formed, but against a business rule. Every 422 names its problems in `details`. */
export const unprocessable = (code: ErrorCode, message: string, problems: Problem[]) =>
  new ApiError(422, code, message, problems);

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
  /** When the shopper should try again; a breaker that is open knows better than the default. */
  readonly retryAfterSeconds: number;
  constructor(
    readonly dependency: "redis" | "postgres" | "queue",
    cause: unknown,
  ) {
    super(`${dependency} unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    // An open breaker anywhere in the cause chain (drizzle wraps what the pool threw) knows best.
    let retryAfter: number = BUDGETS.retryAfterSeconds;
    for (let e: unknown = cause, depth = 0; e instanceof Error && depth < 6; e = e.cause, depth++) {
      if (e instanceof DependencyError) {
        retryAfter = e.retryAfterSeconds;
        break;
      }
    }
    this.retryAfterSeconds = retryAfter;
  }
}

/** A circuit breaker refused the call without trying: the dependency was found down moments ago. */
export class CircuitOpenError extends DependencyError {
  override readonly retryAfterSeconds: number;
  constructor(dependency: "redis" | "postgres", retryAfterSeconds: number) {
    super(dependency, new Error("found down moments ago (circuit open); not tried"));
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

export function errorResponse(err: Error, c: Context): Response {
  if (err instanceof ApiError) {
    if (err.retryAfterSeconds !== undefined) c.header("Retry-After", String(err.retryAfterSeconds));
    return c.json(errorBody(err.code, err.message, err.details), err.status);
  }
  if (err instanceof DependencyError) {
    c.header("Retry-After", String(err.retryAfterSeconds));
    return c.json(
      { error: "dependency_unavailable", message: `${err.dependency} is not answering; try again shortly.` },
      503,
    );
  }
  // hono's own middleware (bearer auth, body limit) carries the response it built for us.
  if (err instanceof HTTPException && err.res) return err.getResponse();
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
