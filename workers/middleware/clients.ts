import { createMiddleware } from "hono/factory";
import { createDb } from "../clients/db";
import { createRedis } from "../clients/redis";
import type { AppEnv } from "../env";

/**
 * Gives each request its Redis client, a lazily opened Postgres pool, and `background`
 * for work that may finish after the response. The pool is created only when a handler
 * calls `c.var.db()`, so hot paths that never reach Postgres never open a WebSocket to
 * it; it is ended only after the request's background work settles, so an order write
 * that outlives the response is never cut off by its own pool closing.
 */
export function clients() {
  return createMiddleware<AppEnv>(async function clients(c, next) {
    c.set("redis", createRedis(c.env));
    let opened: ReturnType<typeof createDb> | undefined;
    const tasks: Promise<unknown>[] = [];
    c.set("db", () => {
      opened ??= createDb(c.env);
      return opened.db;
    });
    c.set("background", (task: Promise<unknown>) => {
      tasks.push(
        task.catch((err) => console.warn("background task failed:", err instanceof Error ? err.message : err)),
      );
    });
    try {
      await next();
    } finally {
      const pool = opened?.pool;
      if (tasks.length > 0 || pool) {
        c.executionCtx.waitUntil(
          Promise.allSettled(tasks).then(async () => {
            await pool?.end().catch(() => undefined);
          }),
        );
      }
    }
  });
}
