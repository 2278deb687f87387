import { Hono } from "hono";
import type { AppEnv } from "../env";

/** The server's clock, for the page's countdown correction. Never cached. */
export const time = new Hono<AppEnv>().get("/", (c) => {
  const now = Date.now();
  c.header("Cache-Control", "no-store");
  return c.json({ now: new Date(now).toISOString(), now_ms: now });
});
