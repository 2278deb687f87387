import { createMiddleware } from "hono/factory";

/**
 * Every API answer says `nosniff` and has a deliberate `Cache-Control`. A route that may be
 * cached says so itself (status: public, ~1 s); anything else is `no-store`, because API
 * answers are personal (a place, a reservation) or live. A WebSocket upgrade is left as
 * it is: rebuilding that response would drop its socket.
 */
export function apiHeaders() {
  return createMiddleware(async function apiHeaders(c, next) {
    await next();
    if (c.res.status === 101) return;
    c.header("X-Content-Type-Options", "nosniff");
    if (!c.res.headers.has("Cache-Control")) c.header("Cache-Control", "no-store");
  });
}
