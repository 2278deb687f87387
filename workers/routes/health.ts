import { sql } from "drizzle-orm";
import { Hono } from "hono";
import { BUDGETS } from "../config";
import type { AppEnv } from "../env";
import { within } from "../timeout";

type Check = "ok" | "down";

async function probe(work: () => Promise<unknown>, ms: number): Promise<Check> {
  try {
    await within(ms, work());
    return "ok";
  } catch (err) {
    console.warn("health probe failed:", err instanceof Error ? err.message : err);
    return "down";
  }
}

/** 200 only when both Redis and Postgres answer through the same clients the API uses. */
export const health = new Hono<AppEnv>().get("/", async (c) => {
  const [redis, postgres] = await Promise.all([
    probe(() => c.var.redis.ping(), BUDGETS.redisTimeoutMs),
    probe(() => c.var.db().execute(sql`select 1`), BUDGETS.postgresTimeoutMs),
  ]);
  const checks = { redis, postgres };
  const down = Object.entries(checks)
    .filter(([, state]) => state === "down")
    .map(([name]) => name);
  if (down.length === 0) return c.json({ status: "ok", checks });
  c.header("Retry-After", String(BUDGETS.retryAfterSeconds));
  return c.json({ error: "dependency_unavailable", message: `${down.join(" and ")} not answering.`, checks }, 503);
});
