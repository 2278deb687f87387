import { Hono } from "hono";
import { DEFAULTS } from "../config";
import type { AppEnv } from "../env";
import { DependencyError, notFound } from "../errors";
import { saleIdParam } from "../middleware/sale-id";
import { saleStatus } from "../sales/status";

/**
 * Status answers computed in this isolate and not yet in the edge cache. A refresh storm
 * arriving at a cold cache waits on one Redis read here instead of starting its own;
 * the entry leaves only once the cache holds the answer, so there is no gap between
 * the two in which a request would go to Redis again.
 */
const inflight = new Map<string, Promise<string | null>>();

/**
 * The last answer this isolate computed for each sale, to stand in while Redis or the
 * queue cannot give a new one: the page keeps its countdown and names, and the stock
 * figure is only a display (purchases are decided by Redis, and fail closed meanwhile).
 */
const lastKnown = new Map<string, { text: string; atMs: number }>();
const LAST_KNOWN_SALES = 1_000;

function remember(saleId: string, text: string): void {
  lastKnown.delete(saleId);
  lastKnown.set(saleId, { text, atMs: Date.now() });
  // Oldest first out: a flood of sale ids cannot grow the isolate's memory.
  if (lastKnown.size > LAST_KNOWN_SALES) lastKnown.delete(lastKnown.keys().next().value as string);
}

/** The last known answer if it is recent enough, marked with its age and never cached. */
function lastKnownAnswer(saleId: string): Response | null {
  const known = lastKnown.get(saleId);
  if (!known) return null;
  const age = Math.floor((Date.now() - known.atMs) / 1000);
  if (age > DEFAULTS.statusStaleSeconds) return null;
  return new Response(known.text, {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
      age: String(age),
      "x-status-stale": "true",
    },
  });
}

/**
 * `GET /api/v1/flash-sale/:saleId/status`: served from the edge cache for about a second
 * (Cache API, and Cache-Control for the CDN and browsers in front of it), so a refresh
 * storm reaches Redis about once a second per location. While Redis or the queue is
 * away it answers the isolate's last known status (`x-status-stale`, `age`) instead of 503. The cache key is the sale
 * alone: query strings and headers a client adds (a forged Date, a cache-buster) neither
 * change the answer nor get past the cache.
 */
export const status = new Hono<AppEnv>().get("/:saleId/status", saleIdParam(), async (c) => {
  const saleId = c.req.param("saleId");
  const cacheKey = new Request(`${new URL(c.req.url).origin}/api/v1/flash-sale/${saleId}/status`);
  const cache = caches.default;
  const cached = await cache.match(cacheKey);
  if (cached) return cached;

  let body = inflight.get(saleId);
  if (!body) {
    const computing = saleStatus(c.env, { redis: c.var.redis, db: c.var.db }, saleId).then((s) => {
      const text = s ? JSON.stringify(s) : null;
      if (text !== null) remember(saleId, text);
      return text;
    });
    body = computing;
    inflight.set(saleId, computing);
    c.executionCtx.waitUntil(
      computing
        // An unknown sale is cached too, so a storm of made-up ids cannot reach Postgres
        // more than about once a second per id and location.
        .then((text) => cache.put(cacheKey, text === null ? unknownSale() : answer(text)))
        .catch(() => undefined)
        .finally(() => inflight.delete(saleId)),
    );
  }
  let text: string | null;
  try {
    text = await body;
  } catch (err) {
    // A dependency away (or its breaker open): the last answer beats a 503 for the page.
    const stale = err instanceof DependencyError ? lastKnownAnswer(saleId) : null;
    if (stale) return stale;
    throw err;
  }
  if (text === null) throw notFound("Sale");
  return answer(text);
});

function unknownSale(): Response {
  return new Response(JSON.stringify({ error: "not_found", message: "Sale was not found." }), {
    status: 404,
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": `public, max-age=${DEFAULTS.statusCacheSeconds}`,
    },
  });
}

function answer(text: string): Response {
  return new Response(text, {
    headers: {
      "content-type": "application/json; charset=utf-8",
      "cache-control": `public, max-age=${DEFAULTS.statusCacheSeconds}`,
    },
  });
}
