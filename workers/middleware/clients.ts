import { createMiddleware } from "hono/factory";
import { createDb } from "../clients/db";
import { createRedis } from "../clients/redis";
import type { AppEnv } from "../env";

/**
 * Gives each request its Redis client and a lazily opened Postgres pool. The pool is
 * created only when a handler calls `c.var.db()`, so hot paths that never reach
 * Postgres (status, queue polling) never open a WebSocket to it, and it is ended after
 * the response through `waitUntil`.
 */
export function clients() {
  return createMiddleware<AppEnv>(async function clients(c, next) {
    c.set("redis", createRedis(c.env));
    let opened: ReturnType<typeof createDb> | undefined;
    c.set("db", () => {
      opened ??= createDb(c.env);
      return opened.db;
    });
    try {
      await next();
    } finally {
      if (opened) {
        const pool = opened.pool;
        c.executionCtx.waitUntil(pool.end().catch(() => undefined));
      }
    }
  });
}
