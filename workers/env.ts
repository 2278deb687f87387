import type { Redis } from "@upstash/redis/cloudflare";
import type { Database } from "./clients/db";

/**
 * What every `/api` request has, set by the `clients` middleware. Who the caller is
 * comes from the auth middleware a route runs (each declares its own Variables), so a
 * handler that never ran shopper auth cannot read a shopper.
 */
export type ClientVariables = {
  redis: Redis;
  /** Opens the request's Postgres pool on first use. */
  db: () => Database;
  /** Work that may finish after the response (waitUntil), awaited before the pool closes. */
  background: (task: Promise<unknown>) => void;
  /** The request's id (workers/middleware/observe.ts): in its logs, its answer's X-Request-Id, and its order. */
  requestId: string;
  /** What the handler decided, for the request's log line and data point (a purchase's decision). */
  outcome?: string;
};

export type AppEnv = { Bindings: Env; Variables: ClientVariables };
