import { createMiddleware } from "hono/factory";
import { routePath } from "hono/route";
import { createRedis, type Redis } from "../clients/redis";
import type { AppEnv } from "../env";
import { count, scheduleFlush } from "../metrics/batch";
import { requestField } from "../metrics/fields";
import { saleIdOfToken } from "../purchase/purchase";

/** What a request id may be: what Cloudflare's `cf-ray` is, or a caller's UUID; it fits the order's column. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The request's id: Cloudflare's `cf-ray` (set by the edge, not by the caller), else a
 * caller's `x-request-id` (a load balancer's, a test's) when it is a plain token, else a
 * fresh one. It is in every log line of the request, in the `X-Request-Id` answer header,
 * and on the order a purchase creates, so one id leads from the edge to the Postgres row.
 */
export function requestIdOf(headers: Headers): string {
  for (const name of ["cf-ray", "x-request-id"]) {
    const value = headers.get(name);
    if (value && REQUEST_ID.test(value)) return value;
  }
  return crypto.randomUUID();
}

const SALE_IN_PATH = /^\/api\/v1\/flash-sale\/([0-9a-f-]{36})(?:\/|$)/;
const RESERVATION_IN_PATH = /^\/api\/v1\/reservations\/([^/]+)/;

/**
 * The sale a shopper's request concerns, from its path: the sale routes name it, a
 * reservation's token carries it. Admin calls are left out on purpose: a dashboard
 * polling every second must not count as the sale's traffic.
 */
export function saleOfPath(path: string): string | null {
  const sale = SALE_IN_PATH.exec(path)?.[1];
  if (sale) return sale;
  const token = RESERVATION_IN_PATH.exec(path)?.[1];
  return token ? saleIdOfToken(decodeURIComponent(token)) : null;
}

/** The contract's error code, read from an error answer's small JSON body (never from a success). */
async function errorCodeOf(res: Response): Promise<string | null> {
  if (res.status < 400 || !res.headers.get("content-type")?.includes("application/json")) return null;
  try {
    const body = (await res.clone().json()) as { error?: unknown };
    return typeof body.error === "string" ? body.error : null;
  } catch {
    return null;
  }
}

/**
 * Every API request, observed once it is answered: one structured log line, one data
 * point for Workers Analytics Engine (the `SALE_METRICS` binding, when deployed), and
 * for a sale's shopper routes a count in the sale's metrics (kept in memory and added
 * to Redis once a second: workers/metrics/batch.ts). None of it delays the answer.
 */
export function observe() {
  return createMiddleware<AppEnv>(async function observe(c, next) {
    const requestId = requestIdOf(c.req.raw.headers);
    c.set("requestId", requestId);
    const started = performance.now();
    await next();
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const status = c.res.status;
    // A WebSocket upgrade's answer must stay as it is (its socket would be lost).
    if (status !== 101) c.header("X-Request-Id", requestId);
    const route = `${c.req.method} ${routePath(c, -1).replace(/^\/api\/v1/, "")}`;
    const error = await errorCodeOf(c.res);
    const saleId = saleOfPath(c.req.path);
    const outcome = c.get("outcome") ?? null;
    console.log(
      JSON.stringify({
        level: status >= 500 ? "error" : "info",
        msg: "request",
        request_id: requestId,
        route,
        status,
        error,
        outcome,
        ms,
        sale_id: saleId,
      }),
    );
    c.env.SALE_METRICS?.writeDataPoint({
      blobs: [route, String(status), error ?? "", outcome ?? "", saleId ?? ""],
      doubles: [ms, 1],
      indexes: [saleId ?? "-"],
    });
    if (saleId) count(saleId, { [requestField(route, status, error)]: 1 });
    // Any request may carry the flush, so counters kept through an outage go out with the next one.
    scheduleFlush(c.executionCtx, () => (c.get("redis") as Redis | undefined) ?? createRedis(c.env));
  });
}
