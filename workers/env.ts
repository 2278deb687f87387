import type { Redis } from "@upstash/redis/cloudflare";
import type { Database } from "./clients/db";

/** Per-request values set by middleware. */
export type Variables = {
  /** Shopper id from a verified session or admission token. */
  shopperId: string;
  redis: Redis;
  /** Opens the request's Postgres pool on first use. */
  db: () => Database;
  /** Work that may finish after the response (waitUntil), awaited before the pool closes. */
  background: (task: Promise<unknown>) => void;
};

export type AppEnv = { Bindings: Env; Variables: Variables };
