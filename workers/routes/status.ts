import { Hono } from "hono";
import { DEFAULTS } from "../config";
import type { AppEnv } from "../env";
import { notFound } from "../errors";
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
 * `GET /api/v1/flash-sale/:saleId/status`: served from the edge cache for about a second
 * (Cache API, and Cache-Control for the CDN and browsers in front of it), so a refresh
 * storm reaches Redis about once a second per location. The cache key is the sale
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
    const computing = saleStatus(c.env, { redis: c.var.redis, db: c.var.db }, saleId).then((s) =>
      s ? JSON.stringify(s) : null,
    );
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
  const text = await body;
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
